//! The blocking calls, `map`, `starmap` and `apply` (and their `try_`
//! forms, for tasks that return `Result`), and their work: its
//! jobs are made as the workers take them, and its answers decoded into the output as
//! they come, in order, so that the memory of an answered job or of a
//! decoded answer serves the next one (see `spare`). A `map` of a million
//! integers thus encodes into the memory of four jobs, not eight, and
//! reads its answers into two or three buffers, not eight.

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::batch::collect_onto;
use super::item::fixed_width;
use super::job::Items;
use super::job::next_job;
use super::scheduler::Inner;
use super::state_lock::lock;
use super::{Pool, chunk};
use crate::error::{Error, Result};
use crate::sys::{self, ErasedFn, Function, SigintGuard, sendable};

impl Pool {
    /// Applies `func` to every item in worker processes and returns the
    /// results in input order, like `Pool.map`.
    ///
    /// Items are sent in chunks of `ceil(len / (4 * processes))`, Python's
    /// default ([`chunksize`](Pool::chunksize) sets another), each to the
    /// next idle worker. The input is read as the workers take its chunks,
    /// not all at first (an input that does not say its length is
    /// collected first: the chunk size needs it, as Python's `map` needs
    /// `list(iterable)`).
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
        self.run_all(chunk::erase(func), Items::new(items), None)
    }

    /// [`map`](Pool::map) for a task that returns `Result`, as a Python
    /// task raises: the results of the tasks that succeed, or the first
    /// task's error as [`Error::TaskFailed`], whose message is the error's
    /// own (and the error itself, through [`Error::task_error`]). Like
    /// `map`, it returns at the first failure.
    ///
    /// ```
    /// fn parse(text: String) -> Result<u32, String> {
    ///     text.parse().map_err(|_| format!("not a number: {text:?}"))
    /// }
    ///
    /// let mut pool = common::Pool::new(2)?;
    /// assert_eq!(pool.try_map(parse, ["1", "2"].map(String::from))?, [1, 2]);
    /// let error = pool.try_map(parse, ["1", "x"].map(String::from)).expect_err("x fails");
    /// assert_eq!(error.to_string(), "not a number: \"x\"");
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn try_map<A, R, E>(
        &mut self,
        func: fn(A) -> std::result::Result<R, E>,
        items: impl IntoIterator<Item = A>,
    ) -> Result<Vec<R>>
    where
        A: Serialize + DeserializeOwned + 'static,
        R: Serialize + DeserializeOwned + 'static,
        E: Serialize + std::fmt::Display + 'static,
    {
        self.run_all(chunk::erase_fallible(func), Items::new(items), None)
    }

    /// Like [`map`](Pool::map) for a function of several parameters (up
    /// to 6), each item a tuple of its arguments, like `Pool.starmap`: an
    /// item `(a, b)` is the call `func(a, b)` (see [`Function`]).
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
    pub fn starmap<F, Args, M, R>(
        &mut self,
        func: F,
        items: impl IntoIterator<Item = Args>,
    ) -> Result<Vec<R>>
    where
        F: Function<Args, M, Output = R>,
        Args: Serialize + DeserializeOwned + 'static,
        R: Serialize + DeserializeOwned + 'static,
    {
        self.run_all(chunk::erase(sendable(func)?), Items::new(items), None)
    }

    /// [`starmap`](Pool::starmap) for a task that returns `Result` (see
    /// [`try_map`](Pool::try_map)).
    pub fn try_starmap<F, Args, M, R, E>(
        &mut self,
        func: F,
        items: impl IntoIterator<Item = Args>,
    ) -> Result<Vec<R>>
    where
        F: Function<Args, M, Output = std::result::Result<R, E>>,
        Args: Serialize + DeserializeOwned + 'static,
        R: Serialize + DeserializeOwned + 'static,
        E: Serialize + std::fmt::Display + 'static,
    {
        self.run_all(
            chunk::erase_fallible(sendable(func)?),
            Items::new(items),
            None,
        )
    }

    /// Runs `func(args)` in a worker and waits for it, like `Pool.apply`;
    /// `func(a, b)` for `args` `(a, b)`, as Python's `apply(f, (a, b))`
    /// (see [`Function`]).
    ///
    /// ```
    /// fn square(n: i64) -> i64 {
    ///     n * n
    /// }
    ///
    /// fn power(base: u64, exponent: u32) -> u64 {
    ///     base.pow(exponent)
    /// }
    ///
    /// let mut pool = common::Pool::new(1)?;
    /// assert_eq!(pool.apply(square, 12)?, 144);
    /// assert_eq!(pool.apply(power, (2, 10))?, 1024);
    /// assert_ne!(pool.apply(std::process::id, ())?, std::process::id());
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn apply<F, Args, M, R>(&mut self, func: F, args: Args) -> Result<R>
    where
        F: Function<Args, M, Output = R>,
        Args: Serialize + DeserializeOwned + 'static,
        R: Serialize + DeserializeOwned + 'static,
    {
        self.run_one(chunk::erase(sendable(func)?), args)
    }

    /// [`apply`](Pool::apply) for a task that returns `Result`: its error
    /// is [`Error::TaskFailed`] (see [`try_map`](Pool::try_map)).
    ///
    /// ```
    /// fn half(n: u32) -> Result<u32, String> {
    ///     if n % 2 == 1 {
    ///         return Err(format!("{n} is odd"));
    ///     }
    ///     Ok(n / 2)
    /// }
    ///
    /// let mut pool = common::Pool::new(1)?;
    /// assert_eq!(pool.try_apply(half, 8)?, 4);
    /// assert_eq!(pool.try_apply(half, 3).expect_err("odd").to_string(), "3 is odd");
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn try_apply<F, Args, M, R, E>(&mut self, func: F, args: Args) -> Result<R>
    where
        F: Function<Args, M, Output = std::result::Result<R, E>>,
        Args: Serialize + DeserializeOwned + 'static,
        R: Serialize + DeserializeOwned + 'static,
        E: Serialize + std::fmt::Display + 'static,
    {
        self.run_one(chunk::erase_fallible(sendable(func)?), args)
    }

    fn run_one<A: Serialize + 'static, R: DeserializeOwned + 'static>(
        &mut self,
        func: ErasedFn,
        arg: A,
    ) -> Result<R> {
        // A one-item `map`, so that Ctrl-C is caught from the moment the
        // job is sent (see `run_all`).
        let mut results = self.run_all(func, (std::iter::once(arg), 1), Some(1))?;
        Ok(results.pop().expect("one item, one result"))
    }

    /// Runs `func` over `items` to the end, or to the first failure, in
    /// chunks of `chunksize` (`None`: Python's default).
    pub(super) fn run_all<A: Serialize + 'static, R: DeserializeOwned + 'static>(
        &mut self,
        func: ErasedFn,
        items: (impl Iterator<Item = A>, usize),
        chunksize: Option<usize>,
    ) -> Result<Vec<R>> {
        let mut inner = lock(&self.inner);
        // Ctrl-C is caught from the first job sent: a worker may start on it,
        // and the user press Ctrl-C, at once.
        let sigint = SigintGuard::install()?;
        run_to_end(&mut inner, func, items, chunksize, &sigint)
    }
}

