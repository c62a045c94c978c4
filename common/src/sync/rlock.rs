//! [`RLock`]: a lock its holder may take again, like
//! `multiprocessing.RLock()`.

use std::cell::Cell;
use std::marker::PhantomData;
use std::sync::atomic::AtomicU64;
use std::sync::atomic::Ordering::{Acquire, Relaxed, Release};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::sys::{LockWord, deadline_in, holder};

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
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RLock {
    /// The lock (whose holder is the owner's process), then the owner's
    /// thread and the depth.
    word: LockWord,
}

const OWNER_THREAD: usize = 0;
const DEPTH: usize = 1;

/// Holds an [`RLock`] once until dropped. Not `Send`: the lock belongs to
/// the thread that took it.
#[derive(Debug)]
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct RLockGuard<'a> {
    lock: &'a RLock,
    inherited: bool,
    _thread: PhantomData<*const ()>,
}

/// This thread, as a number no other thread of this process has had, known
/// without a system call. A forked child's thread has its parent thread's
/// number, but the holder (the process) differs.
fn this_thread() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    thread_local! {
        static THIS: Cell<u64> = const { Cell::new(0) };
    }
    THIS.with(|this| {
        if this.get() == 0 {
            this.set(NEXT.fetch_add(1, Relaxed));
        }
        this.get()
    })
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
            word: LockWord::new(2)?,
        })
    }

    /// Another handle to the same lock: the same as [`Clone`], which
    /// cannot fail (kept for code written before it).
    pub fn try_clone(&self) -> Result<RLock> {
        Ok(self.clone())
    }

    /// Whether this thread of this process holds the lock.
    pub(crate) fn is_mine(&self) -> bool {
        self.word.holder() == holder::me()
            && self.word.extra(OWNER_THREAD).load(Acquire) == this_thread()
    }

    /// Takes the lock (again) by `deadline` (`None`: however long it
    /// takes); whether it came from a dead holder, or `None` on timeout.
    fn take(&self, deadline: Option<Instant>) -> Option<bool> {
        if self.is_mine() {
            self.word.extra(DEPTH).fetch_add(1, Relaxed);
            return Some(false);
        }
        let inherited = self.word.take(deadline)?;
        self.word.extra(OWNER_THREAD).store(this_thread(), Release);
        self.word.extra(DEPTH).store(1, Relaxed);
        Some(inherited)
    }

    /// Waits for the lock and takes it (again), like `rlock.acquire()`.
    ///
    /// ```
    /// let lock = common::RLock::new()?;
    /// let _held = lock.acquire()?;
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn acquire(&self) -> Result<RLockGuard<'_>> {
        let inherited = self.take(None).expect("no deadline");
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
    /// let mut other = Process::with_args(try_it, lock.clone());
    /// other.start()?;
    /// other.join()?;
    /// assert_eq!(other.exitcode(), Some(3), "another process may not take it");
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn acquire_timeout(&self, timeout: Duration) -> Result<Option<RLockGuard<'_>>> {
        Ok(self
            .take(deadline_in(timeout))
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
        if self.word.extra(DEPTH).fetch_sub(1, Relaxed) == 1 {
            self.word.extra(OWNER_THREAD).store(0, Relaxed);
            self.word.give();
        }
        Ok(())
    }

    /// Releases the lock whatever its depth, for a condition's wait;
    /// returns the depth to restore.
    pub(crate) fn release_all(&self) -> Result<u64> {
        if !self.is_mine() {
            return Err(Error::NotOwner);
        }
        let depth = self.word.extra(DEPTH).load(Relaxed);
        self.word.extra(DEPTH).store(1, Relaxed);
        self.release()?;
        Ok(depth)
    }

    /// Takes the lock back at `depth` after [`RLock::release_all`];
    /// whether it came from a holder that died.
    pub(crate) fn restore(&self, depth: u64) -> bool {
        let inherited = self.take(None).expect("no deadline");
        self.word.extra(DEPTH).store(depth, Relaxed);
        inherited
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
