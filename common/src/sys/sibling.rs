//! Forking a sibling: a child of this process's parent (`CLONE_PARENT`),
//! as the fork server makes every child it starts, so that the children
//! belong to the program that asked for them (it waits for them, the kernel
//! names it as their parent, `PR_SET_PDEATHSIG` ties them to it).

use std::sync::atomic::AtomicU32;

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
///
/// A raw `clone` skips what glibc's `fork` does for the child, and two
/// things matter to the robust mutexes under this crate's locks (see
/// `places`): glibc's record of the thread's id, which it writes into a
/// mutex it locks, and the thread's robust list, which the kernel walks
/// when the thread dies. The kernel resets the list in a new process, and
/// the record would keep the server's id: a child killed while holding a
/// lock would then leave it locked for good. So, as glibc's `fork` does,
/// the kernel writes the child's id at glibc's address for it
/// (`CLONE_CHILD_SETTID`; the address is the one glibc gave the kernel,
/// read back with `PR_GET_TID_ADDRESS`), and the child registers the same
/// robust list again (the same address, in its copy of the memory).
///
/// The kernel also writes the child's pid into `record` before the child
/// runs and before `clone` returns (`CLONE_PARENT_SETTID`): shared with the
/// parent, it tells the parent of a child whose caller died before it
/// could say (see `forkserver`).
pub(crate) fn fork_sibling(record: &AtomicU32) -> Result<Sibling, Errno> {
    let (head, len, tid_at) = thread_words()?;
    let flags = libc::CLONE_PARENT
        | libc::CLONE_PARENT_SETTID
        | libc::CLONE_CHILD_SETTID
        | libc::CLONE_CHILD_CLEARTID
        | libc::SIGCHLD;
    // SAFETY: a raw `clone` with no new stack is `fork` with more flags: the
    // child continues on a copy of the caller's stack. The caller has a
    // single thread, so no lock is inherited held; `record` is a live,
    // aligned word the kernel writes a pid into; `tid_at` is glibc's own
    // word for the thread id, in the child's copy of the memory, written as
    // glibc's `fork` has it written.
    let pid = unsafe { clone(flags, record.as_ptr().cast(), tid_at as *mut libc::c_int) };
    match pid {
        0 => {
            // SAFETY: registers the list glibc keeps for this thread, at the
            // address it has in the caller, which this copy shares.
            let registered =
                unsafe { libc::syscall(libc::SYS_set_robust_list, head as *mut libc::c_void, len) };
            if registered != 0 {
                super::exit::exit_now(1);
            }
            Ok(Sibling::Child)
        }
        pid if pid > 0 => Ok(Sibling::Caller(Pid::from_raw(
            i32::try_from(pid).unwrap_or(i32::MAX),
        ))),
        _ => Err(Errno::last()),
    }
}

/// This thread's robust list (address and length) and glibc's thread-id
/// word, asked of the kernel once: the fork server's one thread keeps them
/// for its life.
fn thread_words() -> Result<(usize, usize, usize), Errno> {
    static WORDS: std::sync::OnceLock<(usize, usize, usize)> = std::sync::OnceLock::new();
    if let Some(words) = WORDS.get() {
        return Ok(*words);
    }
    let mut head: *mut libc::c_void = std::ptr::null_mut();
    let mut len: libc::size_t = 0;
    // SAFETY: asks for this thread's robust list (pid 0: the caller); the
    // kernel writes a pointer and a length into the two live locals.
    let asked = unsafe { libc::syscall(libc::SYS_get_robust_list, 0, &raw mut head, &raw mut len) };
    if asked != 0 {
        return Err(Errno::last());
    }
    let mut tid_at: *mut libc::c_int = std::ptr::null_mut();
    // SAFETY: the kernel writes the address it keeps for this thread
    // (`set_tid_address`, which glibc calls at start-up) into a live local.
    let known = unsafe { libc::prctl(libc::PR_GET_TID_ADDRESS, &raw mut tid_at) };
    if known != 0 || tid_at.is_null() {
        return Err(Errno::last());
    }
    Ok(*WORDS.get_or_init(|| (head as usize, len, tid_at as usize)))
}

/// `clone(flags, no new stack, parent_tid, child_tid)`; the kernel's
/// order of the last arguments differs between architectures.
///
/// # Safety
///
/// As `fork`, and `parent_tid` and `child_tid` must be words the kernel may
/// write (in the caller's memory, and in the child's).
unsafe fn clone(
    flags: libc::c_int,
    parent_tid: *mut libc::c_int,
    child_tid: *mut libc::c_int,
) -> libc::c_long {
    let flags = libc::c_long::from(flags);
    let none = std::ptr::null_mut::<libc::c_void>();
    #[cfg(not(any(target_arch = "aarch64", target_arch = "riscv64", target_arch = "arm")))]
    // SAFETY: as the caller promised (x86_64 order: ptid, ctid, tls).
    let pid = unsafe { libc::syscall(libc::SYS_clone, flags, none, parent_tid, child_tid, none) };
    #[cfg(any(target_arch = "aarch64", target_arch = "riscv64", target_arch = "arm"))]
    // SAFETY: as the caller promised (this order: ptid, tls, ctid).
    let pid = unsafe { libc::syscall(libc::SYS_clone, flags, none, parent_tid, none, child_tid) };
    pid
}
