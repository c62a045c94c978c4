//! What runs before `main` in every program linked with this crate, and
//! why `main` never runs in a spawned child.
//!
//! [`spawned_entry`] is an `.init_array` constructor. In a fork server (it
//! sees `FORKSERVER_ENV`) it serves (see `forkserver`), forking children
//! that go on as spawned ones do. In a child started by the spawn start
//! method (it sees [`SPAWNED_ENV`](crate::start) in its environment) it
//! hands the socket its parent gave it as stdin to `child::run_sent`, which
//! does the child's work and exits; elsewhere it returns at once. This is
//! the one module besides `sys` allowed `unsafe`: the constructor's section
//! and the environment it clears need it.

use std::os::fd::AsFd;
use std::os::unix::net::UnixStream;

use nix::unistd::Pid;

use crate::child;
use crate::forkserver;
use crate::start;
use crate::sys;

/// Runs before `main` in every program linked with this crate. In a child
/// started by the spawn start method it does the child's work and exits, so
/// that `main` never runs there (see `start`); elsewhere it returns at once.
#[used]
#[unsafe(link_section = ".init_array")]
static SPAWNED_ENTRY: extern "C" fn() = spawned_entry;

extern "C" fn spawned_entry() {
    let spawned = std::env::var_os(start::SPAWNED_ENV).is_some();
    let server = std::env::var_os(forkserver::FORKSERVER_ENV);
    if !spawned && server.is_none() {
        return;
    }
    // SAFETY: before `main` the process has one thread, so nothing reads the
    // environment meanwhile; grandchildren must not inherit the variables.
    unsafe {
        std::env::remove_var(start::SPAWNED_ENV);
        std::env::remove_var(forkserver::FORKSERVER_ENV);
    }
    sys::ignore_sigpipe();
    // The socket moves off stdin, which becomes /dev/null, as in Python's
    // spawned children.
    let Some(socket) = take_socket() else {
        sys::exit_now(1)
    };
    match server {
        Some(parent) => {
            let parent = parent.to_str().and_then(|p| p.parse().ok()).unwrap_or(0);
            forkserver::serve(socket, Pid::from_raw(parent))
        }
        None => child::run_sent(socket),
    }
}

fn take_socket() -> Option<UnixStream> {
    // Closed on exec: a command a task runs must not hold the channel.
    let socket = std::io::stdin().as_fd().try_clone_to_owned().ok()?;
    if let Ok(null) = std::fs::File::open("/dev/null") {
        let _ = nix::unistd::dup2_stdin(null);
    }
    Some(UnixStream::from(socket))
}
