//! [`Pool`]: long-lived worker processes that run tasks, like Python's
//! `multiprocessing.Pool`.
//!
//! # How it works
//!
//! Each worker has two pipes: jobs go down one (a function and a chunk of
//! arguments, encoded one after another in one buffer), and one answer per
//! job comes back up the other (every result, or an outcome per item when
//! one failed; see `chunk.rs`). Whoever waits for a result (`map`,
//! `AsyncResult::get`, an `imap` iterator) drives the pool: it hands queued
//! jobs to idle workers and `poll`s the busy workers' pipes, routing each
//! answer to the call it belongs to. Work queued without waiting
//! (`apply_async`, `map_async`, `imap`) is moved meanwhile by a driver
//! thread, started for it and ended once the pool is idle (see `driver.rs`,
//! which also says how it lives with fork); a program that only calls `map`
//! has none. A pipe that closes while its worker has a job means the worker
//! died; it is reaped at once and replaced, its current item fails with the
//! exit code or signal, and the rest of its job goes back to the queue.
//! A worker that sends what cannot be an answer (its task wrote into the
//! pipe) is killed and replaced, and the job whose answer was due fails
//! with [`Error::Codec`]. Nothing ever waits for a worker that cannot
//! answer, so nothing hangs.
//!
//! # Where the time goes, and what keeps it down
//!
//! - **Small tasks** cost system calls and wake-ups, not work: a worker is
//!   sent about a millisecond of jobs ahead (up to 64, at least 2; see
//!   `Worker::paced`) and reads them through a buffer (see `worker_loop.rs`), so
//!   it rarely runs dry and waits to be woken.
//! - **Many items** cost encoding and memory: one buffer per job,
//!   integers encoded and decoded at their fixed width in one pass (see
//!   `item.rs`). A blocking `map` makes its jobs as the workers take them
//!   and decodes its answers into the output as they come, so that the
//!   memory of an answered job or a decoded answer serves the next one
//!   rather than fresh pages faulted in and given back (see
//!   `blocking.rs`, `spare.rs`).
//! - **Large byte vectors** cost copies and page faults. An input vector is
//!   attached to its job rather than copied into it, handed to a forked
//!   worker's pipe as pages (`vmsplice`) and read by the worker straight
//!   into a vector of its own just before its task runs, so that memory
//!   freed by one task is reused for the next (see `job.rs`,
//!   `vectors.rs`); a large result goes from the worker's own vector to a
//!   forked worker's pipe as pages (see `lent.rs`) and is read into a
//!   buffer that becomes the caller's, its pages faulted in with one call
//!   (see `chunk.rs`, `Worker::read_available`).
//!
//! # Where things are
//!
//! - this file: [`Pool`], its public API, and how it is dropped;
//! - `builder.rs`: [`PoolBuilder`], the settings;
//! - `results.rs`: [`AsyncResult`] and [`Imap`], what a caller holds while
//!   work runs, each with a `Claim` on its batch;
//! - `scheduler.rs`: the parent's bookkeeping (`Inner`): the queue, sending
//!   ahead, routing outcomes, deaths, termination;
//! - `state_lock.rs`: that bookkeeping as the handles share it, behind a lock
//!   the driver lets go of when another thread wants it;
//! - `driver.rs`: the thread that moves queued work in the background, and
//!   runs callbacks;
//! - `blocking.rs`: a blocking call's work (`map`, `starmap`, `apply`);
//! - `spare.rs`: buffers kept for reuse;
//! - `worker.rs`: the parent's handle on one worker process;
//! - `job.rs`: a job, the items one worker is sent at once (large byte
//!   vectors attached, not copied);
//! - `worker_loop.rs`: the worker process's side, its loop over jobs;
//! - `lent.rs`: a worker's large results lent to its pipe as pages, kept
//!   until the parent has read them;
//! - `chunk.rs`: a chunk's items and answer, and the typed code on both
//!   sides (no allocation per item);
//! - `item.rs`: one item's encoding (`Vec<u8>` copied whole, integers at
//!   their fixed width, the rest through postcard);
//! - `wire.rs`: the frames that cross the pipes, and how a worker reads
//!   them;
//! - `vectors.rs`: how a worker reads a job of large byte vectors, a few
//!   at a time as its tasks run.

