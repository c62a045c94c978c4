//! Forking a sibling: a child of this process's parent (`CLONE_PARENT`),
//! as the fork server makes every child it starts, so that the children
//! belong to the program that asked for them (it waits for them, the kernel
//! names it as their parent, `PR_SET_PDEATHSIG` ties them to it).

use nix::errno::Errno;
use nix::unistd::Pid;

/// Which side of [`fork_sibling`] the caller is on.
pub(crate) enum Sibling {
    /// The new process.
    Child,
    /// The caller, with the new process's pid.
    Caller(Pid),
}

/// Forks a process whose parent is this process's parent.
///
/// Only for a single-threaded caller (the fork server, which runs before
/// `main` and never starts a thread): the child is a copy of it, as after
/// `fork`.
pub(crate) fn fork_sibling() -> Result<Sibling, Errno> {
    let flags = libc::CLONE_PARENT | libc::SIGCHLD;
    // SAFETY: a raw `clone` with no new stack is `fork` with one more flag:
    // the child continues on a copy of the caller's stack. The caller has a
    // single thread, so no lock is inherited held; glibc keeps no pid cache
    // that this would leave stale (removed in 2.25).
    let pid = unsafe { libc::syscall(libc::SYS_clone, libc::c_long::from(flags), 0, 0, 0, 0) };
    match pid {
        0 => Ok(Sibling::Child),
        pid if pid > 0 => Ok(Sibling::Caller(Pid::from_raw(
            i32::try_from(pid).unwrap_or(i32::MAX),
        ))),
        _ => Err(Errno::last()),
    }
}
