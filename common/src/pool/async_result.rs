//! [`AsyncResult`]: work queued without waiting (`apply_async`,
//! `map_async`, `starmap_async`, their `try_` forms, and their callbacks),
//! and the handle a caller holds while it runs. The pool's driver moves such work in the
//! background (see `driver`).

use std::time::{Duration, Instant};

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::batch::{self, Batch, OnDone};
use super::job::Items;
use super::state_lock::{Claim, lock};
use super::{Pool, chunk, driver};
use crate::error::{Error, Result};
use crate::sys::{ErasedFn, Function, sendable};

/// The pending result of [`Pool::apply_async`](crate::Pool::apply_async)
/// or [`Pool::map_async`](crate::Pool::map_async), like Python's
/// `AsyncResult`; [`callback`](AsyncResult::callback) and
/// [`error_callback`](AsyncResult::error_callback) give it Python's
/// `callback=` and `error_callback=`.
///
/// It shares the pool: waiting on it drives the pool's work. Dropping it
/// discards the result, not the task, which still runs (and its callbacks
/// with it), as Python's fire-and-forget `apply_async`.
pub struct AsyncResult<R> {
    pub(super) claim: Claim,
    /// Whether its batch is done: every item answered (one item's call), or
    /// that or a failure (a map's).
    pub(super) done: fn(&Batch) -> bool,
    /// Its value, from its done batch.
    pub(super) finish: fn(Batch) -> Result<R>,
    /// Its value, copied from its done batch for a callback.
    pub(super) peek: fn(&Batch) -> Result<R>,
}

impl Pool {
    /// Queues `func(args)` (`func(a, b)` for `args` `(a, b)`, see
    /// [`apply`](Pool::apply)) for a worker and returns at once, like
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
    pub fn apply_async<F, Args, M, R>(&mut self, func: F, args: Args) -> Result<AsyncResult<R>>
    where
        F: Function<Args, M, Output = R>,
        Args: Serialize + DeserializeOwned + 'static,
        R: Serialize + DeserializeOwned + 'static,
    {
        self.submit_one(chunk::erase(sendable(func)?), args)
    }

    /// [`apply_async`](Pool::apply_async) for a task that returns
    /// `Result`: its error is [`Error::TaskFailed`] (see
    /// [`try_map`](Pool::try_map)).
    pub fn try_apply_async<F, Args, M, R, E>(
        &mut self,
        func: F,
        args: Args,
    ) -> Result<AsyncResult<R>>
    where
        F: Function<Args, M, Output = std::result::Result<R, E>>,
        Args: Serialize + DeserializeOwned + 'static,
        R: Serialize + DeserializeOwned + 'static,
        E: Serialize + std::fmt::Display + 'static,
    {
        self.submit_one(chunk::erase_fallible(sendable(func)?), args)
    }

    fn submit_one<A, R>(&mut self, func: ErasedFn, arg: A) -> Result<AsyncResult<R>>
    where
        A: Serialize + 'static,
        R: DeserializeOwned + 'static,
    {
        let mut inner = lock(&self.inner);
        let batch = inner.submit(func, std::iter::once(arg), 1, Some(1))?;
        // Sent at once to a worker with room; the driver moves the rest while
        // the caller does other things.
        let claim = Claim::new(&self.inner, batch, false);
        inner.dispatch()?;
        driver::ensure(&self.inner, &mut inner);
        Ok(AsyncResult {
            claim,
            done: batch::all_answered,
            finish: batch::first::<R>,
            peek: batch::peek_first::<R>,
        })
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
    /// let squares = pool.map_async(square, 1..=4)?;
    /// assert_eq!(squares.get()?, [1, 4, 9, 16]);
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn map_async<A, R>(
        &mut self,
        func: fn(A) -> R,
        items: impl IntoIterator<Item = A>,
    ) -> Result<AsyncResult<Vec<R>>>
    where
        A: Serialize + DeserializeOwned + 'static,
        R: Serialize + DeserializeOwned + 'static,
    {
        self.submit_async(chunk::erase(func), Items::new(items), None)
    }

    /// [`map_async`](Pool::map_async) for a task that returns `Result`
    /// (see [`try_map`](Pool::try_map)).
    pub fn try_map_async<A, R, E>(
        &mut self,
        func: fn(A) -> std::result::Result<R, E>,
        items: impl IntoIterator<Item = A>,
    ) -> Result<AsyncResult<Vec<R>>>
    where
        A: Serialize + DeserializeOwned + 'static,
        R: Serialize + DeserializeOwned + 'static,
        E: Serialize + std::fmt::Display + 'static,
    {
        self.submit_async(chunk::erase_fallible(func), Items::new(items), None)
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
    pub fn starmap_async<F, Args, M, R>(
        &mut self,
        func: F,
        items: impl IntoIterator<Item = Args>,
    ) -> Result<AsyncResult<Vec<R>>>
    where
        F: Function<Args, M, Output = R>,
        Args: Serialize + DeserializeOwned + 'static,
        R: Serialize + DeserializeOwned + 'static,
    {
        self.submit_async(chunk::erase(sendable(func)?), Items::new(items), None)
    }

    /// [`starmap_async`](Pool::starmap_async) for a task that returns
    /// `Result` (see [`try_map`](Pool::try_map)).
    pub fn try_starmap_async<F, Args, M, R, E>(
        &mut self,
        func: F,
        items: impl IntoIterator<Item = Args>,
    ) -> Result<AsyncResult<Vec<R>>>
    where
        F: Function<Args, M, Output = std::result::Result<R, E>>,
        Args: Serialize + DeserializeOwned + 'static,
        R: Serialize + DeserializeOwned + 'static,
        E: Serialize + std::fmt::Display + 'static,
    {
        self.submit_async(
            chunk::erase_fallible(sendable(func)?),
            Items::new(items),
            None,
        )
    }

    /// Queues `func` over `items` in chunks of `chunksize` (`None`:
    /// Python's default).
    pub(super) fn submit_async<A: Serialize + 'static, R: DeserializeOwned + 'static>(
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
            peek: batch::peek_all::<R>,
        })
    }
}

