//! [`Semaphore`] and [`BoundedSemaphore`]: at most `n` holders at once,
//! like `multiprocessing.Semaphore(n)` and `BoundedSemaphore(n)`.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::guard::LockGuard;
use crate::error::Result;
use crate::sys::{Places, deadline_in};

/// A counter of free places that processes share, like
/// `multiprocessing.Semaphore(n)`: at most `n` holders at once. Like
/// [`Lock`](crate::Lock), [`acquire`](Semaphore::acquire) returns a guard
/// that gives the place back when dropped, and a place whose holder dies is
/// not lost.
///
/// ```
/// use std::time::Duration;
///
/// let places = common::Semaphore::new(2)?;
/// let first = places.acquire()?;
/// let second = places.acquire()?;
/// assert!(places.acquire_timeout(Duration::ZERO)?.is_none());
/// drop(first);
/// assert!(places.acquire_timeout(Duration::ZERO)?.is_some());
/// # drop(second);
/// # Ok::<(), common::Error>(())
/// ```
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Semaphore {
    places: Places,
}

/// A [`Semaphore`] that refuses to be released more often than it was
/// acquired, like `multiprocessing.BoundedSemaphore(n)`: such a release is
/// [`Error::ReleasedTooOften`](crate::Error::ReleasedTooOften) (Python
/// raises `ValueError`).
///
/// ```
/// let places = common::BoundedSemaphore::new(1)?;
/// places.acquire()?.keep();
/// places.release()?;
/// assert!(matches!(places.release(), Err(common::Error::ReleasedTooOften)));
/// # Ok::<(), common::Error>(())
/// ```
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BoundedSemaphore {
    places: Places,
    bound: usize,
}

/// Waits (at most `timeout`: `None`, however long it takes) for a place
/// of `places`.
fn take(places: &Places, timeout: Option<Duration>) -> Result<Option<LockGuard<'_>>> {
    Ok(places
        .take(timeout.and_then(deadline_in))?
        .map(|taken| LockGuard::place(places, taken)))
}

impl Semaphore {
    /// A semaphore with `places` free places.
    ///
    /// ```
    /// let one = common::Semaphore::new(1)?;
    /// drop(one.acquire()?);
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn new(places: usize) -> Result<Semaphore> {
        Ok(Semaphore {
            places: Places::new(places)?,
        })
    }

    /// Another handle to the same semaphore: the same as [`Clone`], which
    /// cannot fail (kept for code written before it).
    pub fn try_clone(&self) -> Result<Semaphore> {
        Ok(self.clone())
    }

    /// Waits for a free place and takes it, like `sem.acquire()`.
    ///
    /// ```
    /// let s = common::Semaphore::new(3)?;
    /// let _place = s.acquire()?;
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn acquire(&self) -> Result<LockGuard<'_>> {
        Ok(take(&self.places, None)?.expect("no deadline"))
    }

    /// Takes a place if one frees within `timeout`, like
    /// `sem.acquire(timeout=t)`; `None` when none did.
    ///
    /// ```
    /// let s = common::Semaphore::new(0)?;
    /// assert!(s.acquire_timeout(std::time::Duration::from_millis(1))?.is_none());
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn acquire_timeout(&self, timeout: Duration) -> Result<Option<LockGuard<'_>>> {
        take(&self.places, Some(timeout))
    }

    /// Frees a place, like `sem.release()`: one more place is free. As in
    /// Python, nothing
    /// bounds the places (see [`BoundedSemaphore`]), so a
    /// `Semaphore::new(0)` is a signal one process gives and another waits
    /// for.
    ///
    /// ```
    /// let signal = common::Semaphore::new(0)?;
    /// signal.release()?;
    /// drop(signal.acquire()?);
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn release(&self) -> Result<()> {
        self.places.release(None)
    }

    /// How many places are free now, like `sem.get_value()`.
    ///
    /// ```
    /// let s = common::Semaphore::new(2)?;
    /// let _one = s.acquire()?;
    /// assert_eq!(s.get_value(), 1);
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn get_value(&self) -> usize {
        usize::try_from(self.places.free()).unwrap_or(usize::MAX)
    }
}

impl BoundedSemaphore {
    /// A bounded semaphore with `places` free places.
    ///
    /// ```
    /// let s = common::BoundedSemaphore::new(2)?;
    /// drop(s.acquire()?);
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn new(places: usize) -> Result<BoundedSemaphore> {
        Ok(BoundedSemaphore {
            places: Places::new(places)?,
            bound: places,
        })
    }

    /// Another handle to the same semaphore: the same as [`Clone`], which
    /// cannot fail (kept for code written before it).
    pub fn try_clone(&self) -> Result<BoundedSemaphore> {
        Ok(self.clone())
    }

    /// Waits for a free place and takes it, like `sem.acquire()`.
    ///
    /// ```
    /// let s = common::BoundedSemaphore::new(1)?;
    /// let _place = s.acquire()?;
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn acquire(&self) -> Result<LockGuard<'_>> {
        Ok(take(&self.places, None)?.expect("no deadline"))
    }

    /// Takes a place if one frees within `timeout`; `None` when none did.
    ///
    /// ```
    /// let s = common::BoundedSemaphore::new(1)?;
    /// let _place = s.acquire()?;
    /// assert!(s.acquire_timeout(std::time::Duration::from_millis(1))?.is_none());
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn acquire_timeout(&self, timeout: Duration) -> Result<Option<LockGuard<'_>>> {
        take(&self.places, Some(timeout))
    }

    /// Frees a place, like `sem.release()`.
    ///
    /// # Errors
    ///
    /// [`Error::ReleasedTooOften`](crate::Error::ReleasedTooOften) when
    /// every place is free already.
    ///
    /// ```
    /// let s = common::BoundedSemaphore::new(2)?;
    /// s.acquire()?.keep();
    /// s.release()?;
    /// assert!(s.release().is_err());
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn release(&self) -> Result<()> {
        self.places.release(Some(self.bound))
    }

    /// How many places are free now, like `sem.get_value()`.
    ///
    /// ```
    /// assert_eq!(common::BoundedSemaphore::new(3)?.get_value(), 3);
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn get_value(&self) -> usize {
        usize::try_from(self.places.free()).unwrap_or(usize::MAX)
    }
}
