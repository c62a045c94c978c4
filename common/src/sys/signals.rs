//! Signals: SIGPIPE and SIGINT ignored where they must be, and SIGINT turned
//! into something `poll` can wait for while a pool is being waited on.

use super::fork::register_parent_fd;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};

use nix::fcntl::OFlag;
use nix::sys::signal::{self, SaFlags, SigAction, SigHandler, SigSet, Signal};

use crate::error::{Error, Result};

/// Makes writes to a closed pipe fail with EPIPE instead of killing the
/// process, as Rust's runtime arranges before `main`; a spawned child runs
/// before that.
pub(crate) fn ignore_sigpipe() {
    // SAFETY: SIG_IGN installs no handler of ours.
    let _ = unsafe { signal::signal(Signal::SIGPIPE, SigHandler::SigIgn) };
}

/// Makes this process ignore SIGINT. Pool workers do, so that Ctrl-C, which
/// the terminal sends to the whole process group, is handled once, by the
/// parent, which then terminates them.
pub(crate) fn ignore_sigint() {
    // SAFETY: SIG_IGN installs no handler of ours; nothing can run in it.
    let _ = unsafe { signal::signal(Signal::SIGINT, SigHandler::SigIgn) };
}

/// SIGINT turned into something `poll` can wait for: while a guard is
/// installed, SIGINT sets a flag and writes a byte to a pipe.
pub(crate) struct SigintGuard {
    previous: SigAction,
}

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

static SIGINT_WRITE_FD: AtomicI32 = AtomicI32::new(-1);

static SIGINT_PIPE: OnceLock<(OwnedFd, OwnedFd)> = OnceLock::new();

extern "C" fn on_sigint(_: libc::c_int) {
    INTERRUPTED.store(true, Ordering::SeqCst);
    let fd = SIGINT_WRITE_FD.load(Ordering::SeqCst);
    if fd >= 0 {
        let byte = 1u8;
        // SAFETY: write(2) is async-signal-safe; the buffer is a live local.
        // A full pipe only loses a wake-up byte; the flag is already set.
        let _ = unsafe { libc::write(fd, (&raw const byte).cast(), 1) };
    }
}

impl SigintGuard {
    /// Installs the handler until the guard is dropped.
    pub(crate) fn install() -> Result<SigintGuard> {
        let (read, write) = match SIGINT_PIPE.get() {
            Some(pipe) => pipe,
            None => {
                let (read, write) = nix::unistd::pipe2(OFlag::O_CLOEXEC | OFlag::O_NONBLOCK)
                    .map_err(|e| Error::os("pipe", e))?;
                register_parent_fd(read.as_raw_fd());
                register_parent_fd(write.as_raw_fd());
                SIGINT_PIPE.get_or_init(|| (read, write))
            }
        };
        // Empty the pipe of an earlier interruption's bytes.
        while nix::unistd::read(read, &mut [0u8; 64]).is_ok_and(|n| n > 0) {}
        INTERRUPTED.store(false, Ordering::SeqCst);
        SIGINT_WRITE_FD.store(write.as_raw_fd(), Ordering::SeqCst);
        let action = SigAction::new(
            SigHandler::Handler(on_sigint),
            SaFlags::empty(),
            SigSet::empty(),
        );
        // SAFETY: `on_sigint` only stores to atomics and calls write(2), both
        // async-signal-safe.
        let previous = unsafe { signal::sigaction(Signal::SIGINT, &action) }
            .map_err(|e| Error::os("sigaction", e))?;
        Ok(SigintGuard { previous })
    }

    /// Becomes readable when SIGINT arrives.
    pub(crate) fn fd(&self) -> BorrowedFd<'_> {
        SIGINT_PIPE
            .get()
            .expect("installed with the guard")
            .0
            .as_fd()
    }

    /// Whether SIGINT arrived since the guard was installed.
    pub(crate) fn fired(&self) -> bool {
        INTERRUPTED.load(Ordering::SeqCst)
    }
}

impl Drop for SigintGuard {
    fn drop(&mut self) {
        // SAFETY: puts back the action that was there before, whatever it was.
        let _ = unsafe { signal::sigaction(Signal::SIGINT, &self.previous) };
    }
}