impl<R: DeserializeOwned + Send + 'static> AsyncResult<R> {
    /// Gives the result to `callback` once the task is done, if it
    /// succeeded, like `apply_async(..., callback=f)` (for a map, every
    /// result in order: `&Vec<R>`); returns the handle, which still gives
    /// the result too and may be dropped.
    ///
    /// A callback runs in this process, on the pool's driver thread when
    /// the task finished while nobody waited on the pool, else on the
    /// thread that was waiting (in a `get`, `map`, `join`...), right after
    /// that call lets go of the pool; never while the pool is locked, so a
    /// callback may use the pool. One that panics is ended there.
    ///
    /// ```
    /// use std::sync::{Arc, Mutex};
    ///
    /// fn square(n: u64) -> u64 {
    ///     n * n
    /// }
    ///
    /// let results = Arc::new(Mutex::new(Vec::new()));
    /// let mut pool = common::Pool::new(2)?;
    /// for n in 1..=3 {
    ///     let results = Arc::clone(&results);
    ///     pool.apply_async(square, n)?
    ///         .callback(move |r| results.lock().expect("not poisoned").push(*r));
    /// }
    /// pool.close();
    /// pool.join()?;
    /// results.lock().expect("not poisoned").sort();
    /// assert_eq!(*results.lock().expect("not poisoned"), [1, 4, 9]);
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn callback(self, callback: impl FnOnce(&R) + Send + 'static) -> Self {
        let peek = self.peek;
        self.on_done(Box::new(move |batch: &mut Batch| {
            let value = if batch.failed { None } else { peek(batch).ok() };
            Box::new(move || {
                if let Some(value) = value {
                    callback(&value);
                }
            })
        }));
        self
    }
}

impl<R: 'static> AsyncResult<R> {
    /// Gives the error to `error_callback` once the task is done, if it
    /// failed, like `apply_async(..., error_callback=f)` (for a map, the
    /// first failure); returns the handle. It runs as
    /// [`callback`](AsyncResult::callback)s do.
    ///
    /// ```
    /// fn fail(n: u32) -> u32 {
    ///     panic!("no {n} today")
    /// }
    ///
    /// let (tx, rx) = std::sync::mpsc::channel();
    /// let mut pool = common::Pool::new(1)?;
    /// pool.apply_async(fail, 7)?
    ///     .error_callback(move |e| tx.send(e.to_string()).expect("listening"));
    /// assert!(rx.recv().expect("the callback ran").starts_with("no 7 today"));
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn error_callback(self, error_callback: impl FnOnce(&Error) + Send + 'static) -> Self {
        let peek = self.peek;
        self.on_done(Box::new(move |batch: &mut Batch| {
            let error = if batch.failed {
                peek(batch).err()
            } else {
                None
            };
            Box::new(move || {
                if let Some(error) = error {
                    error_callback(&error);
                }
            })
        }));
        self
    }

    /// Gives its batch `run`, to run once it is done (now, if it is).
    fn on_done(&self, run: OnDone) {
        let mut inner = lock(&self.claim.inner);
        let Some(b) = inner.batches.get_mut(&self.claim.batch) else {
            return;
        };
        if (self.done)(b) {
            // Already done (as the lock was let go): it runs now, after it.
            let callback = run(b);
            inner.callbacks.push(callback);
        } else {
            b.on_done
                .get_or_insert_with(|| (self.done, Vec::new()))
                .1
                .push(run);
        }
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
