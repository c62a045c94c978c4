//! [`Pool`]: long-lived worker processes that run tasks, like Python's
//! `multiprocessing.Pool`.
//!
//! # How it works
//!
//! The pool has no thread of its own. Each worker has two pipes: jobs go
//! down one (a function and a chunk of encoded arguments), and one outcome
//! per item comes back up the other. Whoever waits for a result (`map`,
//! `AsyncResult::get`, an `imap` iterator) drives the pool: it hands queued
//! jobs to idle workers and `poll`s the busy workers' pipes, routing each
//! outcome to the call it belongs to. A pipe that closes while its worker
//! has a job means the worker died; it is reaped at once and replaced, its
//! current item fails with the exit code or signal, and the rest of its job
//! goes back to the queue. Nothing ever waits for a worker that cannot
//! answer, so nothing hangs.

use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::fs::File;
use std::io::{Read, Write};
use std::marker::PhantomData;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::panic::{self, AssertUnwindSafe};
use std::rc::Rc;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::error::{Ended, Error, Result};
use crate::frame;
use crate::log;
use crate::start::{self, StartMethod, Work, get_start_method};
use crate::sys::{self, ErasedFn, SigintGuard, Slots};

/// How long [`Drop`] lets queued work finish and workers exit before it
/// kills them.
const DROP_GRACE: Duration = Duration::from_secs(5);

/// How many jobs a worker may have been sent ahead of its answers: the next
/// job is already in its pipe when it finishes one, so it does not sit idle
/// while the parent reads the answer and sends more.
const PIPELINE: usize = 4;

/// The largest job sent ahead. A worker reads its current job whole before
/// it works and answers, so what waits in its pipe is only jobs sent ahead:
/// at most `(PIPELINE - 1) * AHEAD_LIMIT` bytes, which fits in a pipe (64
/// KiB on Linux). The parent's write then never blocks while the worker is
/// blocked writing answers the parent is not reading, which would deadlock.
const AHEAD_LIMIT: usize = 16 * 1024;

/// How long a worker may take to end after SIGTERM, or after its pipe
/// closed, before it is killed.
const KILL_GRACE: Duration = Duration::from_secs(1);

/// A job as sent to a worker.
#[derive(Serialize)]
struct JobOut<'a> {
    func: ErasedFn,
    items: &'a [Vec<u8>],
}

/// A job as a worker receives it (the same bytes as [`JobOut`]).
#[derive(Deserialize)]
struct JobIn {
    func: ErasedFn,
    items: Vec<Vec<u8>>,
}

/// What a worker sends back for each item of a job, in order.
#[derive(Serialize, Deserialize)]
enum Outcome {
    Done(Vec<u8>),
    Panicked(String),
    Codec(String),
}

/// A pool of worker processes, like `multiprocessing.Pool`.
///
/// The workers are forked when the pool is built and live until it is
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
pub struct Pool {
    inner: Rc<RefCell<Inner>>,
}

/// Settings for a [`Pool`], as Python's `Pool(...)` takes them by keyword.
///
/// ```
/// use common::Pool;
///
/// fn warm_up() {}
///
/// let pool = Pool::builder().processes(2).initializer(warm_up).maxtasksperchild(100).build()?;
/// assert_eq!(pool.processes(), 2);
/// # Ok::<(), common::Error>(())
/// ```
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct PoolBuilder {
    processes: Option<usize>,
    start_method: Option<StartMethod>,
    initializer: Option<fn()>,
    maxtasksperchild: Option<usize>,
}

impl PoolBuilder {
    /// How many workers (default: one per CPU), like `processes=`.
    ///
    /// ```
    /// assert_eq!(common::Pool::builder().processes(3).build()?.processes(), 3);
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn processes(mut self, processes: usize) -> PoolBuilder {
        self.processes = Some(processes);
        self
    }

