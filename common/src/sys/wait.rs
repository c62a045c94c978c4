//! Waiting: for a child to end (reaping it), and for a descriptor to become
//! readable, each with a deadline that holds.

use std::os::fd::{AsFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::Pid;

use crate::error::{Ended, Error, Result};

/// Reaps `pid` if it has ended. `block` waits for it to end.
pub(crate) fn reap(pid: Pid, block: bool) -> Result<Option<Ended>> {
    let flags = if block {
        None
    } else {
        Some(WaitPidFlag::WNOHANG)
    };
    loop {
        return match waitpid(pid, flags) {
            Ok(WaitStatus::Exited(_, code)) => Ok(Some(Ended::Exited(code))),
            Ok(WaitStatus::Signaled(_, signal, _)) => Ok(Some(Ended::Signaled(signal))),
            Ok(WaitStatus::StillAlive) => Ok(None),
            // Stopped or continued: it has not ended.
            Ok(_) if !block => Ok(None),
            Ok(_) | Err(Errno::EINTR) => continue,
            Err(errno) => Err(Error::os("waitpid", errno)),
        };
    }
}

/// Polls `fds` until at least one is ready or `deadline` passes (`None`:
/// however long it takes); whether one is (their `revents` say which): the
/// one wait under every timed wait of this crate (pipes, sockets, queues,
/// locks, events, pidfds, `wait`). `poll` takes at most 65535 ms at a time
/// and may be cut short by a signal, so it is called again until the
/// deadline; a deadline already past still gets one look.
pub(crate) fn poll_until(fds: &mut [PollFd<'_>], deadline: Option<Instant>) -> Result<bool, Errno> {
    loop {
        let left = deadline.map_or(Duration::MAX, |d| {
            d.saturating_duration_since(Instant::now())
        });
        match poll(fds, poll_timeout(left)) {
            Ok(0) | Err(Errno::EINTR) => {}
            Ok(_) => return Ok(true),
            Err(errno) => return Err(errno),
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            return Ok(false);
        }
    }
}

/// As [`poll_until`], but first looks again and again for a short while
/// (see `spin`), for a descriptor another process is about to make ready:
/// a message answering one just sent, say.
pub(crate) fn poll_until_spinning(
    fds: &mut [PollFd<'_>],
    deadline: Option<Instant>,
) -> Result<bool, Errno> {
    let mut spin = super::spin::Spin::new(deadline);
    loop {
        match poll(fds, PollTimeout::ZERO) {
            Ok(0) | Err(Errno::EINTR) => {}
            Ok(_) => return Ok(true),
            Err(errno) => return Err(errno),
        }
        if !spin.pause() {
            break;
        }
    }
    poll_until(fds, deadline)
}

/// `timeout` from now, or `None` (no deadline) when that is beyond any
/// instant the clock can tell: a timeout of centuries (`Duration::MAX`) is
/// a wait without end, not a panic.
pub(crate) fn deadline_in(timeout: Duration) -> Option<Instant> {
    Instant::now().checked_add(timeout)
}

/// Whether `fd` is readable now or becomes so within `timeout` (see
/// [`poll_until`]).
pub(crate) fn readable(fd: BorrowedFd<'_>, timeout: Duration) -> Result<bool, Errno> {
    poll_until(
        &mut [PollFd::new(fd, PollFlags::POLLIN)],
        deadline_in(timeout),
    )
}

/// `left` as `poll` takes it: whole milliseconds rounded up (rounded down,
/// the last millisecond before a deadline would be spent in polls that
/// return at once), at most 65535.
pub(crate) fn poll_timeout(left: Duration) -> PollTimeout {
    let ms = left.as_nanos().div_ceil(1_000_000);
    PollTimeout::from(u16::try_from(ms).unwrap_or(u16::MAX))
}

/// Waits up to `timeout` for `pid` to end and reaps it. `None`: still running.
///
/// It sleeps on a pidfd, which becomes readable exactly when the process
/// ends; a kernel older than 5.3 has none, and then it polls.
pub(crate) fn reap_timeout(pid: Pid, timeout: Duration) -> Result<Option<Ended>> {
    let deadline = deadline_in(timeout);
    let pidfd = pidfd_open(pid);
    loop {
        if let Some(ended) = reap(pid, false)? {
            return Ok(Some(ended));
        }
        let left = deadline.map_or(Duration::MAX, |d| {
            d.saturating_duration_since(Instant::now())
        });
        if left.is_zero() {
            return Ok(None);
        }
        match &pidfd {
            Some(fd) => {
                readable(fd.as_fd(), left).map_err(|errno| Error::os("poll", errno))?;
            }
            None => std::thread::sleep(left.min(Duration::from_millis(2))),
        }
    }
}

/// A descriptor that becomes readable when process `pid` ends (a pidfd),
/// or `None` on a kernel without them (before 5.3).
pub(crate) fn pidfd_open(pid: Pid) -> Option<OwnedFd> {
    // SAFETY: pidfd_open takes a pid and a flags word and returns a new fd or
    // -1; it touches no memory of ours.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid.as_raw(), 0) };
    let fd = RawFd::try_from(fd).ok().filter(|&fd| fd >= 0)?;
    // SAFETY: the kernel just returned this fd, so nothing else owns it.
    Some(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// A descriptor that is readable now and stays so (an eventfd holding 1),
/// for a wait on something that has already happened; `None` if the
/// kernel gives none.
pub(crate) fn ready_fd() -> Option<OwnedFd> {
    // SAFETY: eventfd takes a count and flags and returns a new fd or -1.
    let fd = unsafe { libc::eventfd(1, libc::EFD_CLOEXEC) };
    // SAFETY: a non-negative result is a new descriptor owned by no one else.
    (fd >= 0).then(|| unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Sends `signal` to the process of `pidfd`, which cannot be another
/// process than the one it was opened on, even once that one has been
/// reaped and its pid reused (then it fails with `ESRCH`).
pub(crate) fn pidfd_signal(pidfd: BorrowedFd<'_>, signal: nix::sys::signal::Signal) -> Result<()> {
    use std::os::fd::AsRawFd;
    // SAFETY: pidfd_send_signal takes a descriptor, a signal number, a
    // null siginfo pointer (the kernel makes one as kill(2) does) and no
    // flags; it touches no memory of ours.
    let sent = unsafe {
        libc::syscall(
            libc::SYS_pidfd_send_signal,
            pidfd.as_raw_fd(),
            signal as libc::c_int,
            std::ptr::null::<libc::siginfo_t>(),
            0,
        )
    };
    if sent == 0 {
        Ok(())
    } else {
        Err(Error::os(
            "pidfd_send_signal",
            std::io::Error::last_os_error(),
        ))
    }
}

/// Whether child `pid` has ended, without reaping it (`WNOWAIT`): a child
/// that ended stays a zombie for its `Process` to reap.
pub(crate) fn has_ended(pid: Pid) -> bool {
    use nix::sys::wait::{Id, WaitPidFlag, WaitStatus, waitid};
    !matches!(
        waitid(
            Id::Pid(pid),
            WaitPidFlag::WEXITED | WaitPidFlag::WNOHANG | WaitPidFlag::WNOWAIT,
        ),
        Ok(WaitStatus::StillAlive)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_poll_timeout_is_rounded_up_to_whole_milliseconds() {
        let ms = |d: Duration| i32::from(poll_timeout(d));
        assert_eq!(ms(Duration::ZERO), 0);
        // Rounded down, these would be polls that return at once: a loop
        // waiting for its deadline would spin through its last millisecond.
        assert_eq!(ms(Duration::from_nanos(1)), 1);
        assert_eq!(ms(Duration::from_micros(999)), 1);
        assert_eq!(ms(Duration::from_micros(1001)), 2);
        assert_eq!(ms(Duration::from_secs(3600)), 65535);
    }
}
