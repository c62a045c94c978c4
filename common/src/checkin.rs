//! The check-in hook a grader uses to watch processes being created.
//!
//! When the environment variable [`CHECKIN_ENV`] names a Unix socket, every
//! process this crate creates connects to it as its first act and sends one
//! line naming itself (`Process-1`, `PoolWorker-2`, ...). The listener learns
//! the new process's pid from the kernel (`SO_PEERCRED`), not from what the
//! process says, and answers twice:
//!
//! 1. one byte once it has looked the process up (its parent, in `/proc`).
//!    Only then does the parent's `start` return, so the parent cannot exit
//!    and orphan the child before the listener has seen whose child it is;
//! 2. one byte when the process may go on. By holding this answer the
//!    listener can keep several processes alive at once, to prove that they
//!    run at the same time.
//!
//! Without the variable this costs one environment lookup per process.

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::OwnedFd;
use std::os::unix::net::UnixStream;
use std::time::Duration;

/// The environment variable naming the check-in socket.
pub const CHECKIN_ENV: &str = "COMMON_CHECKIN";

/// How long a process waits for each of the listener's answers before going
/// on alone.
const PATIENCE: Duration = Duration::from_secs(120);

/// The socket processes must check in at, if any.
pub(crate) fn socket() -> Option<OsString> {
    std::env::var_os(CHECKIN_ENV)
}

/// In the child: checks in with the listener at `path`, calls `seen` once the
/// listener has looked (or at once if it cannot be reached), then waits to be
/// let go. Every failure is ignored: a missing listener must not stop a
/// process.
pub(crate) fn check_in(path: &OsStr, label: &str, seen: impl FnOnce()) {
    let Ok(mut socket) = UnixStream::connect(path) else {
        seen();
        return;
    };
    let _ = socket.set_read_timeout(Some(PATIENCE));
    if writeln!(socket, "{label}").is_err() {
        seen();
        return;
    }
    let _ = socket.read(&mut [0u8; 1]);
    seen();
    let _ = socket.read(&mut [0u8; 1]);
}

/// In the parent: waits until the child has closed its end of the `seen`
/// pipe, which it does once the listener has looked at it, or by dying.
pub(crate) fn wait_until_seen(seen: OwnedFd) {
    let _ = File::from(seen).read(&mut [0u8; 1]);
}