use state_lock::{Shared, lock};
use std::sync::Arc;
mod answer;
mod batch;
mod blocking;
mod builder;
mod chunk;
mod dispatch;
mod driver;
mod item;
mod job;
mod lent;
mod registry;
mod results;
mod scheduler;
mod spare;
mod state_lock;
mod vectors;
mod wire;
mod worker;
pub(crate) mod worker_loop;

use crate::error::{Error, Result};
use crate::sys::{ErasedFn, SigintGuard};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::time::{Duration, Instant};

use batch::{Batch, OnDone};
pub use builder::PoolBuilder;
use job::Items;
pub use results::{AsyncResult, Imap};
use results::{Claim, Feeder};
use scheduler::{DROP_GRACE, State};

/// A pool of worker processes, like `multiprocessing.Pool`.
///
/// The workers are started (by fork, spawn or the fork server) when the pool is built and live until it is
/// closed, running task after task and call after call (or, with
/// [`PoolBuilder::maxtasksperchild`], until they have run that many jobs).
/// Arguments and results cross pipes as serde data; the function crosses as
/// an address, which is why it must be a plain `fn` (a closure that captures
/// nothing coerces to one), just as Python's pool needs a function it can
/// pickle by name.
///
/// ```
/// use common::Pool;
///
/// fn square(n: u64) -> u64 {
///     n * n
/// }
///
/// let mut pool = Pool::new(2)?;
/// assert_eq!(pool.map(square, 1..=4)?, [1, 4, 9, 16]);
/// # Ok::<(), common::Error>(())
/// ```
///
/// # Failures
///
/// - A task that panics fails with [`Error::TaskPanicked`], naming the item;
///   the worker lives on, as Python's does after an exception.
/// - A worker that dies mid-task (killed, aborted, `exit`) fails that item
///   with [`Error::WorkerDied`], naming the item, the pid and the exit code
///   or signal, and is replaced. It never hangs, where Python's pool waits
///   forever (cpython gh-66587).
/// - A result that cannot be decoded fails that item with [`Error::Codec`].
/// - `map` and `starmap` return the first failure at once; items of that
///   call still running finish in the background and are discarded.
/// - SIGINT (Ctrl-C) while waiting terminates the workers and returns
///   [`Error::Interrupted`]; the workers ignore SIGINT themselves, so the
///   terminal shows no message per worker.
/// - Dropping the pool closes it, lets queued work finish and the workers
///   exit for up to five seconds, then kills what is left and reaps every
///   worker. Python's `with` block terminates instead, losing queued work
///   (cpython gh-74140).
/// - If the parent is killed, even by SIGKILL, the kernel kills its workers.
/// - A worker that died while the pool was idle is replaced before the next
///   call; no item fails for it.
/// - Dropping an [`AsyncResult`] discards its result but not its task, which
///   still runs (Python's fire-and-forget `apply_async`, then `close` and
///   `join`); dropping an [`Imap`] early also withdraws the items not yet
///   started.
///
/// # Threads
///
/// A pool is `Send` and `Sync`: it can be moved to another thread, or
/// shared (behind an `Arc<Mutex<Pool>>`, since its calls take `&mut self`),
/// and its [`AsyncResult`]s waited on from other threads. Its state is
/// behind a mutex; whoever waits for a result drives the pool while holding
/// it. A pool created with the default start method in a process that has
/// threads starts its workers by the fork server (see
/// [`get_start_method`](crate::get_start_method)).
///
/// ```
/// fn square(n: u64) -> u64 {
///     n * n
/// }
///
/// let mut pool = common::Pool::new(2)?;
/// let squares = std::thread::spawn(move || pool.map(square, [1, 2, 3]))
///     .join()
///     .expect("the thread ends");
/// assert_eq!(squares?, [1, 4, 9]);
/// # Ok::<(), common::Error>(())
/// ```
pub struct Pool {
    inner: Shared,
}