    /// How the workers are started (default: [`get_start_method`]), like
    /// `multiprocessing.get_context(method).Pool(...)`.
    ///
    /// ```
    /// fn double(n: u32) -> u32 {
    ///     n * 2
    /// }
    ///
    /// let mut pool = common::Pool::builder()
    ///     .processes(2)
    ///     .start_method(common::StartMethod::Spawn)
    ///     .build()?;
    /// assert_eq!(pool.map(double, [1, 2])?, [2, 4]);
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn start_method(mut self, method: StartMethod) -> PoolBuilder {
        self.start_method = Some(method);
        self
    }

    /// A function each worker runs once when it starts, like `initializer=`.
    ///
    /// ```
    /// fn announce() {
    ///     eprintln!("worker {} ready", std::process::id());
    /// }
    ///
    /// let pool = common::Pool::builder().processes(1).initializer(announce).build()?;
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn initializer(mut self, initializer: fn()) -> PoolBuilder {
        self.initializer = Some(initializer);
        self
    }

    /// Replace each worker after it has run this many jobs (chunks), like
    /// `maxtasksperchild=`.
    ///
    /// ```
    /// fn pid(_: u32) -> u32 {
    ///     std::process::id()
    /// }
    ///
    /// let mut pool = common::Pool::builder().processes(1).maxtasksperchild(1).build()?;
    /// let pids = pool.map_chunked(pid, [0, 1], Some(1))?;
    /// assert_ne!(pids[0], pids[1], "a fresh worker for each job");
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn maxtasksperchild(mut self, jobs: usize) -> PoolBuilder {
        self.maxtasksperchild = Some(jobs.max(1));
        self
    }

