//! What a caller holds while work runs: [`AsyncResult`] (from
//! `apply_async`) and [`Imap`] (from `imap` and `imap_unordered`), each with
//! a [`Claim`] on its batch of results in the pool.

use super::scheduler::Batch;
use super::scheduler::{Shared, lock};
use super::wire::decode;
use crate::error::{Error, Result};
use serde::de::DeserializeOwned;
use std::marker::PhantomData;
use std::time::{Duration, Instant};

/// The pending result of [`Pool::apply_async`](crate::Pool::apply_async), like Python's `AsyncResult`.
///
/// It shares the pool: waiting on it drives the pool's work.
pub struct AsyncResult<R> {
    pub(super) claim: Claim,
    pub(super) _result: PhantomData<R>,
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

impl<R: DeserializeOwned> AsyncResult<R> {
    /// Waits for the result, like `AsyncResult.get()`.
    ///
    /// ```
    /// fn square(n: i64) -> i64 {
    ///     n * n
    /// }
    ///
    /// let mut pool = common::Pool::new(1)?;
    /// assert_eq!(pool.apply_async(square, 5)?.get()?, 25);
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn get(self) -> Result<R> {
        self.fetch(None)
    }

    /// Waits at most `timeout`, like `AsyncResult.get(timeout)`:
    /// [`Error::Timeout`] if it is not ready by then (the handle is gone,
    /// and the result will be discarded).
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// fn forever(_: u32) -> u32 {
    ///     loop {
    ///         std::thread::park();
    ///     }
    /// }
    ///
    /// let mut pool = common::Pool::new(1)?;
    /// let stuck = pool.apply_async(forever, 0)?;
    /// assert!(matches!(stuck.get_timeout(Duration::from_millis(10)), Err(common::Error::Timeout(_))));
    /// pool.terminate();
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn get_timeout(self, timeout: Duration) -> Result<R> {
        self.fetch(Some(timeout))
    }

    /// Whether the result is ready, like `AsyncResult.ready()`.
    ///
    /// ```
    /// fn forever(_: u32) -> u32 {
    ///     loop {
    ///         std::thread::park();
    ///     }
    /// }
    ///
    /// let mut pool = common::Pool::new(1)?;
    /// let stuck = pool.apply_async(forever, 0)?;
    /// assert!(!stuck.ready());
    /// pool.terminate();
    /// assert!(stuck.ready(), "terminate fails what was unfinished");
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn ready(&self) -> bool {
        let mut inner = lock(&self.claim.inner);
        // A look at the pipes without waiting; its errors show in `get`.
        let _ = inner.step(Some(Instant::now()), None);
        inner
            .batches
            .get(&self.claim.batch)
            .is_none_or(|b| b.outstanding == 0)
    }

    /// Whether it completed without failing, like
    /// `AsyncResult.successful()`; [`Error::NotReady`] before it is ready.
    ///
    /// ```
    /// fn forever(_: u32) -> u32 {
    ///     loop {
    ///         std::thread::park();
    ///     }
    /// }
    ///
    /// let mut pool = common::Pool::new(1)?;
    /// let stuck = pool.apply_async(forever, 0)?;
    /// assert!(matches!(stuck.successful(), Err(common::Error::NotReady)));
    /// pool.terminate();
    /// assert!(!stuck.successful()?);
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn successful(&self) -> Result<bool> {
        if !self.ready() {
            return Err(Error::NotReady);
        }
        let inner = lock(&self.claim.inner);
        Ok(inner
            .batches
            .get(&self.claim.batch)
            .is_some_and(|b| !b.failed))
    }

    pub(super) fn fetch(self, timeout: Option<Duration>) -> Result<R> {
        let mut inner = lock(&self.claim.inner);
        let deadline = timeout.map(|t| Instant::now() + t);
        inner.wait(self.claim.batch, deadline, |b| b.outstanding == 0)?;
        if inner
            .batches
            .get(&self.claim.batch)
            .is_some_and(|b| b.outstanding > 0)
        {
            return Err(Error::Timeout(timeout.unwrap_or_default()));
        }
        let slot = inner
            .batches
            .get_mut(&self.claim.batch)
            .and_then(|b| b.slots[0].take());
        decode(0, slot.ok_or(Error::NotReady)??)
    }
}

/// The iterator of [`Pool::imap`](crate::Pool::imap) and [`Pool::imap_unordered`](crate::Pool::imap_unordered).
///
/// It shares the pool: each `next` drives the pool's work until a result is
/// there. Dropping it early discards the results still to come.
pub struct Imap<R> {
    pub(super) claim: Claim,
    pub(super) next: usize,
    pub(super) total: usize,
    pub(super) ordered: bool,
    pub(super) _result: PhantomData<R>,
}

impl<R: DeserializeOwned> Iterator for Imap<R> {
    /// `(index in the input, result)`.
    type Item = (usize, Result<R>);

    fn next(&mut self) -> Option<Self::Item> {
        if self.next == self.total {
            return None;
        }
        let mut inner = lock(&self.claim.inner);
        let want = self.next;
        let ordered = self.ordered;
        let ready = |b: &Batch| {
            if ordered {
                b.slots[want].is_some()
            } else {
                !b.completed.is_empty()
            }
        };
        if let Err(error) = inner.wait(self.claim.batch, None, ready) {
            self.next = self.total;
            return Some((want, Err(error)));
        }
        let batch = inner
            .batches
            .get_mut(&self.claim.batch)
            .expect("a batch lives until forgotten");
        let index = if ordered {
            want
        } else {
            batch.completed.pop_front().expect("ready")
        };
        let slot = batch.slots[index].take().expect("completed");
        self.next += 1;
        Some((index, slot.and_then(|bytes| decode(index, bytes))))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.total - self.next;
        (left, Some(left))
    }
}
