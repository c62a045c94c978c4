//! Threads of this crate that stop around every fork: a registry that
//! [`fork`](fn@super::fork) consults, so that whoever forks need not know who
//! keeps such threads (today, a pool's driver: see `pool::driver`).
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
//!   fork would be refused) nor starts a process (see `pool::registry`).

use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};

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

/// Runs `fork` with every registered owner's thread stopped, then starts
/// again those that had work.
pub(crate) fn paused<T>(fork: impl FnOnce() -> T) -> T {
    if on_pausable_thread() {
        // Such a thread never forks (see the module docs); the fork refuses.
        return fork();
    }
    let live: Vec<Arc<dyn Pausable>> = owners().iter().filter_map(Weak::upgrade).collect();
    let mut stopped = Vec::new();
    for owner in live {
        if owner.pause() {
            stopped.push(owner);
        }
    }
    let forked = fork();
    for owner in stopped {
        // It had work when stopped; if none is left it ends at once.
        owner.resume();
    }
    forked
}

/// How many pausable threads exist now, which the default start method
/// does not count as the program's threads.
pub(crate) fn running() -> usize {
    RUNNING.load(Ordering::SeqCst)
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