impl Pool {
    /// A pool of `processes` workers, like `Pool(processes=n)`.
    ///
    /// # Errors
    ///
    /// As [`PoolBuilder::build`].
    ///
    /// ```
    /// assert_eq!(common::Pool::new(2)?.processes(), 2);
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn new(processes: usize) -> Result<Pool> {
        Pool::builder().processes(processes).build()
    }

    /// A pool with one worker per CPU, like `Pool()`.
    ///
    /// ```
    /// assert_eq!(common::Pool::with_cpus()?.processes(), common::cpu_count());
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn with_cpus() -> Result<Pool> {
        Pool::builder().build()
    }

    /// Settings beyond the size: initializer, maxtasksperchild.
    ///
    /// ```
    /// let pool = common::Pool::builder().processes(1).build()?;
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn builder() -> PoolBuilder {
        PoolBuilder::default()
    }

    /// How many workers the pool has.
    ///
    /// ```
    /// assert_eq!(common::Pool::new(1)?.processes(), 1);
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn processes(&self) -> usize {
        lock(&self.inner).registry.workers.len()
    }

    /// The workers' process ids.
    ///
    /// ```
    /// let pool = common::Pool::new(2)?;
    /// assert_eq!(pool.pids().len(), 2);
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn pids(&self) -> Vec<u32> {
        lock(&self.inner).registry.pids()
    }

    /// Applies `func` to every item in worker processes and returns the
    /// results in input order, like `Pool.map`.
    ///
    /// Items are sent in chunks of `ceil(len / (4 * processes))`, Python's
    /// default, each to the next idle worker. The input is read as the
    /// workers take its chunks, not all at first (an input that does not
    /// say its length is collected first: the chunk size needs it, as
    /// Python's `map` needs `list(iterable)`).
    ///
    /// # Errors
    ///
    /// The first item to fail ([`Error::TaskPanicked`],
    /// [`Error::WorkerDied`], [`Error::Codec`]), or [`Error::Interrupted`],
    /// or [`Error::PoolNotRunning`] after `close` or `terminate`.
    ///
    /// ```
    /// fn square(n: i64) -> i64 {
    ///     n * n
    /// }
    ///
    /// let mut pool = common::Pool::new(4)?;
    /// assert_eq!(pool.map(square, 1..=5)?, [1, 4, 9, 16, 25]);
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn map<A, R>(
        &mut self,
        func: fn(A) -> R,
        items: impl IntoIterator<Item = A>,
    ) -> Result<Vec<R>>
    where
        A: Serialize + DeserializeOwned + 'static,
        R: Serialize + DeserializeOwned + 'static,
    {
        self.map_chunked(func, items, None)
    }

    /// [`map`](Pool::map) with Python's `chunksize`: how many items a worker
    /// is sent at a time (`None`: Python's default). Small chunks balance
    /// uneven tasks across workers; large ones cost fewer messages.
    ///
    /// ```
    /// fn square(n: i64) -> i64 {
    ///     n * n
    /// }
    ///
    /// let mut pool = common::Pool::new(2)?;
    /// assert_eq!(pool.map_chunked(square, 1..=3, Some(1))?, [1, 4, 9]);
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn map_chunked<A, R>(
        &mut self,
        func: fn(A) -> R,
        items: impl IntoIterator<Item = A>,
        chunksize: Option<usize>,
    ) -> Result<Vec<R>>
    where
        A: Serialize + DeserializeOwned + 'static,
        R: Serialize + DeserializeOwned + 'static,
    {
        self.run_all(chunk::erase(func), Items::new(items), chunksize)
    }

