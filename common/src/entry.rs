//! A spawned child's entry point, before `main`, and the fork server's.
//!
//! Every program linked with this crate runs [`spawned_entry`] before its
//! `main` (an `.init_array` constructor). In a fork server (it sees
//! `FORKSERVER_ENV`) it serves (see `forkserver`), forking children that go
//! on as spawned ones do. In a child started by the spawn
//! start method (it sees [`SPAWNED_ENV`](crate::start) in its environment) it
//! reads the [`Boot`] frame its parent sent on stdin, begins as every child
//! begins ([`child::begin`](crate::child::begin)), does the work (a
//! [`Process`](crate::Process)'s function, or a pool worker's loop) and
//! exits, so that `main` never runs there; elsewhere it returns at once. This
//! is the one module besides `sys` allowed `unsafe`: the constructor's
//! section and the environment it clears need it.

use std::ffi::OsString;
use std::io::Write;
use std::os::unix::net::UnixStream;
use std::panic::{self, AssertUnwindSafe};

use nix::unistd::Pid;

use crate::boot::{Boot, Work};
use crate::child;
use crate::forkserver;
use crate::frame;
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
        None => run_child(socket),
    }
}

/// In a child started by spawn or by the fork server: does the work its
/// parent sends over `socket`, then exits. Never returns.
pub(crate) fn run_child(mut socket: UnixStream) -> ! {
    let code = match frame::read::<Boot>(&mut socket) {
        Ok(Some(boot)) => run(boot, socket),
        _ => 1,
    };
    sys::flush_stdio();
    sys::exit_now(code)
}

fn take_socket() -> Option<UnixStream> {
    let socket = nix::unistd::dup(std::io::stdin()).ok()?;
    if let Ok(null) = std::fs::File::open("/dev/null") {
        let _ = nix::unistd::dup2_stdin(null);
    }
    Some(UnixStream::from(socket))
}

fn run(boot: Boot, socket: UnixStream) -> i32 {
    use std::os::unix::ffi::OsStringExt;
    let parent = boot
        .identity
        .parent_pid()
        .map(|p| Pid::from_raw(i32::try_from(p).unwrap_or(0)));
    let name = boot.identity.name().to_owned();
    let path = boot.checkin.map(OsString::from_vec);
    // Only a watched child says it was seen (and needs its own handle).
    let mut seen = path.as_ref().and_then(|_| socket.try_clone().ok());
    child::begin(
        parent,
        boot.identity,
        &name,
        path.as_deref().map(|path| {
            (path, move || {
                if let Some(seen) = seen.as_mut() {
                    let _ = seen.write_all(b"s");
                }
            })
        }),
    );
    match boot.work {
        Work::Process { func, args, fds } => {
            if fds > 0 {
                match sys::receive_fds(&socket, fds) {
                    Some(fds) => crate::crossing::install_fds(fds),
                    None => return 1,
                }
            }
            match panic::catch_unwind(AssertUnwindSafe(|| func.call(&args))) {
                Ok(Ok(_)) => 0,
                Ok(Err(message)) => {
                    eprintln!("{name}: {message}");
                    1
                }
                Err(_) => 1,
            }
        }
        Work::PoolWorker {
            initializer,
            maxtasks,
            slot,
            slots,
        } => {
            sys::ignore_sigint();
            let Some(progress) = sys::receive_fds(&socket, 1)
                .and_then(|fds| fds.into_iter().next())
                .and_then(|fd| sys::Slots::map(fd, slots).ok())
            else {
                return 1;
            };
            if let Some((initializer, args)) = initializer
                && initializer.call(&args).is_err()
            {
                return 1;
            }
            let Ok(results) = socket.try_clone() else {
                return 1;
            };
            crate::pool::worker_loop::worker_loop(socket, results, maxtasks, |done| {
                progress.set(slot, done)
            })
        }
    }
}
