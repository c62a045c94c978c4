//! The driver: a thread that moves a pool's work while nobody waits on the
//! pool, so that what `apply_async` and `map_async` queued starts at once
//! and goes on while the caller does other things, and their callbacks run.
//!
//! # Why a thread, and how it lives with fork
//!
//! Without one, work moves only while some caller is inside a pool call
//! (the pool's first design): a task queued behind busy workers waits for
//! the next call. The driver is a thread of this crate, started by an
//! asynchronous submission and ended once the pool has nothing left to do,
//! so a program that only calls `map` never has it.
//!
//! A thread makes fork unsafe (see `sys::fork`), and this crate forks pool
//! workers and processes. So:
//!
//! - every fork first stops every driver ([`paused`]), and starts them again
//!   after; a driver never holds a lock when stopped (it takes the pool's
//!   state only with `try_lock`, and lets go whenever another thread wants
//!   it);
//! - a driver never starts a process itself: a worker that dies under it
//!   leaves its place empty, and the next call from the program's own
//!   threads fills it (`Inner::fill_vacancies`);
//! - the default start method does not count drivers as threads (see
//!   `start::get_start_method`).
//!
//! Callbacks run on the driver when its work finished there, or on the
//! thread that was driving the pool, right after that thread lets go of the
//! pool's state (see `shared::Locked`); never while the state is held.

use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::thread::JoinHandle;
use std::time::Duration;

use super::scheduler::Inner;
use super::shared::{PoolShared, Shared};

/// How long the driver polls the workers at a time.
const POLL: Duration = Duration::from_millis(100);

/// How long the driver waits before it looks again when another thread
/// holds the state.
const HELD: Duration = Duration::from_millis(2);

/// How long the driver steps aside when another thread wants the state.
const YIELD: Duration = Duration::from_micros(50);

thread_local! {
    /// Whether this thread is a driver.
    static ON_DRIVER: Cell<bool> = const { Cell::new(false) };
}

/// How many driver threads exist now.
static RUNNING: AtomicUsize = AtomicUsize::new(0);

/// The pools that have had a driver, for [`paused`].
static POOLS: Mutex<Vec<Weak<PoolShared>>> = Mutex::new(Vec::new());

/// A running driver: how to stop it, and its thread.
pub(super) struct Handle {
    stop: Arc<AtomicBool>,
    thread: JoinHandle<()>,
}

/// How many driver threads exist now, which the default start method does
/// not count as the program's threads.
pub(crate) fn running() -> usize {
    RUNNING.load(Ordering::SeqCst)
}

/// Whether the calling thread is a driver.
pub(super) fn on_driver() -> bool {
    ON_DRIVER.get()
}

/// Starts `shared`'s driver unless it runs; the caller holds the state
/// (`inner`), under which `driving` changes.
pub(super) fn ensure(shared: &Shared, inner: &mut Inner) {
    let _ = inner;
    if shared.driving.swap(true, Ordering::SeqCst) {
        return;
    }
    start(shared);
}

/// Starts a driver thread for `shared` (replacing a finished one).
fn start(shared: &Shared) {
    let mut slot = shared.driver.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(old) = slot.take() {
        // It has decided to end (it cleared `driving`); a driver starting
        // its successor from a callback must not wait for itself.
        if !on_driver() {
            let _ = old.thread.join();
        }
    }
    let stop = Arc::new(AtomicBool::new(false));
    let weak = Arc::downgrade(shared);
    let stopping = Arc::clone(&stop);
    RUNNING.fetch_add(1, Ordering::SeqCst);
    let spawned = std::thread::Builder::new()
        .name("common-pool-driver".to_owned())
        .spawn(move || {
            ON_DRIVER.set(true);
            drive(&weak, &stopping);
            RUNNING.fetch_sub(1, Ordering::SeqCst);
        });
    match spawned {
        Ok(thread) => {
            *slot = Some(Handle { stop, thread });
            let mut pools = POOLS.lock().unwrap_or_else(PoisonError::into_inner);
            pools.retain(|pool| pool.strong_count() > 0);
            if !pools
                .iter()
                .any(|pool| pool.as_ptr() == Arc::as_ptr(shared))
            {
                pools.push(Arc::downgrade(shared));
            }
        }
        Err(_) => {
            // No thread: work moves when the program next calls the pool.
            RUNNING.fetch_sub(1, Ordering::SeqCst);
            shared.driving.store(false, Ordering::SeqCst);
        }
    }
}

/// The driver's loop: step the pool while it has work, until stopped.
fn drive(weak: &Weak<PoolShared>, stop: &AtomicBool) {
    while !stop.load(Ordering::SeqCst) {
        let Some(shared) = weak.upgrade() else {
            return;
        };
        if shared.wanted() {
            drop(shared);
            std::thread::sleep(YIELD);
            continue;
        }
        let Some(mut inner) = shared.try_lock() else {
            // Another thread drives the pool now (a `get`, a `map`): wait
            // for it on the wake pipe, briefly, rather than spin.
            let _ = crate::sys::readable(shared.wake_fd(), HELD);
            shared.drain_wake();
            drop(shared);
            continue;
        };
        let busy = inner.step_for_driver(POLL, shared.wake_fd());
        let poked = shared.drain_wake();
        if !busy {
            // Decided under the state's lock, where `ensure` looks.
            shared.driving.store(false, Ordering::SeqCst);
            return;
        }
        // Dropping the state runs the callbacks that came due, here.
        drop(inner);
        drop(shared);
        if poked {
            // The program is calling the pool (a loop of `apply_async`, say):
            // its calls move the work themselves; stay out of their way for
            // a moment rather than take the state between each two.
            std::thread::sleep(HELD);
        }
    }
}

/// Stops `shared`'s driver, if it runs, and waits for its thread: the pool
/// is going.
pub(super) fn stop(shared: &Shared) {
    halt(shared);
    shared.driving.store(false, Ordering::SeqCst);
}

/// Asks `shared`'s driver thread, if any, to stop, and waits for it (unless
/// this is it); returns whether there was one.
fn halt(shared: &Shared) -> bool {
    let handle = shared
        .driver
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .take();
    let Some(handle) = handle else {
        return false;
    };
    handle.stop.store(true, Ordering::SeqCst);
    shared.poke();
    if !on_driver() {
        let _ = handle.thread.join();
    }
    true
}

/// Runs `fork` with every pool's driver stopped (a fork needs a process of
/// one thread), then starts them again.
pub(crate) fn paused<T>(fork: impl FnOnce() -> T) -> T {
    if on_driver() {
        // Drivers never fork (see the module docs); the fork refuses.
        return fork();
    }
    let pools: Vec<Shared> = POOLS
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .iter()
        .filter_map(Weak::upgrade)
        .collect();
    let mut stopped = Vec::new();
    for shared in pools {
        if halt(&shared) && shared.driving.load(Ordering::SeqCst) {
            stopped.push(shared);
        }
    }
    let forked = fork();
    for shared in stopped {
        // It had work when stopped; if none is left it ends at once.
        start(&shared);
    }
    forked
}
