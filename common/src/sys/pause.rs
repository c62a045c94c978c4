//! Threads of this crate that stop around every fork, and the one that
//! lasts but idles: a registry that [`fork`](fn@super::fork) consults, so
//! that whoever forks need not know who keeps such threads (today, a pool's
//! driver, see `pool::driver`, and the launcher, see `launcher`).
//!
//! A fork needs a process of one thread (see `fork`), yet a pool moves work
//! queued without waiting on a thread of its own. So:
//!
//! - whatever owns such a thread [`register`]s itself as [`Pausable`];
//!   [`paused`], which every fork goes through, stops each owner's thread
//!   first (a thread that never holds a lock when stopped) and starts
//!   again after the fork those that had work;
//! - each such thread is [`Counted`] from before it is made until it ends,
//!   so that the default start method does not take it for one of the
//!   program's threads ([`running`], see `start::get_start_method`);
//! - on such a thread [`on_pausable_thread`] holds: it never forks (its
//!   fork would be refused).
//!
//! # The lasting thread
//!
//! A child that is not forked is tied to the thread that starts it (its
//! `PR_SET_PDEATHSIG` fires when that thread ends), so children started
//! from threads that end (a driver, a user's short-lived thread) are
//! started from one thread that lasts as long as the process (see
//! `launcher`). That thread cannot stop around a fork, so it is made
//! harmless instead: it runs each job through [`lasting_job`], behind a
//! gate that every fork closes first (after the pausable threads have
//! stopped, so that none waits on a job behind the gate). At the fork it
//! is therefore idle, blocked on its inbox, holding no lock a child could
//! need (glibc's `fork` takes the allocator's own locks across it); the
//! child has no such thread, opens its copy of the gate and forgets the
//! parent's ([`forked_child`]). A fork counts it apart from the program's
//! threads ([`lasting`]), and so does the default start method.

use std::cell::Cell;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::time::Duration;

use super::futex;
use super::this_process;

/// What owns a thread that must not run while this process forks.
pub(crate) trait Pausable: Send + Sync {
    /// Stops the thread, if it runs, and waits for it to end; whether it
    /// is to start again after the fork (it had work).
    fn pause(&self) -> bool;

    /// Starts the thread again after the fork.
    fn resume(self: Arc<Self>);
}

/// The owners registered, as long as they live.
static OWNERS: Mutex<Vec<Weak<dyn Pausable>>> = Mutex::new(Vec::new());

/// How many pausable threads exist now (or are about to).
static RUNNING: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// Whether this thread is a pausable one.
    static PAUSABLE: Cell<bool> = const { Cell::new(false) };
}

fn owners() -> MutexGuard<'static, Vec<Weak<dyn Pausable>>> {
    // A panic while holding this lock cannot leave the Vec half-updated.
    OWNERS.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Registers `owner`, once however often it is called, until it is dropped.
pub(crate) fn register<P: Pausable + 'static>(owner: &Arc<P>) {
    let mut owners = owners();
    owners.retain(|known| known.strong_count() > 0);
    if !owners
        .iter()
        .any(|known| std::ptr::addr_eq(known.as_ptr(), Arc::as_ptr(owner)))
    {
        let weak: Weak<P> = Arc::downgrade(owner);
        owners.push(weak);
    }
}

/// Runs `fork` with every registered owner's thread stopped and the
/// lasting thread idle, then starts again those that had work.
pub(crate) fn paused<T>(fork: impl FnOnce() -> T) -> T {
    if on_pausable_thread() || this_process::never_threaded() {
        // Such a thread never forks (see the module docs); the fork refuses.
        // A process that never had a second thread has neither pausable
        // threads nor a lasting one: nothing to stop, and no gate to close
        // (so nothing for the parent to write after the fork).
        return fork();
    }
    let live: Vec<Arc<dyn Pausable>> = owners().iter().filter_map(Weak::upgrade).collect();
    let mut stopped = Vec::new();
    for owner in live {
        if owner.pause() {
            stopped.push(owner);
        }
    }
    close_gate();
    let forked = fork();
    open_gate();
    for owner in stopped {
        // It had work when stopped; if none is left it ends at once.
        owner.resume();
    }
    forked
}

