//! `fork`, and what makes it safe: refused in a multi-threaded process,
//! with the standard streams flushed first, and the parent's own pipe ends
//! closed in the child.
//!
//! # Why forking is refused in a multi-threaded process
//!
//! `fork` copies only the calling thread. Any lock another thread held at that
//! instant (the allocator's, stdout's, the environment's) stays locked forever
//! in the child, which deadlocks the first time it touches it. Python forked
//! anyway until 3.14 moved its default start method away from fork
//! (cpython gh-84559). [`fork`] counts the threads in `/proc/self/task` and
//! returns [`Error::MultiThreaded`] instead (a process that never had a
//! second thread, as glibc's own flag tells, is not counted: see
//! `this_process`). No thread can appear between the
//! count and the fork: only the one running thread could create it. This
//! crate's own threads are the exception, made safe by design (see
//! `pause`): a pool's driver is stopped before the count, and the lasting
//! thread that starts children for other threads is idle behind a gate the
//! fork holds closed.
//!
//! This is also why the crate's own fork tests do not run under libtest, which
//! runs each test on a thread of its own: `tests/fork/main.rs` has a harness
//! that runs them on the main thread.
//!
//! # Output
//!
//! Rust's stdout is buffered in user space. Bytes still in the buffer at the
//! fork would be printed twice, once by each process, so [`fork`] flushes
//! stdout and stderr first; the child flushes again before `_exit`, and
//! `_exit` (not `exit`) ends it, so the parent's destructors and exit handlers
//! never run twice.

use super::exit::exit_now;
use super::pipes::pipe;
use super::this_process;
use std::io::{self, Write};
use std::os::fd::{FromRawFd, OwnedFd, RawFd};
use std::panic::{self, AssertUnwindSafe};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use nix::unistd::{ForkResult, Pid};

use crate::checkin;
use crate::error::{Error, Result};
use crate::identity;
use crate::log;

/// File descriptors that belong to the parent side of this process's pools:
/// every forked child closes them first, so that a worker sees end-of-file
/// when the parent closes its end, not when the last of its siblings exits.
static PARENT_FDS: Mutex<Vec<RawFd>> = Mutex::new(Vec::new());

/// How many [`PARENT_FDS`] there are: a child with none to close need not
/// take the lock (a write to a page its parent still shares).
static PARENT_FD_COUNT: AtomicUsize = AtomicUsize::new(0);

/// Marks `fd` as one that forked children must close.
pub(crate) fn register_parent_fd(fd: RawFd) {
    let mut fds = lock_parent_fds();
    fds.push(fd);
    PARENT_FD_COUNT.store(fds.len(), Ordering::SeqCst);
}

/// Undoes [`register_parent_fd`]; call it before closing `fd`, so that a
/// later child does not close an unrelated file that reuses the number.
pub(crate) fn forget_parent_fd(fd: RawFd) {
    let mut fds = lock_parent_fds();
    fds.retain(|&registered| registered != fd);
    PARENT_FD_COUNT.store(fds.len(), Ordering::SeqCst);
}

fn lock_parent_fds() -> std::sync::MutexGuard<'static, Vec<RawFd>> {
    // A panic while holding this lock cannot leave the Vec half-updated.
    PARENT_FDS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The number of threads in this process that can still run, as the
/// kernel lists them.
///
/// A thread that has ended but is still listed is not counted: a traced
/// program's ended threads stay listed, as zombies, until the tracer (a
/// grader) reaps them, which under load took longer than any wait here.
/// A thread that was just joined may still be running its last steps in
/// the kernel, so a count above `expected` is taken again, at growing
/// intervals over at most about a quarter of a second (a preempted
/// thread's exit took more than the 20 ms allowed before), before it is
/// believed.
pub(crate) fn thread_count(expected: usize) -> Result<usize> {
    let mut threads = task_count(expected)?;
    let mut pause = Duration::from_millis(1);
    while threads > expected && pause <= Duration::from_millis(128) {
        std::thread::sleep(pause);
        pause *= 2;
        threads = task_count(expected)?;
    }
    Ok(threads)
}

/// Whether this process has at most `expected` threads that can still
/// run, by one look at `/proc/self/task` (true if it cannot be read).
pub(crate) fn threads_at_most(expected: usize) -> bool {
    task_count(expected).map_or(true, |threads| threads <= expected)
}

