//! The check-in hook a grader uses to watch processes being created.
//!
//! When the environment variable [`CHECKIN_ENV`] names a Unix socket, every
//! process this crate creates connects to it as its first act, sends one line
//! naming itself (`Process-1`, `PoolWorker-2`, ...) and waits for one byte
//! back before running anything else. The listener learns the new process's
//! pid from the kernel (`SO_PEERCRED`), not from what the process says, and by
//! holding the answer it can keep several processes alive at once to prove
//! that they run at the same time. Without the variable this costs one
//! environment lookup.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::time::Duration;

/// The environment variable naming the check-in socket.
pub const CHECKIN_ENV: &str = "COMMON_CHECKIN";

/// How long a process waits for the listener's answer before going on alone.
const PATIENCE: Duration = Duration::from_secs(120);

/// Checks in with the listener named by [`CHECKIN_ENV`], if any. Every failure
/// is ignored: a missing listener must not stop a process.
pub(crate) fn check_in(label: &str) {
    let Some(path) = std::env::var_os(CHECKIN_ENV) else {
        return;
    };
    let Ok(mut socket) = UnixStream::connect(path) else {
        return;
    };
    let _ = socket.set_read_timeout(Some(PATIENCE));
    if writeln!(socket, "{label}").is_ok() {
        let _ = socket.read(&mut [0u8; 1]);
    }
}
