//! [`RLock`]: a lock its holder may take again, like
//! `multiprocessing.RLock()`.

use std::marker::PhantomData;
use std::sync::atomic::Ordering::SeqCst;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::sys::{Places, Release, Slots, holder_id};

/// A lock that the thread holding it may acquire again, like
/// `multiprocessing.RLock()`: it is free again once released as many times
/// as it was acquired. Owned by a thread of a process; a holder that dies
/// does not keep it (as with [`Lock`](crate::Lock)).
///
/// ```
/// let lock = common::RLock::new()?;
/// let outer = lock.acquire()?;
/// let inner = lock.acquire()?; // the same thread: no deadlock
/// drop(inner);
/// drop(outer);
/// # Ok::<(), common::Error>(())
/// ```
#[derive(Debug, Serialize, Deserialize)]
pub struct RLock {
    places: Places,
    /// The owner's process (`holder_id`), its thread id, and the depth.
    owner: Slots,
}

const OWNER_PROCESS: usize = 0;
const OWNER_THREAD: usize = 1;
const DEPTH: usize = 2;

/// Holds an [`RLock`] once until dropped. Not `Send`: the lock belongs to
/// the thread that took it.
#[derive(Debug)]
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct RLockGuard<'a> {
    lock: &'a RLock,
    inherited: bool,
    _thread: PhantomData<*const ()>,
}

fn this_thread() -> u64 {
    u64::from(nix::unistd::gettid().as_raw().unsigned_abs())
}

impl RLock {
    /// A new lock, not held.
    ///
    /// ```
    /// drop(common::RLock::new()?.acquire()?);
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn new() -> Result<RLock> {
        Ok(RLock {
            places: Places::new(1)?,
            owner: Slots::new(3)?,
        })
    }

    /// Another handle to the same lock, to give to another process.
    ///
    /// ```
    /// let lock = common::RLock::new()?;
    /// let _held = lock.acquire()?;
    /// assert!(lock.try_clone()?.acquire_timeout(std::time::Duration::ZERO)?.is_some());
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn try_clone(&self) -> Result<RLock> {
        Ok(RLock {
            places: self.places.try_clone()?,
            owner: self.owner.try_clone()?,
        })
    }

    /// Whether this thread of this process holds the lock.
    pub(crate) fn is_mine(&self) -> bool {
        self.owner.slot(OWNER_PROCESS).load(SeqCst) == holder_id()
            && self.owner.slot(OWNER_THREAD).load(SeqCst) == this_thread()
    }

    /// Takes the lock (again), waiting at most `timeout`; whether the place
    /// came from a dead holder, or `None` on timeout.
    fn take(&self, timeout: Option<Duration>) -> Result<Option<bool>> {
        if self.is_mine() {
            self.owner.add(DEPTH, 1);
            return Ok(Some(false));
        }
        let Some(taken) = self.places.take(timeout)? else {
            return Ok(None);
        };
        self.owner.set(OWNER_PROCESS, holder_id());
        self.owner.set(OWNER_THREAD, this_thread());
        self.owner.set(DEPTH, 1);
        // The place stays recorded as this process's until released.
        Ok(Some(taken.inherited))
    }

    /// Waits for the lock and takes it (again), like `rlock.acquire()`.
    ///
    /// ```
    /// let lock = common::RLock::new()?;
    /// let _held = lock.acquire()?;
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn acquire(&self) -> Result<RLockGuard<'_>> {
        let inherited = self.take(None)?.expect("no deadline");
        Ok(self.guard(inherited))
    }

    /// Takes the lock if it is free (or this thread's) within `timeout`;
    /// `None` when it did not come.
    ///
    /// ```
    /// use common::{Process, RLock};
    /// use std::time::Duration;
    ///
    /// fn try_it(lock: RLock) {
    ///     let got = lock.acquire_timeout(Duration::ZERO).expect("a look");
    ///     std::process::exit(if got.is_some() { 0 } else { 3 });
    /// }
    ///
    /// let lock = RLock::new()?;
    /// let _held = lock.acquire()?;
    /// let mut other = Process::with_args(try_it, lock.try_clone()?);
    /// other.start()?;
    /// other.join()?;
    /// assert_eq!(other.exitcode(), Some(3), "another process may not take it");
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn acquire_timeout(&self, timeout: Duration) -> Result<Option<RLockGuard<'_>>> {
        Ok(self
            .take(Some(timeout))?
            .map(|inherited| self.guard(inherited)))
    }

    fn guard(&self, inherited: bool) -> RLockGuard<'_> {
        RLockGuard {
            lock: self,
            inherited,
            _thread: PhantomData,
        }
    }

    /// Releases one acquisition kept past its guard
    /// ([`RLockGuard::keep`]), like `rlock.release()`.
    ///
    /// # Errors
    ///
    /// [`Error::NotOwner`] when this thread does not hold the lock.
    ///
    /// ```
    /// let lock = common::RLock::new()?;
    /// lock.acquire()?.keep();
    /// lock.release()?;
    /// assert!(matches!(lock.release(), Err(common::Error::NotOwner)));
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn release(&self) -> Result<()> {
        if !self.is_mine() {
            return Err(Error::NotOwner);
        }
        if self.owner.add(DEPTH, u64::MAX) == 1 {
            self.owner.set(OWNER_PROCESS, 0);
            self.owner.set(OWNER_THREAD, 0);
            self.places.release(Release::Lock)?;
        }
        Ok(())
    }

    /// Releases the lock whatever its depth, for a condition's wait;
    /// returns the depth to restore.
    pub(crate) fn release_all(&self) -> Result<u64> {
        if !self.is_mine() {
            return Err(Error::NotOwner);
        }
        let depth = self.owner.get(DEPTH);
        self.owner.set(DEPTH, 1);
        self.release()?;
        Ok(depth)
    }

    /// Takes the lock back at `depth` after [`RLock::release_all`].
    pub(crate) fn restore(&self, depth: u64) -> Result<()> {
        self.take(None)?;
        self.owner.set(DEPTH, depth);
        Ok(())
    }
}

impl RLockGuard<'_> {
    /// Whether the lock came from a holder that died holding it (see
    /// [`LockGuard::previous_holder_died`](crate::LockGuard::previous_holder_died)).
    pub fn previous_holder_died(&self) -> bool {
        self.inherited
    }

    /// Keeps this acquisition past the guard, as a bare `acquire()` does;
    /// [`RLock::release`] gives it back.
    pub fn keep(self) {
        std::mem::forget(self);
    }
}

impl Drop for RLockGuard<'_> {
    fn drop(&mut self) {
        // This thread holds it (the guard cannot leave the thread), so only
        // a failure of the shared state's mutex gets here, which nothing
        // here could mend.
        let _ = self.lock.release();
    }
}
