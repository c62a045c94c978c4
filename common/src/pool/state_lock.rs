//! The lock on the pool's state, as the pool and its result handles share
//! it: the bookkeeping (`scheduler::Inner`) behind a mutex, what lets the
//! driver thread (see `driver`) step aside when another thread wants the
//! mutex, the callbacks that run once it is let go, and a handle's
//! [`Claim`] on its batch.

use std::ops::{Deref, DerefMut};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, TryLockError};
use std::thread::JoinHandle;

use super::scheduler::Inner;
use crate::error::{Error, Result};
use crate::sys;

/// What the pool and its result handles share.
pub(super) struct PoolShared {
    inner: Mutex<Inner>,
    /// How many threads are waiting to take `inner`.
    wanting: AtomicUsize,
    /// Written by a thread that wants `inner`, read by the driver, which
    /// may hold it while it polls: the driver's poll includes it.
    wake: (OwnedFd, OwnedFd),
    /// Whether a driver thread runs (or has been asked to): set and cleared
    /// while `inner` is held.
    pub(super) driving: AtomicBool,
    /// The driver thread, to stop and join.
    pub(super) driver: Mutex<Option<DriverHandle>>,
}

/// A running driver (see `driver`): how to stop it, and its thread.
pub(super) struct DriverHandle {
    pub(super) stop: Arc<AtomicBool>,
    pub(super) thread: JoinHandle<()>,
}

/// The pool's state, shared by the [`Pool`](super::Pool) and the handles
/// of its pending results, which may be on other threads.
pub(super) type Shared = Arc<PoolShared>;

impl PoolShared {
    pub(super) fn new(inner: Inner) -> Result<Shared> {
        let (rx, tx) = sys::pipe()?;
        for end in [&rx, &tx] {
            nix::fcntl::fcntl(
                end,
                nix::fcntl::FcntlArg::F_SETFL(nix::fcntl::OFlag::O_NONBLOCK),
            )
            .map_err(|e| Error::os("fcntl", e))?;
        }
        Ok(Arc::new(PoolShared {
            inner: Mutex::new(inner),
            wanting: AtomicUsize::new(0),
            wake: (rx, tx),
            driving: AtomicBool::new(false),
            driver: Mutex::new(None),
        }))
    }

    /// What the driver polls to learn that another thread wants the state.
    pub(super) fn wake_fd(&self) -> BorrowedFd<'_> {
        self.wake.0.as_fd()
    }

    /// Asks the driver, if it is polling, to let go of the state.
    pub(super) fn poke(&self) {
        let _ = nix::unistd::write(&self.wake.1, &[1]);
    }

    /// Empties the wake pipe (the driver, once woken); whether anyone had
    /// poked it.
    pub(super) fn drain_wake(&self) -> bool {
        let mut buffer = [0u8; 64];
        let mut poked = false;
        while matches!(nix::unistd::read(&self.wake.0, &mut buffer), Ok(n) if n > 0) {
            poked = true;
        }
        poked
    }

    /// Whether some thread waits to take the state.
    pub(super) fn wanted(&self) -> bool {
        self.wanting.load(Ordering::SeqCst) > 0
    }

    /// Takes the state if it is free now (the driver's way).
    pub(super) fn try_lock(&self) -> Option<Locked<'_>> {
        match self.inner.try_lock() {
            Ok(guard) => Some(Locked { guard: Some(guard) }),
            Err(TryLockError::Poisoned(poisoned)) => Some(Locked {
                guard: Some(poisoned.into_inner()),
            }),
            Err(TryLockError::WouldBlock) => None,
        }
    }
}

/// Takes the pool's state, asking a driver that holds it to let go. A
/// thread that panicked while holding it left it consistent (every change
/// is made whole under the lock), so poisoning is ignored.
pub(super) fn lock(shared: &Shared) -> Locked<'_> {
    if let Some(locked) = shared.try_lock() {
        return locked;
    }
    shared.wanting.fetch_add(1, Ordering::SeqCst);
    // Only a driver polls the wake pipe; with none, another caller holds
    // the state and lets go by itself.
    if shared.driving.load(Ordering::SeqCst) {
        shared.poke();
    }
    let guard = shared.inner.lock().unwrap_or_else(PoisonError::into_inner);
    shared.wanting.fetch_sub(1, Ordering::SeqCst);
    Locked { guard: Some(guard) }
}

/// The pool's state, held. When let go, the callbacks whose work finished
/// meanwhile run, on this thread, after the state is unlocked.
pub(super) struct Locked<'a> {
    guard: Option<MutexGuard<'a, Inner>>,
}

impl Deref for Locked<'_> {
    type Target = Inner;

    fn deref(&self) -> &Inner {
        self.guard.as_ref().expect("held until dropped")
    }
}

impl DerefMut for Locked<'_> {
    fn deref_mut(&mut self) -> &mut Inner {
        self.guard.as_mut().expect("held until dropped")
    }
}

impl Drop for Locked<'_> {
    fn drop(&mut self) {
        let Some(mut guard) = self.guard.take() else {
            return;
        };
        let callbacks = std::mem::take(&mut guard.callbacks);
        drop(guard);
        for callback in callbacks {
            // A callback that panics loses only itself.
            let _ = panic::catch_unwind(AssertUnwindSafe(callback));
        }
    }
}

/// A handle's hold on its batch in the pool: dropping it forgets the batch,
/// so that results nobody will read are discarded.
pub(super) struct Claim {
    pub(super) inner: Shared,
    pub(super) batch: u64,
    /// Whether dropping the claim also withdraws the batch's queued work
    /// (an `imap` stopped early), or only its results (an `apply_async`
    /// dropped: the task still runs, as Python's does).
    pub(super) withdraw: bool,
}

impl Claim {
    /// A hold on `batch` of the pool `shared`.
    pub(super) fn new(shared: &Shared, batch: u64, withdraw: bool) -> Claim {
        Claim {
            inner: Arc::clone(shared),
            batch,
            withdraw,
        }
    }
}

impl Drop for Claim {
    fn drop(&mut self) {
        let mut inner = lock(&self.inner);
        if self.withdraw {
            inner.forget(self.batch);
        } else {
            inner.discard(self.batch);
        }
    }
}
