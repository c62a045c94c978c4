//! [`AsyncResult`]: work queued without waiting (`apply_async`,
//! `map_async`, `starmap_async`, and their callbacks), and the handle a
//! caller holds while it runs. The pool's driver moves such work in the
//! background (see `driver`).

use std::time::{Duration, Instant};

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::batch::{self, Batch, OnDone};
use super::job::Items;
use super::state_lock::{Claim, lock};
use super::{Pool, chunk, driver};
use crate::error::{Error, Result};
use crate::sys::ErasedFn;

/// The pending result of [`Pool::apply_async`](crate::Pool::apply_async)
/// or [`Pool::map_async`](crate::Pool::map_async), like Python's
/// `AsyncResult`.
///
/// It shares the pool: waiting on it drives the pool's work.
pub struct AsyncResult<R> {
    pub(super) claim: Claim,
    /// Whether its batch is done: every item answered (one item's call), or
    /// that or a failure (a map's).
    pub(super) done: fn(&Batch) -> bool,
    /// Its value, from its done batch.
    pub(super) finish: fn(Batch) -> Result<R>,
}

impl Pool {
    /// Queues `func(arg)` for a worker and returns at once, like
    /// `Pool.apply_async`: a worker with room starts it at once. The result
    /// is fetched from the handle.
    ///
    /// ```
    /// fn square(n: i64) -> i64 {
    ///     n * n
    /// }
    ///
    /// let mut pool = common::Pool::new(2)?;
    /// let a = pool.apply_async(square, 3)?;
    /// let b = pool.apply_async(square, 4)?;
    /// assert_eq!(a.get()? + b.get()?, 25);
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn apply_async<A, R>(&mut self, func: fn(A) -> R, arg: A) -> Result<AsyncResult<R>>
    where
        A: Serialize + DeserializeOwned + 'static,
        R: Serialize + DeserializeOwned + 'static,
    {
        let mut inner = lock(&self.inner);
        let batch = inner.submit(chunk::erase(func), std::iter::once(arg), 1, Some(1))?;
        // Sent at once to a worker with room; the driver moves the rest while
        // the caller does other things.
        let claim = Claim::new(&self.inner, batch, false);
        inner.dispatch()?;
        driver::ensure(&self.inner, &mut inner);
        Ok(AsyncResult {
            claim,
            done: batch::all_answered,
            finish: batch::first::<R>,
        })
    }

    /// [`apply_async`](Pool::apply_async) with callbacks, like
    /// `apply_async(f, args, callback=..., error_callback=...)`: `callback`
    /// gets the result, or `error_callback` the error, once the task is done
    /// (the handle still gives the result too, and may be dropped).
    ///
    /// A callback runs in this process on the pool's driver thread when the
    /// task finished while nobody waited on the pool, else on the thread that
    /// was waiting (in a `get`, `map`, `join`...), right after that call lets
    /// go of the pool; never while the pool is locked, so a callback may use
    /// the pool. One that panics is ended there.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::sync::atomic::{AtomicU64, Ordering};
    ///
    /// fn square(n: u64) -> u64 {
    ///     n * n
    /// }
    ///
    /// let total = Arc::new(AtomicU64::new(0));
    /// let mut pool = common::Pool::new(2)?;
    /// for n in 1..=3 {
    ///     let total = Arc::clone(&total);
    ///     pool.apply_async_with(
    ///         square,
    ///         n,
    ///         move |r| {
    ///             total.fetch_add(*r, Ordering::SeqCst);
    ///         },
    ///         |e| eprintln!("{e}"),
    ///     )?;
    /// }
    /// pool.close();
    /// pool.join()?;
    /// assert_eq!(total.load(Ordering::SeqCst), 14);
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn apply_async_with<A, R>(
        &mut self,
        func: fn(A) -> R,
        arg: A,
        callback: impl FnOnce(&R) + Send + 'static,
        error_callback: impl FnOnce(&Error) + Send + 'static,
    ) -> Result<AsyncResult<R>>
    where
        A: Serialize + DeserializeOwned + 'static,
        R: Serialize + DeserializeOwned + Send + 'static,
    {
        let result = self.apply_async(func, arg)?;
        self.on_done(
            result.claim.batch,
            batch::all_answered,
            batch::peek_first::<R>,
            callback,
            error_callback,
        );
        Ok(result)
    }

    /// [`map_async`](Pool::map_async) with callbacks, like
    /// `map_async(f, items, callback=..., error_callback=...)`: `callback`
    /// gets every result in order, or `error_callback` the first failure.
    /// They run as [`apply_async_with`](Pool::apply_async_with)'s do.
    ///
    /// ```
    /// fn square(n: u64) -> u64 {
    ///     n * n
    /// }
    ///
    /// let (tx, rx) = std::sync::mpsc::channel();
    /// let mut pool = common::Pool::new(2)?;
    /// pool.map_async_with(
    ///     square,
    ///     1..=3,
    ///     None,
    ///     move |all| tx.send(all.to_vec()).expect("listening"),
    ///     |e| eprintln!("{e}"),
    /// )?;
    /// assert_eq!(rx.recv().expect("the callback ran"), [1, 4, 9]);
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn map_async_with<A, R>(
        &mut self,
        func: fn(A) -> R,
        items: impl IntoIterator<Item = A>,
        chunksize: Option<usize>,
        callback: impl FnOnce(&[R]) + Send + 'static,
        error_callback: impl FnOnce(&Error) + Send + 'static,
    ) -> Result<AsyncResult<Vec<R>>>
    where
        A: Serialize + DeserializeOwned + 'static,
        R: Serialize + DeserializeOwned + Send + 'static,
    {
        let result = self.map_async(func, items, chunksize)?;
        self.on_done(
            result.claim.batch,
            batch::answered_or_failed,
            batch::peek_all::<R>,
            move |all: &Vec<R>| callback(all),
            error_callback,
        );
        Ok(result)
    }

