//! [`LockGuard`]: a place held in a [`Lock`](crate::Lock) or a semaphore.

use crate::sys::{Places, Taken};

/// Holds a [`Lock`](crate::Lock) or a place in a
/// [`Semaphore`](crate::Semaphore) until dropped, as `with lock:` does.
#[derive(Debug)]
#[must_use = "the place is given back as soon as the guard is dropped"]
pub struct LockGuard<'a> {
    places: &'a Places,
    taken: Taken,
    /// What [`keep`](LockGuard::keep) does with the place.
    kept: Kept,
}

/// What a kept place becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kept {
    /// Still this process's (a lock): released by `release`, or freed if
    /// this process dies.
    Held,
    /// Spent, with no holder (a semaphore's place: a signal consumed stays
    /// consumed whatever becomes of its taker); back only by a `release`.
    Spent,
}

impl<'a> LockGuard<'a> {
    pub(crate) fn new(places: &'a Places, taken: Taken, kept: Kept) -> LockGuard<'a> {
        LockGuard {
            places,
            taken,
            kept,
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
        self.taken.inherited
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
        match self.kept {
            Kept::Held => std::mem::forget(self),
            // Fails only if the shared state's mutex fails, which nothing
            // here could mend.
            Kept::Spent => drop(self.spend()),
        }
    }

    /// Keeps the place taken for good, with no holder: it comes back only
    /// by a release, not when this process ends (a bounded queue's place,
    /// which passes to the value put).
    pub(crate) fn spend(self) -> crate::Result<()> {
        let (places, taken) = (self.places, self.taken);
        std::mem::forget(self);
        places.spend(taken)
    }
}

impl Drop for LockGuard<'_> {
    fn drop(&mut self) {
        // Fails only if the shared state's mutex fails, which nothing here
        // could mend.
        let _ = self.places.give(self.taken);
    }
}