/// One look at `/proc/self/task`: the threads listed there, but, when
/// more than `expected` are listed, those that have ended (a zombie, `Z`,
/// or dead, `X`, in their `stat`), which only then are looked at.
fn task_count(expected: usize) -> Result<usize> {
    let tasks: Vec<std::fs::DirEntry> = std::fs::read_dir("/proc/self/task")
        .map_err(|e| Error::os("read /proc/self/task", e))?
        .filter_map(std::result::Result::ok)
        .collect();
    if tasks.len() <= expected {
        return Ok(tasks.len());
    }
    Ok(tasks.iter().filter(|task| !ended(&task.path())).count())
}

/// Whether the thread whose `/proc/self/task/TID` directory is `task` has
/// ended: its `stat` says `Z` or `X` after the name, or is gone.
fn ended(task: &std::path::Path) -> bool {
    let Ok(stat) = std::fs::read_to_string(task.join("stat")) else {
        return true;
    };
    // The state follows the name, which is in parentheses and may hold
    // any byte, so it is found after the last `)`.
    let state = stat
        .rfind(')')
        .and_then(|end| stat[end + 1..].split_whitespace().next());
    matches!(state, Some("Z" | "X"))
}

/// Writes out what the standard streams hold, so that a child does not print
/// it a second time. Errors are ignored: a closed stdout must not stop a fork.
pub(crate) fn flush_stdio() {
    let _ = io::stdout().flush();
    let _ = io::stderr().flush();
}

/// Forks. The child checks in (see [`checkin`]), runs `child` and exits with
/// the code it returns, or 1 if it panics; it never returns into the caller.
/// The parent gets the child's pid, once a grader watching has seen it.
///
/// This crate's own threads that stop around a fork (a pool's driver) are
/// stopped first and started again after (see `pause`).
pub(crate) fn fork(label: &str, child: impl FnOnce() -> i32) -> Result<Pid> {
    super::pause::paused(|| fork_alone(label, child))
}

/// [`fork`], the crate's pausable threads already stopped.
fn fork_alone(label: &str, child: impl FnOnce() -> i32) -> Result<Pid> {
    // This crate's lasting thread, if any, is idle behind its gate (see
    // `pause`): the only other thread a fork allows.
    let allowed = 1 + super::pause::lasting();
    // A process that never had a second thread need not count them.
    let threads = if this_process::never_threaded() {
        1
    } else {
        thread_count(allowed)?
    };
    if threads > allowed {
        return Err(Error::MultiThreaded { threads });
    }
    let parent = Pid::from_raw(this_process::pid().cast_signed());
    let child_identity = identity::for_child(label);
    // Closed by the child once a grader has seen it (see `checkin`).
    let checkin = match checkin::socket() {
        Some(socket) => Some((socket, pipe()?)),
        None => None,
    };
    flush_stdio();
    // SAFETY: the process has a single thread (checked above, and only this
    // thread could have started another since), or beside it only this
    // crate's lasting thread, idle behind the gate the caller closed (see
    // `pause`), so the child inherits no lock held by a thread that does not
    // exist in it.
    match unsafe { nix::unistd::fork() } {
        Ok(ForkResult::Parent { child }) => {
            log::event(format_args!(
                "{label} started: pid {child}, parent {parent}"
            ));
            if let Some((_, (seen_rx, seen_tx))) = checkin {
                drop(seen_tx);
                checkin::wait_until_seen(seen_rx);
            }
            Ok(child)
        }
        Ok(ForkResult::Child) => {
            super::pause::forked_child();
            if PARENT_FD_COUNT.load(Ordering::SeqCst) != 0 {
                let mut fds = lock_parent_fds();
                PARENT_FD_COUNT.store(0, Ordering::SeqCst);
                for fd in fds.drain(..) {
                    // SAFETY: the fd was registered by the parent as its own
                    // and is not used by anything the child runs; closing it
                    // here only drops the child's copy.
                    drop(unsafe { OwnedFd::from_raw_fd(fd) });
                }
            }
            // An unwinding panic must never return into the parent's code,
            // which would then run twice.
            let code = panic::catch_unwind(AssertUnwindSafe(|| {
                let (socket, seen) = match checkin {
                    Some((socket, (_, seen_tx))) => (Some(socket), Some(move || drop(seen_tx))),
                    None => (None, None),
                };
                crate::child::begin(
                    Some(parent),
                    child_identity,
                    label,
                    socket.as_deref().zip(seen),
                );
                child()
            }))
            .unwrap_or(1);
            // Only stdout: stderr keeps no buffer (taking its lock to flush
            // nothing would copy a page shared with the parent).
            let _ = io::stdout().flush();
            exit_now(code)
        }
        Err(errno) => Err(Error::os("fork", errno)),
    }
}