/// The size from which a job is written as soon as it is made.
const WRITE_AT_ONCE: usize = 64 * 1024;

/// Runs `func` over `items` (`len` of them, as far as the iterator says)
/// to the end, or to the first failure; SIGINT (caught by `sigint` before
/// the first job goes) terminates the workers.
fn run_to_end<A: Serialize + 'static, R: DeserializeOwned + 'static>(
    inner: &mut Inner,
    func: ErasedFn,
    (items, len): (impl Iterator<Item = A>, usize),
    chunksize: Option<usize>,
    sigint: &SigintGuard,
) -> Result<Vec<R>> {
    // An empty batch, which grows as its jobs are made (as an `imap`'s).
    let batch = inner.submit(func, std::iter::empty::<A>(), 0, Some(1))?;
    let chunksize = inner.chunksize(chunksize, len).max(1);
    let mut values = Vec::with_capacity(len);
    let driven = drive(inner, batch, func, items, chunksize, &mut values, sigint);
    let done = inner
        .batches
        .remove(&batch)
        .expect("a batch lives until taken");
    inner.forget(batch);
    driven?;
    collect_onto(done, values)
}

/// Makes and sends `batch`'s jobs as the workers take them, and decodes
/// its answers onto `values` as they come in order, until every item is
/// answered or one failed.
fn drive<A: Serialize + 'static, R: DeserializeOwned + 'static>(
    inner: &mut Inner,
    batch: u64,
    func: ErasedFn,
    items: impl Iterator<Item = A>,
    chunksize: usize,
    values: &mut Vec<R>,
    sigint: &SigintGuard,
) -> Result<()> {
    let job_bytes = fixed_width::<A>().map_or(0, |width| width.saturating_mul(chunksize));
    let mut items = Some(items);
    let mut start = 0;
    let mut first = true;
    loop {
        while inner.wants_a_job()
            && let Some(rest) = items.as_mut()
        {
            let buffer = inner.spare.take(job_bytes);
            match next_job(rest, buffer, batch, func, start, chunksize) {
                None => items = None,
                Some(job) => {
                    let job = job?;
                    start += job.len();
                    // A large job goes out at once, so that its worker starts
                    // while the next is made; small ones together, one write
                    // for many.
                    let large = job.payload_len() >= WRITE_AT_ONCE;
                    inner.enqueue(job)?;
                    inner.assign();
                    if large {
                        inner.flush_all()?;
                    }
                }
            }
        }
        inner.flush_all()?;
        if std::mem::take(&mut first) {
            // The output's pages, faulted in with one call while the workers
            // start on the first jobs rather than before.
            sys::prefault(values);
        }
        decode_in_order(inner, batch, values)?;
        let b = inner
            .batches
            .get(&batch)
            .expect("a batch lives until taken");
        if b.failed || (items.is_none() && b.outstanding == 0) {
            return Ok(());
        }
        if !inner.step(None, Some(sigint))? && !inner.wants_a_job() {
            // Nothing running, and no worker to run more: only a
            // terminated pool gets here.
            return Err(Error::PoolNotRunning);
        }
    }
}

/// Decodes `batch`'s answers that come next in input order onto `values`,
/// and keeps their buffers; stops at one with a failure (the batch has
/// failed, and `collect_onto` reports it).
fn decode_in_order<R: DeserializeOwned + 'static>(
    inner: &mut Inner,
    batch: u64,
    values: &mut Vec<R>,
) -> Result<()> {
    let Some(b) = inner.batches.get_mut(&batch) else {
        return Ok(());
    };
    while let Some(next) = b.answers.first_entry() {
        if *next.key() != values.len() || next.get().failed() {
            break;
        }
        let start = values.len();
        if let Some(buffer) = next.remove().decode_keeping(start, values)? {
            inner.spare.put(buffer);
        }
    }
    Ok(())
}