    /// Gives `batch` its callbacks: once `done`, `peek` its value and hand
    /// it to `callback` (or the error to `error_callback`) after the lock.
    fn on_done<T: Send + 'static>(
        &self,
        batch: u64,
        done: fn(&Batch) -> bool,
        peek: fn(&Batch) -> Result<T>,
        callback: impl FnOnce(&T) + Send + 'static,
        error_callback: impl FnOnce(&Error) + Send + 'static,
    ) {
        let run: OnDone = Box::new(move |batch: &mut Batch| {
            let outcome = peek(batch);
            Box::new(move || match outcome {
                Ok(value) => callback(&value),
                Err(error) => error_callback(&error),
            })
        });
        let mut inner = lock(&self.inner);
        let Some(b) = inner.batches.get_mut(&batch) else {
            return;
        };
        if done(b) {
            // Already done (as the lock was let go): it runs now, after it.
            let callback = run(b);
            inner.callbacks.push(callback);
        } else {
            b.on_done = Some((done, run));
        }
    }

    /// Queues a [`map`](Pool::map) and returns at once, like
    /// `Pool.map_async`: its jobs start on the workers with room, and
    /// [`AsyncResult::get`] gives every result in order (or the first
    /// failure, as `map`).
    ///
    /// ```
    /// fn square(n: i64) -> i64 {
    ///     n * n
    /// }
    ///
    /// let mut pool = common::Pool::new(2)?;
    /// let squares = pool.map_async(square, 1..=4, None)?;
    /// assert_eq!(squares.get()?, [1, 4, 9, 16]);
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn map_async<A, R>(
        &mut self,
        func: fn(A) -> R,
        items: impl IntoIterator<Item = A>,
        chunksize: Option<usize>,
    ) -> Result<AsyncResult<Vec<R>>>
    where
        A: Serialize + DeserializeOwned + 'static,
        R: Serialize + DeserializeOwned + 'static,
    {
        self.submit_async(chunk::erase(func), Items::new(items), chunksize)
    }

    /// [`starmap`](Pool::starmap), queued like
    /// [`map_async`](Pool::map_async), like `Pool.starmap_async`.
    ///
    /// ```
    /// fn power(base: u64, exponent: u32) -> u64 {
    ///     base.pow(exponent)
    /// }
    ///
    /// let mut pool = common::Pool::new(2)?;
    /// assert_eq!(pool.starmap_async(power, [(2, 3), (3, 2)])?.get()?, [8, 9]);
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn starmap_async<A, B, R>(
        &mut self,
        func: fn(A, B) -> R,
        items: impl IntoIterator<Item = (A, B)>,
    ) -> Result<AsyncResult<Vec<R>>>
    where
        A: Serialize + DeserializeOwned + 'static,
        B: Serialize + DeserializeOwned + 'static,
        R: Serialize + DeserializeOwned + 'static,
    {
        self.submit_async(chunk::erase_pair(func), Items::new(items), None)
    }

    fn submit_async<A: Serialize + 'static, R: DeserializeOwned + 'static>(
        &mut self,
        func: ErasedFn,
        (items, len): (impl Iterator<Item = A>, usize),
        chunksize: Option<usize>,
    ) -> Result<AsyncResult<Vec<R>>> {
        let mut inner = lock(&self.inner);
        let batch = inner.submit(func, items, len, chunksize)?;
        let claim = Claim::new(&self.inner, batch, false);
        inner.dispatch()?;
        driver::ensure(&self.inner, &mut inner);
        Ok(AsyncResult {
            claim,
            done: batch::answered_or_failed,
            finish: batch::collect::<R>,
        })
    }
}

impl<R: DeserializeOwned + 'static> AsyncResult<R> {
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

    pub(super) fn fetch(self, timeout: Option<Duration>) -> Result<R> {
        let mut inner = lock(&self.claim.inner);
        // A timeout too long for the clock is no deadline, not a panic.
        let deadline = timeout.and_then(crate::sys::deadline_in);
        inner.wait(self.claim.batch, deadline, self.done)?;
        if !inner
            .batches
            .get(&self.claim.batch)
            .is_none_or(|b| (self.done)(b))
        {
            return Err(Error::Timeout(timeout.unwrap_or_default()));
        }
        let batch = inner
            .batches
            .remove(&self.claim.batch)
            .ok_or(Error::NotReady)?;
        drop(inner);
        (self.finish)(batch)
    }
}

impl<R> AsyncResult<R> {
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
            .is_none_or(|b| (self.done)(b))
    }

    /// Waits until the result is ready, without taking it, like
    /// `AsyncResult.wait()`.
    ///
    /// ```
    /// fn square(n: i64) -> i64 {
    ///     n * n
    /// }
    ///
    /// let mut pool = common::Pool::new(1)?;
    /// let result = pool.apply_async(square, 4)?;
    /// result.wait()?;
    /// assert!(result.ready());
    /// assert_eq!(result.get()?, 16);
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn wait(&self) -> Result<()> {
        self.wait_timeout(Duration::MAX).map(drop)
    }

    /// Waits at most `timeout` until the result is ready, like
    /// `AsyncResult.wait(timeout)`; returns whether it is.
    pub fn wait_timeout(&self, timeout: Duration) -> Result<bool> {
        let mut inner = lock(&self.claim.inner);
        let deadline = Instant::now().checked_add(timeout);
        inner.wait(self.claim.batch, deadline, self.done)?;
        Ok(inner
            .batches
            .get(&self.claim.batch)
            .is_none_or(|b| (self.done)(b)))
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
}