/// The gate of the lasting thread: 0 open, else closed by the process
/// whose pid it holds (by a job its lasting thread runs, or by a fork). A
/// gate closed by another process is a copy a child inherited, and open
/// for it.
static GATE: AtomicU32 = AtomicU32::new(0);

/// The process whose lasting thread exists (0: none yet): a forked child
/// inherits the value, not the thread.
static LASTING: AtomicU32 = AtomicU32::new(0);

/// How many threads of this process wait for the gate to open: when none
/// does, opening it makes no system call.
static GATE_WAITERS: AtomicU32 = AtomicU32::new(0);

fn close_gate() {
    let me = this_process::pid();
    loop {
        let held = GATE.load(Ordering::SeqCst);
        if held != me
            && GATE
                .compare_exchange(held, me, Ordering::SeqCst, Ordering::SeqCst)
                .is_ok()
        {
            return;
        }
        if held == me {
            // Counted before the wait looks at the gate again: an opener
            // that stored 0 before seeing the count finds the gate's word
            // changed under the futex, which then does not sleep.
            GATE_WAITERS.fetch_add(1, Ordering::SeqCst);
            futex::wait(&GATE, held, Duration::from_millis(100));
            GATE_WAITERS.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

fn open_gate() {
    GATE.store(0, Ordering::SeqCst);
    if GATE_WAITERS.load(Ordering::SeqCst) != 0 {
        futex::wake_all(&GATE);
    }
}

/// On the lasting thread: runs `job` behind the gate, so that no fork
/// happens while it runs.
pub(crate) fn lasting_job<T>(job: impl FnOnce() -> T) -> T {
    close_gate();
    let done = job();
    open_gate();
    done
}

/// Notes that this process now has its lasting thread.
pub(crate) fn lasting_started() {
    LASTING.store(this_process::pid(), Ordering::SeqCst);
}

/// Whether this process has its lasting thread (1) or not (0), to count
/// apart from the program's threads.
pub(crate) fn lasting() -> usize {
    usize::from(LASTING.load(Ordering::SeqCst) == this_process::pid())
}

/// In a child of a fork, first: it has no lasting thread, and the gate the
/// fork closed is its own to open.
#[inline(always)]
pub(crate) fn forked_child() {
    // Each word is written only if it must change: a write to a page the
    // parent still shares costs the child a copy of the page. (A waiter
    // counted in GATE_WAITERS was a thread of the parent's.)
    for word in [&LASTING, &GATE, &GATE_WAITERS] {
        if word.load(Ordering::SeqCst) != 0 {
            word.store(0, Ordering::SeqCst);
        }
    }
}

/// How many threads of this crate exist now that a fork need not count:
/// the pausable ones (a fork stops them) and the lasting one (idle at a
/// fork). The default start method does not count them as the program's.
pub(crate) fn running() -> usize {
    RUNNING.load(Ordering::SeqCst) + lasting()
}

/// Whether the calling thread is a pausable one.
pub(crate) fn on_pausable_thread() -> bool {
    PAUSABLE.get()
}

/// One pausable thread in [`running`]'s count: made before the thread
/// (so that it is never seen uncounted), moved into it, and dropped when it
/// ends, or with the thread's closure if it could not be made.
pub(crate) struct Counted(());

impl Counted {
    /// Counts a thread about to be made.
    pub(crate) fn new() -> Counted {
        RUNNING.fetch_add(1, Ordering::SeqCst);
        Counted(())
    }

    /// On the thread itself, first: marks it as pausable.
    pub(crate) fn enter(&self) {
        PAUSABLE.set(true);
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        RUNNING.fetch_sub(1, Ordering::SeqCst);
    }
}
