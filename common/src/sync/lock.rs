//! [`Lock`]: one process (or thread) at a time, like
//! `multiprocessing.Lock()`.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::guard::LockGuard;
use crate::error::Result;
use crate::sys::{LockWord, deadline_in};

/// A lock that any process holding a copy can take, one at a time, like
/// `multiprocessing.Lock()`; [`acquire`](Lock::acquire) returns a guard
/// that releases it when dropped, as `with lock:` does.
///
/// It is one word of shared memory (see `sys::lock_word`): taken and
/// given back without a system call when no other process is in the way,
/// with a short spin and then a futex sleep when one is. It reaches a
/// child in a closure (fork) or as an argument of
/// [`Process::with_args`](crate::Process::with_args) (any start method);
/// [`clone`](Clone::clone) makes another handle to give away (it cannot fail).
/// Unlike Python's, a lock whose holder dies is not lost: the next process
/// to acquire it gets it, and its guard says so
/// ([`LockGuard::previous_holder_died`]).
///
/// ```
/// use common::{Lock, Process};
///
/// fn print_alone((lock, n): (Lock, u32)) {
///     let _held = lock.acquire().expect("the lock");
///     println!("process {n} holds the lock");
/// }
///
/// let lock = Lock::new()?;
/// let mut processes = Vec::new();
/// for n in 1..=3 {
///     let mut process = Process::with_args(print_alone, (lock.clone(), n));
///     process.start()?;
///     processes.push(process);
/// }
/// for process in &processes {
///     process.join()?;
/// }
/// # Ok::<(), common::Error>(())
/// ```
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Lock {
    word: LockWord,
}

impl Lock {
    /// A new lock, not held.
    ///
    /// ```
    /// let lock = common::Lock::new()?;
    /// drop(lock.acquire()?);
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn new() -> Result<Lock> {
        Ok(Lock {
            word: LockWord::new(0)?,
        })
    }

    /// Another handle to the same lock: the same as [`Clone`], which
    /// cannot fail (kept for code written before it).
    pub fn try_clone(&self) -> Result<Lock> {
        Ok(self.clone())
    }

    /// Waits until the lock is free and takes it, like `lock.acquire()`.
    ///
    /// ```
    /// let lock = common::Lock::new()?;
    /// {
    ///     let _held = lock.acquire()?;
    ///     // ... only one process at a time runs this ...
    /// }
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn acquire(&self) -> Result<LockGuard<'_>> {
        let inherited = self.word.take(None).expect("no deadline");
        Ok(LockGuard::lock(&self.word, inherited))
    }

    /// Takes the lock if it becomes free within `timeout`, like
    /// `lock.acquire(timeout=t)`; `None` when it did not.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let lock = common::Lock::new()?;
    /// let held = lock.acquire_timeout(Duration::ZERO)?;
    /// assert!(held.is_some());
    /// assert!(lock.acquire_timeout(Duration::from_millis(10))?.is_none());
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn acquire_timeout(&self, timeout: Duration) -> Result<Option<LockGuard<'_>>> {
        Ok(self
            .word
            .take(deadline_in(timeout))
            .map(|inherited| LockGuard::lock(&self.word, inherited)))
    }

    /// Releases the lock taken and kept ([`LockGuard::keep`]), like
    /// `lock.release()`; as in Python, any process may release it.
    ///
    /// # Errors
    ///
    /// [`Error::ReleasedTooOften`](crate::Error::ReleasedTooOften) when the
    /// lock is not held.
    ///
    /// ```
    /// let lock = common::Lock::new()?;
    /// lock.acquire()?.keep();
    /// lock.release()?;
    /// assert!(matches!(lock.release(), Err(common::Error::ReleasedTooOften)));
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn release(&self) -> Result<()> {
        self.word.release()
    }
}