    /// Like [`map`](Pool::map) for a two-argument function, each item a
    /// tuple of its arguments, like `Pool.starmap`.
    ///
    /// ```
    /// fn power(base: u64, exponent: u32) -> u64 {
    ///     base.pow(exponent)
    /// }
    ///
    /// let mut pool = common::Pool::new(2)?;
    /// assert_eq!(pool.starmap(power, [(2, 3), (3, 2)])?, [8, 9]);
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn starmap<A, B, R>(
        &mut self,
        func: fn(A, B) -> R,
        items: impl IntoIterator<Item = (A, B)>,
    ) -> Result<Vec<R>>
    where
        A: Serialize + DeserializeOwned + 'static,
        B: Serialize + DeserializeOwned + 'static,
        R: Serialize + DeserializeOwned + 'static,
    {
        self.run_all(chunk::erase_pair(func), Items::new(items), None)
    }

    /// A lazy [`map`](Pool::map): yields each result, in input order, as
    /// soon as it and those before it are done, like `Pool.imap`. Items are
    /// sent one at a time unless `chunksize` says otherwise (Python's
    /// default too). A failed item yields its error and iteration goes on.
    ///
    /// ```
    /// fn square(n: i64) -> i64 {
    ///     n * n
    /// }
    ///
    /// let mut pool = common::Pool::new(2)?;
    /// for (index, result) in pool.imap(square, 1..=3, None)? {
    ///     assert_eq!(result?, (index as i64 + 1).pow(2));
    /// }
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn imap<'a, A, R>(
        &mut self,
        func: fn(A) -> R,
        items: impl IntoIterator<Item = A, IntoIter: Send + 'a>,
        chunksize: Option<usize>,
    ) -> Result<Imap<'a, R>>
    where
        A: Serialize + DeserializeOwned + 'static,
        R: Serialize + DeserializeOwned + 'static,
    {
        self.imap_with(func, items, chunksize, true)
    }

    /// Like [`imap`](Pool::imap), but yields results in the order they
    /// complete, like `Pool.imap_unordered`. Each is `(index, result)`.
    ///
    /// ```
    /// fn square(n: i64) -> i64 {
    ///     n * n
    /// }
    ///
    /// let mut pool = common::Pool::new(2)?;
    /// let mut results: Vec<i64> = pool
    ///     .imap_unordered(square, 1..=3, None)?
    ///     .map(|(_, r)| r)
    ///     .collect::<Result<_, _>>()?;
    /// results.sort();
    /// assert_eq!(results, [1, 4, 9]);
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn imap_unordered<'a, A, R>(
        &mut self,
        func: fn(A) -> R,
        items: impl IntoIterator<Item = A, IntoIter: Send + 'a>,
        chunksize: Option<usize>,
    ) -> Result<Imap<'a, R>>
    where
        A: Serialize + DeserializeOwned + 'static,
        R: Serialize + DeserializeOwned + 'static,
    {
        self.imap_with(func, items, chunksize, false)
    }

    /// Runs `func(arg)` in a worker and waits for it, like `Pool.apply`.
    ///
    /// ```
    /// fn square(n: i64) -> i64 {
    ///     n * n
    /// }
    ///
    /// assert_eq!(common::Pool::new(1)?.apply(square, 12)?, 144);
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn apply<A, R>(&mut self, func: fn(A) -> R, arg: A) -> Result<R>
    where
        A: Serialize + DeserializeOwned + 'static,
        R: Serialize + DeserializeOwned + 'static,
    {
        // A one-item `map`, so that Ctrl-C is caught from the moment the
        // job is sent (see `run_all`).
        let mut results = self.run_all(chunk::erase(func), (std::iter::once(arg), 1), Some(1))?;
        Ok(results.pop().expect("one item, one result"))
    }

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
        let claim = self.claim(batch, false);
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
        let claim = self.claim(batch, false);
        inner.dispatch()?;
        driver::ensure(&self.inner, &mut inner);
        Ok(AsyncResult {
            claim,
            done: batch::answered_or_failed,
            finish: batch::collect::<R>,
        })
    }

    /// Takes no more work, like `Pool.close`; queued work still runs, and
    /// the workers exit once it is done.
    ///
    /// ```
    /// fn square(n: i64) -> i64 {
    ///     n * n
    /// }
    ///
    /// let mut pool = common::Pool::new(1)?;
    /// pool.close();
    /// assert!(matches!(pool.map(square, [1]), Err(common::Error::PoolNotRunning)));
    /// pool.join()?;
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn close(&mut self) {
        let mut inner = lock(&self.inner);
        if inner.state == State::Running {
            inner.state = State::Closed;
        }
    }

    /// Stops the workers now, like `Pool.terminate`: SIGTERM, then SIGKILL
    /// for any still alive a second later, and reaps them. Unfinished items
    /// fail with [`Error::Terminated`]. Never hangs.
    ///
    /// ```
    /// let mut pool = common::Pool::new(2)?;
    /// pool.terminate();
    /// pool.join()?;
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn terminate(&mut self) {
        lock(&self.inner).terminate();
    }

    /// Waits for the workers to exit, like `Pool.join`: after `close`, once
    /// queued work is done; after `terminate`, at once.
    ///
    /// # Errors
    ///
    /// [`Error::PoolStillRunning`] if neither `close` nor `terminate` came
    /// first; [`Error::Interrupted`] on SIGINT.
    ///
    /// ```
    /// let mut pool = common::Pool::new(1)?;
    /// assert!(matches!(pool.join(), Err(common::Error::PoolStillRunning)));
    /// pool.close();
    /// pool.join()?;
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn join(&mut self) -> Result<()> {
        let mut inner = lock(&self.inner);
        if inner.state == State::Running {
            return Err(Error::PoolStillRunning);
        }
        inner.finish(None)
    }

    fn claim(&self, batch: u64, withdraw: bool) -> Claim {
        Claim {
            inner: Arc::clone(&self.inner),
            batch,
            withdraw,
        }
    }

    fn run_all<A: Serialize + 'static, R: DeserializeOwned + 'static>(
        &mut self,
        func: ErasedFn,
        items: (impl Iterator<Item = A>, usize),
        chunksize: Option<usize>,
    ) -> Result<Vec<R>> {
        let mut inner = lock(&self.inner);
        // Ctrl-C is caught from the first job sent: a worker may start on it,
        // and the user press Ctrl-C, at once.
        let sigint = SigintGuard::install()?;
        blocking::run_all(&mut inner, func, items, chunksize, &sigint)
    }

    fn imap_with<'a, A, R>(
        &mut self,
        func: fn(A) -> R,
        items: impl IntoIterator<Item = A, IntoIter: Send + 'a>,
        chunksize: Option<usize>,
        ordered: bool,
    ) -> Result<Imap<'a, R>>
    where
        A: Serialize + DeserializeOwned + 'static,
        R: Serialize + DeserializeOwned + 'static,
    {
        let chunksize = chunksize.unwrap_or(1).max(1);
        let func = chunk::erase(func);
        let mut inner = lock(&self.inner);
        let batch = inner.submit(func, std::iter::empty::<A>(), 0, Some(chunksize))?;
        let workers = inner.registry.workers.len();
        drop(inner);
        let mut items = items.into_iter();
        let mut start = 0;
        let feeder: Feeder<'a> = Box::new(move || {
            let job = job::next_job(&mut items, Vec::new(), batch, func, start, chunksize);
            if let Some(Ok(job)) = &job {
                start += job.len();
            }
            job
        });
        Ok(Imap {
            claim: self.claim(batch, true),
            next: 0,
            yielded: 0,
            submitted: 0,
            chunksize,
            ahead: 2 * workers * chunksize,
            feeder: Some(feeder),
            unsent: None,
            ordered,
            ready: std::collections::VecDeque::new(),
        })
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        driver::stop(&self.inner);
        let mut inner = lock(&self.inner);
        if inner.state == State::Running {
            inner.state = State::Closed;
        }
        // Bounded: queued work gets DROP_GRACE, then what is left is killed.
        let _ = inner.finish(Some(Instant::now() + DROP_GRACE));
        for worker in &mut inner.registry.workers {
            worker.reap_within(Duration::ZERO);
        }
    }
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool").field("pids", &self.pids()).finish()
    }
}
