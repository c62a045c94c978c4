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
//! - a pool whose driver has run registers with `sys::pause`, so that every
//!   fork first stops the driver and starts it again after; a driver never
//!   holds a lock when stopped (it takes the pool's state only with
//!   `try_lock`, and lets go whenever another thread wants it);
//! - a driver never forks: a worker that dies under it is replaced by the
//!   fork server (or spawn, for a spawn pool; see
//!   `Registry::replacement_method`), started from this crate's lasting
//!   thread (see `launcher`), which a later fork finds idle; so the work
//!   and its callbacks go on with no further call from the program;
//! - the default start method does not count drivers as threads (each is
//!   `sys::pause::Counted`; see `start::get_start_method`).
//!
//! Callbacks run on the driver when its work finished there, or on the
//! thread that was driving the pool, right after that thread lets go of the
//! pool's state (see `state_lock::Locked`); never while the state is held.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, PoisonError, Weak};
use std::time::Duration;

use super::scheduler::Inner;
use super::state_lock::{DriverHandle, PoolShared, Shared};
use crate::sys::pause::{self, Counted, Pausable, on_pausable_thread};

/// How long the driver polls the workers at a time.
const POLL: Duration = Duration::from_millis(100);

/// How long the driver waits before it looks again when another thread
/// holds the state.
const HELD: Duration = Duration::from_millis(2);

/// How long the driver steps aside when another thread wants the state.
const YIELD: Duration = Duration::from_micros(50);

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
        if !on_pausable_thread() {
            let _ = old.thread.join();
        }
    }
    let stop = Arc::new(AtomicBool::new(false));
    let weak = Arc::downgrade(shared);
    let stopping = Arc::clone(&stop);
    // Counted from now; uncounted when the thread ends, or with the closure
    // if there is no thread.
    let counted = Counted::new();
    let spawned = std::thread::Builder::new()
        .name("common-pool-driver".to_owned())
        .spawn(move || {
            counted.enter();
            drive(&weak, &stopping);
            drop(counted);
        });
    match spawned {
        Ok(thread) => {
            *slot = Some(DriverHandle { stop, thread });
            pause::register(shared);
        }
        Err(_) => {
            // No thread: work moves when the program next calls the pool.
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
fn halt(shared: &PoolShared) -> bool {
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
    if !on_pausable_thread() {
        let _ = handle.thread.join();
    }
    true
}

/// Every fork stops the driver (a fork needs a process of one thread), and
/// starts it again after if the pool had work.
impl Pausable for PoolShared {
    fn pause(&self) -> bool {
        halt(self) && self.driving.load(Ordering::SeqCst)
    }

    fn resume(self: Arc<Self>) {
        start(&self);
    }
}