    /// Starts the workers.
    ///
    /// # Errors
    ///
    /// [`Error::NoWorkers`] for 0 processes, [`Error::MultiThreaded`] when
    /// the caller has other threads, [`Error::Os`] when a pipe or fork fails.
    ///
    /// ```
    /// assert!(common::Pool::builder().processes(0).build().is_err());
    /// ```
    pub fn build(self) -> Result<Pool> {
        let processes = self.processes.unwrap_or_else(num_cpus::get);
        if processes == 0 {
            return Err(Error::NoWorkers(processes));
        }
        let method = match self.start_method {
            Some(method) => method,
            None => get_start_method()?,
        };
        let mut inner = Inner {
            method,
            workers: Vec::with_capacity(processes),
            queue: VecDeque::new(),
            batches: HashMap::new(),
            next_batch: 0,
            state: State::Running,
            initializer: self.initializer,
            maxtasksperchild: self.maxtasksperchild,
            spawned: 0,
            progress: Slots::new(processes)?,
        };
        for slot in 0..processes {
            let worker = inner.spawn_worker(slot)?;
            inner.workers.push(worker);
        }
        Ok(Pool {
            inner: Rc::new(RefCell::new(inner)),
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Running,
    Closed,
    Terminated,
}

struct Inner {
    method: StartMethod,
    workers: Vec<Worker>,
    /// Jobs waiting for an idle worker.
    queue: VecDeque<Job>,
    /// The results of each call, by batch number.
    batches: HashMap<u64, Batch>,
    next_batch: u64,
    state: State,
    initializer: Option<fn()>,
    maxtasksperchild: Option<usize>,
    spawned: usize,
    /// How far each worker (by slot) is into its current job.
    progress: Slots,
}

/// Consecutive items of a batch, for one worker: `items[k]` is input item
/// `start + k`.
struct Job {
    batch: u64,
    func: ErasedFn,
    start: usize,
    items: Vec<Vec<u8>>,
}

impl Job {
    /// The input indices of its items.
    fn indices(&self) -> std::ops::Range<usize> {
        self.start..self.start + self.items.len()
    }
}

/// The results of one call: a slot per item, filled as outcomes arrive.
struct Batch {
    slots: Vec<Option<Result<Vec<u8>>>>,
    /// Items in the order they completed, for `imap_unordered`.
    completed: VecDeque<usize>,
    /// Items not completed yet.
    outstanding: usize,
    /// Whether some item failed.
    failed: bool,
}

struct Worker {
    pid: Pid,
    /// Its counter in [`Inner::progress`].
    slot: usize,
    /// `None` once closed, which tells the worker to exit.
    tasks: Option<File>,
    results: File,
    /// The jobs sent to it and not answered yet, oldest (the one it is
    /// running) first; at most [`PIPELINE`].
    jobs: VecDeque<Job>,
    jobs_done: usize,
    /// Set once the worker has been reaped: its pid may then be reused by an
    /// unrelated process, so it must never be signalled or waited for again.
    ended: Option<Ended>,
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
        self.inner.borrow().workers.len()
    }

    /// The workers' process ids.
    ///
    /// ```
    /// let pool = common::Pool::new(2)?;
    /// assert_eq!(pool.pids().len(), 2);
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn pids(&self) -> Vec<u32> {
        self.inner
            .borrow()
            .workers
            .iter()
            .map(Worker::pid_u32)
            .collect()
    }

    /// Applies `func` to every item in worker processes and returns the
    /// results in input order, like `Pool.map`.
    ///
    /// Items are sent in chunks of `ceil(len / (4 * processes))`, Python's
    /// default, each to the next idle worker.
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
        A: Serialize + DeserializeOwned,
        R: Serialize + DeserializeOwned,
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
        A: Serialize + DeserializeOwned,
        R: Serialize + DeserializeOwned,
    {
        self.run_all(ErasedFn::new(func), encode_all(items)?, chunksize)
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
        A: Serialize + DeserializeOwned,
        B: Serialize + DeserializeOwned,
        R: Serialize + DeserializeOwned,
    {
        self.run_all(ErasedFn::pair(func), encode_all(items)?, None)
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
    pub fn imap<A, R>(
        &mut self,
        func: fn(A) -> R,
        items: impl IntoIterator<Item = A>,
        chunksize: Option<usize>,
    ) -> Result<Imap<R>>
    where
        A: Serialize + DeserializeOwned,
        R: Serialize + DeserializeOwned,
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
    pub fn imap_unordered<A, R>(
        &mut self,
        func: fn(A) -> R,
        items: impl IntoIterator<Item = A>,
        chunksize: Option<usize>,
    ) -> Result<Imap<R>>
    where
        A: Serialize + DeserializeOwned,
        R: Serialize + DeserializeOwned,
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
        A: Serialize + DeserializeOwned,
        R: Serialize + DeserializeOwned,
    {
        self.apply_async(func, arg)?.get()
    }

    /// Queues `func(arg)` for a worker and returns at once, like
    /// `Pool.apply_async`. The result is fetched from the handle.
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
        A: Serialize + DeserializeOwned,
        R: Serialize + DeserializeOwned,
    {
        let batch =
            self.inner
                .borrow_mut()
                .submit(ErasedFn::new(func), encode_all([arg])?, Some(1))?;
        Ok(AsyncResult {
            claim: self.claim(batch),
            _result: PhantomData,
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
        let mut inner = self.inner.borrow_mut();
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
        self.inner.borrow_mut().terminate();
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
        let mut inner = self.inner.borrow_mut();
        if inner.state == State::Running {
            return Err(Error::PoolStillRunning);
        }
        inner.finish(None)
    }

    fn claim(&self, batch: u64) -> Claim {
        Claim {
            inner: Rc::clone(&self.inner),
            batch,
        }
    }

    fn run_all<R: DeserializeOwned>(
        &mut self,
        func: ErasedFn,
        items: Vec<Vec<u8>>,
        chunksize: Option<usize>,
    ) -> Result<Vec<R>> {
        let mut inner = self.inner.borrow_mut();
        let batch = inner.submit(func, items, chunksize)?;
        let waited = inner.wait(batch, None, |b| b.outstanding == 0 || b.failed);
        let done = inner
            .batches
            .remove(&batch)
            .expect("a batch lives until taken");
        inner.forget(batch);
        waited?;
        let mut slots = done.slots;
        // A failed call reports the item that failed first.
        if let Some(&index) = done
            .completed
            .iter()
            .find(|&&i| matches!(slots[i], Some(Err(_))))
        {
            return Err(slots[index].take().expect("completed").expect_err("failed"));
        }
        (0..)
            .zip(slots)
            .map(|(index, slot)| decode(index, slot.expect("every item completed")?))
            .collect()
    }

    fn imap_with<A, R>(
        &mut self,
        func: fn(A) -> R,
        items: impl IntoIterator<Item = A>,
        chunksize: Option<usize>,
        ordered: bool,
    ) -> Result<Imap<R>>
    where
        A: Serialize + DeserializeOwned,
        R: Serialize + DeserializeOwned,
    {
        let items = encode_all(items)?;
        let total = items.len();
        let batch = self.inner.borrow_mut().submit(
            ErasedFn::new(func),
            items,
            Some(chunksize.unwrap_or(1)),
        )?;
        Ok(Imap {
            claim: self.claim(batch),
            next: 0,
            total,
            ordered,
            _result: PhantomData,
        })
    }
}

fn encode_all<T: Serialize>(items: impl IntoIterator<Item = T>) -> Result<Vec<Vec<u8>>> {
    items
        .into_iter()
        .enumerate()
        .map(|(index, item)| {
            postcard::to_stdvec(&item).map_err(|e| Error::Codec {
                index,
                message: crate::crossing::take_refusal()
                    .map_or_else(|| e.to_string(), str::to_owned),
            })
        })
        .collect()
}

fn decode<R: DeserializeOwned>(index: usize, bytes: Vec<u8>) -> Result<R> {
    postcard::from_bytes(&bytes).map_err(|e| Error::Codec {
        index,
        message: e.to_string(),
    })
}

/// The pending result of [`Pool::apply_async`], like Python's `AsyncResult`.
///
/// It shares the pool: waiting on it drives the pool's work.
pub struct AsyncResult<R> {
    claim: Claim,
    _result: PhantomData<R>,
}

/// A handle's hold on its batch in the pool: dropping it forgets the batch,
/// so that results nobody will read are discarded.
struct Claim {
    inner: Rc<RefCell<Inner>>,
    batch: u64,
}

impl Drop for Claim {
    fn drop(&mut self) {
        if let Ok(mut inner) = self.inner.try_borrow_mut() {
            inner.forget(self.batch);
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
        let mut inner = self.claim.inner.borrow_mut();
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
        let inner = self.claim.inner.borrow();
        Ok(inner
            .batches
            .get(&self.claim.batch)
            .is_some_and(|b| !b.failed))
    }

    fn fetch(self, timeout: Option<Duration>) -> Result<R> {
        let mut inner = self.claim.inner.borrow_mut();
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

/// The iterator of [`Pool::imap`] and [`Pool::imap_unordered`].
///
/// It shares the pool: each `next` drives the pool's work until a result is
/// there. Dropping it early discards the results still to come.
pub struct Imap<R> {
    claim: Claim,
    next: usize,
    total: usize,
    ordered: bool,
    _result: PhantomData<R>,
}

impl<R: DeserializeOwned> Iterator for Imap<R> {
    /// `(index in the input, result)`.
    type Item = (usize, Result<R>);

    fn next(&mut self) -> Option<Self::Item> {
        if self.next == self.total {
            return None;
        }
        let mut inner = self.claim.inner.borrow_mut();
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

impl Inner {
    /// Queues `items` as jobs of a new batch and returns its number.
    fn submit(
        &mut self,
        func: ErasedFn,
        items: Vec<Vec<u8>>,
        chunksize: Option<usize>,
    ) -> Result<u64> {
        if self.state != State::Running {
            return Err(Error::PoolNotRunning);
        }
        let batch = self.next_batch;
        self.next_batch += 1;
        let len = items.len();
        let chunksize = chunksize
            .unwrap_or_else(|| len.div_ceil(4 * self.workers.len()))
            .max(1);
        let mut items = items.into_iter();
        for first in (0..len).step_by(chunksize) {
            self.queue.push_back(Job {
                batch,
                func,
                start: first,
                items: items.by_ref().take(chunksize).collect(),
            });
        }
        self.batches.insert(
            batch,
            Batch {
                slots: (0..len).map(|_| None).collect(),
                completed: VecDeque::new(),
                outstanding: len,
                failed: false,
            },
        );
        Ok(batch)
    }

    /// Drops a batch nobody will read: its queued jobs are withdrawn, and
    /// outcomes still to come for it are discarded.
    fn forget(&mut self, batch: u64) {
        self.batches.remove(&batch);
        self.queue.retain(|job| job.batch != batch);
    }

    /// Drives the pool until `done` holds for `batch` (or the batch is gone),
    /// or `deadline` passes. Catches SIGINT meanwhile.
    fn wait(
        &mut self,
        batch: u64,
        deadline: Option<Instant>,
        done: impl Fn(&Batch) -> bool,
    ) -> Result<()> {
        let sigint = SigintGuard::install()?;
        loop {
            match self.batches.get(&batch) {
                Some(b) if !done(b) => {}
                _ => return Ok(()),
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return Ok(());
            }
            if !self.step(deadline, Some(&sigint))? && deadline.is_none() {
                // Nothing running and nothing to run, yet not done: only a
                // terminated pool gets here.
                return Err(Error::PoolNotRunning);
            }
        }
    }

    /// Hands queued jobs to idle workers, then waits until `deadline` for
    /// outcomes and handles those that came. Returns whether any worker was
    /// busy.
    fn step(&mut self, deadline: Option<Instant>, sigint: Option<&SigintGuard>) -> Result<bool> {
        self.dispatch()?;
        let busy: Vec<usize> = (0..self.workers.len())
            .filter(|&i| !self.workers[i].jobs.is_empty())
            .collect();
        if busy.is_empty() {
            return Ok(false);
        }
        let timeout = match deadline {
            None => PollTimeout::NONE,
            Some(d) => {
                let ms = d.saturating_duration_since(Instant::now()).as_millis();
                PollTimeout::from(u16::try_from(ms).unwrap_or(u16::MAX))
            }
        };
        let mut fds: Vec<PollFd> = busy
            .iter()
            .map(|&i| PollFd::new(self.workers[i].results.as_fd(), PollFlags::POLLIN))
            .collect();
        if let Some(guard) = sigint {
            fds.push(PollFd::new(guard.fd(), PollFlags::POLLIN));
        }
        match poll(&mut fds, timeout) {
            Ok(_) | Err(Errno::EINTR) => {}
            Err(errno) => return Err(Error::os("poll", errno)),
        }
        if sigint.is_some_and(SigintGuard::fired) {
            self.terminate();
            return Err(Error::Interrupted);
        }
        let ready: Vec<usize> = busy
            .iter()
            .zip(&fds)
            .filter(|(_, fd)| fd.revents().is_some_and(|r| !r.is_empty()))
            .map(|(&i, _)| i)
            .collect();
        for i in ready {
            self.receive(i)?;
        }
        Ok(true)
    }

    /// Sends queued jobs: first one to each idle worker, then a second to
    /// each, so that work spreads before it piles up.
    fn dispatch(&mut self) -> Result<()> {
        for depth in 0..PIPELINE {
            for i in 0..self.workers.len() {
                if self.queue.is_empty() {
                    return Ok(());
                }
                let worker = &self.workers[i];
                let allowance = self
                    .maxtasksperchild
                    .is_none_or(|max| worker.jobs_done + worker.jobs.len() < max);
                if worker.jobs.len() != depth || worker.tasks.is_none() || !allowance {
                    continue;
                }
                let frame = match frame::encode(&JobOut {
                    func: self.queue[0].func,
                    items: &self.queue[0].items,
                }) {
                    Ok(frame) => frame,
                    Err(error) => {
                        // Only a job over 4 GiB gets here: its items fail.
                        let job = self.queue.pop_front().expect("not empty");
                        for index in job.indices() {
                            let message = error.to_string();
                            self.complete(job.batch, index, Err(Error::Codec { index, message }));
                        }
                        continue;
                    }
                };
                if depth > 0 && frame.len() > AHEAD_LIMIT {
                    continue;
                }
                let job = self.queue.pop_front().expect("not empty");
                let worker = &mut self.workers[i];
                let sent = match &mut worker.tasks {
                    Some(tasks) => tasks.write_all(&frame),
                    None => Err(std::io::ErrorKind::BrokenPipe.into()),
                };
                let range = job.indices();
                log::event(format_args!(
                    "dispatched items {}..{} to pool worker pid {}",
                    range.start, range.end, worker.pid
                ));
                worker.jobs.push_back(job);
                if sent.is_err() {
                    self.worker_died(i)?;
                }
            }
        }
        Ok(())
    }

    /// Reads the outcomes of worker `i`'s job, or handles its death.
    fn receive(&mut self, i: usize) -> Result<()> {
        let outcomes = match frame::read::<Vec<Outcome>>(&mut self.workers[i].results) {
            Ok(Some(outcomes)) => outcomes,
            Ok(None) | Err(_) => return self.worker_died(i),
        };
        self.answered(i, outcomes);
        let worker = &self.workers[i];
        if self
            .maxtasksperchild
            .is_some_and(|max| worker.jobs_done >= max)
        {
            // The worker exits by itself after its last job; reap and replace.
            self.replace(i, KILL_GRACE)?;
        }
        Ok(())
    }

    /// Records the answers to worker `i`'s oldest job.
    fn answered(&mut self, i: usize, outcomes: Vec<Outcome>) {
        let worker = &mut self.workers[i];
        let pid = worker.pid_u32();
        let Some(job) = worker.jobs.pop_front() else {
            return;
        };
        worker.jobs_done += 1;
        for (index, outcome) in (job.start..).zip(outcomes) {
            let result = match outcome {
                Outcome::Done(bytes) => Ok(bytes),
                Outcome::Panicked(message) => Err(Error::TaskPanicked {
                    index,
                    pid,
                    message,
                }),
                Outcome::Codec(message) => Err(Error::Codec { index, message }),
            };
            self.complete(job.batch, index, result);
        }
    }

    fn complete(&mut self, batch: u64, index: usize, result: Result<Vec<u8>>) {
        if let Some(b) = self.batches.get_mut(&batch) {
            b.failed |= result.is_err();
            b.slots[index] = Some(result);
            b.completed.push_back(index);
            b.outstanding -= 1;
        }
    }

    /// Worker `i`'s pipe broke: reap it, fail the item it died on, queue the
    /// rest of its job again, and replace it.
    fn worker_died(&mut self, i: usize) -> Result<()> {
        let worker = &mut self.workers[i];
        let how = worker.reap_within(KILL_GRACE);
        let pid = worker.pid_u32();
        // Answers it sent before dying may still wait in the pipe (the death
        // may have been noticed on a write): take them first, without waiting
        // for more, so that the death is blamed on the job it really died in.
        let _ = nix::fcntl::fcntl(
            &worker.results,
            nix::fcntl::FcntlArg::F_SETFL(nix::fcntl::OFlag::O_NONBLOCK),
        );
        while let Ok(Some(outcomes)) = frame::read::<Vec<Outcome>>(&mut self.workers[i].results) {
            self.answered(i, outcomes);
        }
        let worker = &mut self.workers[i];
        // Jobs sent ahead never started: they go back to the queue whole.
        while worker.jobs.len() > 1 {
            let job = worker.jobs.pop_back().expect("more than one");
            self.queue.push_front(job);
        }
        let worker = &mut self.workers[i];
        if let Some(job) = worker.jobs.pop_front() {
            // Items before it finished, but their results died with the
            // worker: they run again, with those after it.
            let done = usize::try_from(self.progress.get(worker.slot)).unwrap_or(usize::MAX);
            let fatal = done.min(job.items.len() - 1);
            let index = job.start + fatal;
            let mut items = job.items;
            let after = items.split_off(fatal + 1);
            items.truncate(fatal);
            for (start, items) in [(index + 1, after), (job.start, items)] {
                if !items.is_empty() {
                    self.queue.push_front(Job {
                        batch: job.batch,
                        func: job.func,
                        start,
                        items,
                    });
                }
            }
            self.complete(job.batch, index, Err(Error::WorkerDied { index, pid, how }));
        }
        if self.state == State::Terminated {
            return Ok(());
        }
        self.replace(i, Duration::ZERO)
    }

    /// Replaces worker `i` by a new one, reaping the old.
    fn replace(&mut self, i: usize, grace: Duration) -> Result<()> {
        let fresh = self.spawn_worker(self.workers[i].slot)?;
        let mut old = std::mem::replace(&mut self.workers[i], fresh);
        old.close_tasks();
        old.reap_within(grace);
        Ok(())
    }

    fn terminate(&mut self) {
        self.state = State::Terminated;
        for worker in &mut self.workers {
            worker.close_tasks();
            worker.signal(Signal::SIGTERM);
        }
        let deadline = Instant::now() + KILL_GRACE;
        for worker in &mut self.workers {
            worker.reap_within(deadline.saturating_duration_since(Instant::now()));
        }
        // Whatever was unfinished fails now, so no waiter waits forever.
        let unfinished: Vec<(u64, usize)> = self
            .workers
            .iter_mut()
            .flat_map(|w| w.jobs.drain(..).collect::<Vec<_>>())
            .chain(self.queue.drain(..))
            .flat_map(|job| job.indices().map(move |i| (job.batch, i)))
            .collect();
        for (batch, index) in unfinished {
            self.complete(batch, index, Err(Error::Terminated { index }));
        }
    }

    /// Runs queued work to the end (until `deadline`), then closes the
    /// workers' pipes and reaps them.
    fn finish(&mut self, deadline: Option<Instant>) -> Result<()> {
        if self.state != State::Terminated {
            let sigint = SigintGuard::install()?;
            while self.step(deadline, Some(&sigint))? {
                if deadline.is_some_and(|d| Instant::now() >= d) {
                    break;
                }
            }
        }
        for worker in &mut self.workers {
            worker.close_tasks();
        }
        let grace = deadline.map_or(Duration::MAX, |d| {
            d.saturating_duration_since(Instant::now())
        });
        for worker in &mut self.workers {
            worker.reap_within(grace.min(DROP_GRACE));
        }
        Ok(())
    }

    fn spawn_worker(&mut self, slot: usize) -> Result<Worker> {
        self.spawned += 1;
        let label = format!("PoolWorker-{}", self.spawned);
        let (pid, tasks, results) = match self.method {
            StartMethod::Fork => self.fork_worker(&label, slot)?,
            StartMethod::Spawn => {
                let work = Work::PoolWorker {
                    initializer: self.initializer.map(ErasedFn::nullary),
                    maxtasks: self.maxtasksperchild,
                    slot,
                    slots: self.progress.len(),
                };
                let (pid, socket) = start::spawn(&label, work, &[self.progress.memory()])?;
                let tasks = socket.try_clone().map_err(|e| Error::os("dup", e))?;
                (
                    pid,
                    File::from(OwnedFd::from(tasks)),
                    File::from(OwnedFd::from(socket)),
                )
            }
        };
        sys::register_parent_fd(tasks.as_raw_fd());
        sys::register_parent_fd(results.as_raw_fd());
        Ok(Worker {
            pid,
            slot,
            tasks: Some(tasks),
            results,
            jobs: VecDeque::new(),
            jobs_done: 0,
            ended: None,
        })
    }

    /// Forks a worker; returns its pid and the parent's ends of its pipes.
    fn fork_worker(&mut self, label: &str, slot: usize) -> Result<(Pid, File, File)> {
        let (task_rx, task_tx) = sys::pipe()?;
        let (result_rx, result_tx) = sys::pipe()?;
        // The new worker must not keep its own parent-side ends open.
        sys::register_parent_fd(task_tx.as_raw_fd());
        sys::register_parent_fd(result_rx.as_raw_fd());
        let initializer = self.initializer;
        let maxtasks = self.maxtasksperchild;
        let progress = &self.progress;
        let forked = sys::fork(label, || {
            sys::ignore_sigint();
            if let Some(initializer) = initializer {
                initializer();
            }
            let tasks = File::from(task_rx);
            worker_loop(tasks, File::from(result_tx), maxtasks, |done| {
                progress.set(slot, done);
            })
        });
        sys::forget_parent_fd(task_tx.as_raw_fd());
        sys::forget_parent_fd(result_rx.as_raw_fd());
        Ok((forked?, File::from(task_tx), File::from(result_rx)))
    }
}

impl Worker {
    fn pid_u32(&self) -> u32 {
        self.pid.as_raw().unsigned_abs()
    }

    /// Sends `signal` unless the worker has been reaped already.
    fn signal(&self, signal: Signal) {
        if self.ended.is_none() {
            let _ = kill(self.pid, signal);
        }
    }

    /// Reaps the worker, killing it if it has not ended within `grace`.
    fn reap_within(&mut self, grace: Duration) -> Ended {
        if let Some(ended) = self.ended {
            return ended;
        }
        let ended = match sys::reap_timeout(self.pid, grace) {
            Ok(Some(ended)) => ended,
            _ => {
                self.signal(Signal::SIGKILL);
                // If even this fails the child is not ours to wait for.
                sys::reap(self.pid, true)
                    .ok()
                    .flatten()
                    .unwrap_or(Ended::Signaled(Signal::SIGKILL))
            }
        };
        log::event(format_args!("pool worker pid {} {ended}", self.pid));
        self.ended = Some(ended);
        ended
    }

    /// Closes the task pipe, the worker's cue to exit, without waiting.
    fn close_tasks(&mut self) {
        if let Some(tasks) = self.tasks.take() {
            sys::forget_parent_fd(tasks.as_raw_fd());
            // A spawned worker's tasks and results share one socket: closing
            // this copy alone would not tell it that no more work comes.
            let _ =
                nix::sys::socket::shutdown(tasks.as_raw_fd(), nix::sys::socket::Shutdown::Write);
        }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        // Forgotten before the fields are closed, so that no later child
        // closes an unrelated file that reuses the number.
        self.close_tasks();
        sys::forget_parent_fd(self.results.as_raw_fd());
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        let Ok(mut inner) = self.inner.try_borrow_mut() else {
            return;
        };
        if inner.state == State::Running {
            inner.state = State::Closed;
        }
        // Bounded: queued work gets DROP_GRACE, then what is left is killed.
        let _ = inner.finish(Some(Instant::now() + DROP_GRACE));
        for worker in &mut inner.workers {
            worker.reap_within(Duration::ZERO);
        }
    }
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool").field("pids", &self.pids()).finish()
    }
}

/// A worker's life: run jobs until the task pipe closes, or until it has
/// run `maxtasks` jobs. `progress` is told how many items of the current job
/// are done, before and after each item.
pub(crate) fn worker_loop(
    mut tasks: impl Read,
    mut results: impl Write,
    maxtasks: Option<usize>,
    progress: impl Fn(u64),
) -> i32 {
    let mut jobs = 0;
    while maxtasks.is_none_or(|max| jobs < max) {
        let job: JobIn = match frame::read(&mut tasks) {
            Ok(Some(job)) => job,
            Ok(None) => return 0,
            Err(_) => return 1,
        };
        let mut outcomes = Vec::with_capacity(job.items.len());
        for (done, item) in (0..).zip(&job.items) {
            progress(done);
            outcomes.push(
                match panic::catch_unwind(AssertUnwindSafe(|| job.func.call(item))) {
                    Ok(Ok(bytes)) => Outcome::Done(bytes),
                    Ok(Err(message)) => Outcome::Codec(message),
                    Err(payload) => Outcome::Panicked(panic_message(payload.as_ref())),
                },
            );
        }
        progress(outcomes.len() as u64);
        // What the tasks printed goes out before their results, so a parent
        // that prints after `map` returns cannot overtake it.
        sys::flush_stdio();
        if frame::write(&mut results, &outcomes).is_err() {
            return 1;
        }
        progress(0);
        jobs += 1;
    }
    0
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic with a non-string payload".to_owned())
}
