//! [`LockGuard`]: a [`Lock`](crate::Lock) held, or a place in a
//! semaphore.

use crate::sys::{LockWord, Places, Taken};

/// Holds a [`Lock`](crate::Lock) or a place in a
/// [`Semaphore`](crate::Semaphore) until dropped, as `with lock:` does.
#[derive(Debug)]
#[must_use = "the place is given back as soon as the guard is dropped"]
pub struct LockGuard<'a> {
    held: Held<'a>,
    /// Whether the lock or place came from a holder that died.
    inherited: bool,
}

/// What a guard holds, and what keeping it past the guard means.
#[derive(Debug, Clone, Copy)]
enum Held<'a> {
    /// A lock: kept past the guard, it stays this process's, released by
    /// `release`, or freed if this process dies.
    Lock(&'a LockWord),
    /// A semaphore's place: kept past the guard, it is spent, with no
    /// holder (a signal consumed stays consumed whatever becomes of its
    /// taker); back only by a `release`.
    Place(&'a Places, Taken),
}

impl<'a> LockGuard<'a> {
    /// A guard on `lock`, taken (from a dead holder if `inherited`).
    pub(crate) fn lock(lock: &'a LockWord, inherited: bool) -> LockGuard<'a> {
        LockGuard {
            held: Held::Lock(lock),
            inherited,
        }
    }

    /// A guard on a place of `places`, taken as `taken`.
    pub(crate) fn place(places: &'a Places, taken: Taken) -> LockGuard<'a> {
        LockGuard {
            held: Held::Place(places, taken),
            inherited: taken.inherited,
        }
    }

    /// Whether the place came from a holder that died holding it (killed,
    /// or exited without giving it back), as a `pthread` robust mutex
    /// reports `EOWNERDEAD`: what the dead holder protected may be half
    /// done. Python has no such thing: its lock stays held forever.
    ///
    /// ```
    /// let lock = common::Lock::new()?;
    /// assert!(!lock.acquire()?.previous_holder_died());
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn previous_holder_died(&self) -> bool {
        self.inherited
    }

    /// Keeps the lock or the place past the guard, as Python's bare
    /// `acquire()` does: it goes back with an explicit `release`
    /// ([`Lock::release`](crate::Lock::release),
    /// [`Semaphore::release`](crate::Semaphore::release), ...). A kept
    /// [`Lock`](crate::Lock) stays this process's, so it is freed if the
    /// process dies; a kept semaphore place is spent (a signal consumed
    /// stays consumed), so it is not.
    ///
    /// ```
    /// let signal = common::Semaphore::new(1)?;
    /// signal.acquire()?.keep();
    /// assert!(signal.acquire_timeout(std::time::Duration::ZERO)?.is_none());
    /// signal.release()?;
    /// assert!(signal.acquire_timeout(std::time::Duration::ZERO)?.is_some());
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn keep(self) {
        match self.held {
            Held::Lock(_) => std::mem::forget(self),
            // Fails only if the shared state's mutex fails, which nothing
            // here could mend.
            Held::Place(..) => drop(self.spend()),
        }
    }

    /// Keeps the place taken for good, with no holder: it comes back only
    /// by a release, not when this process ends (a bounded queue's place,
    /// which passes to the value put). A lock is simply kept.
    pub(crate) fn spend(self) -> crate::Result<()> {
        let held = self.held;
        std::mem::forget(self);
        match held {
            Held::Lock(_) => Ok(()),
            Held::Place(places, taken) => places.spend(taken),
        }
    }
}

impl Drop for LockGuard<'_> {
    fn drop(&mut self) {
        match self.held {
            // Not this process's any more only if another process released
            // it (as Python allows): then there is nothing to give back.
            Held::Lock(lock) => drop(lock.give()),
            // Fails only if the shared state's mutex fails, which nothing
            // here could mend.
            Held::Place(places, taken) => drop(places.give(taken)),
        }
    }
}
