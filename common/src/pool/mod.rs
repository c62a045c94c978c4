//! [`Pool`]: long-lived worker processes that run tasks, like Python's
//! `multiprocessing.Pool`.
//!
//! # How it works
//!
//! Each worker has two pipes: jobs go down one (a function and a chunk of
//! arguments, encoded one after another in one buffer), and one answer per
//! job comes back up the other (every result, or an outcome per item when
//! one failed; see `PROTOCOL.md`). Whoever waits for a result (`map`,
//! `AsyncResult::get`, an `imap` iterator) drives the pool: it hands queued
//! jobs to idle workers and `poll`s the busy workers' pipes, routing each
//! answer to the call it belongs to. Work queued without waiting
//! (`apply_async`, `map_async`, `imap`) is moved meanwhile by a driver
//! thread, started for it and ended once the pool is idle (see `driver.rs`,
//! which also says how it lives with fork); a program that only calls `map`
//! has none. A worker's end is seen from the kernel (a pidfd polled beside
//! its pipes while it has work), or from a pipe that closes: it is reaped
//! at once and replaced, its current item fails with the exit code or
//! signal, and the rest of its job goes back to the queue; a task that
//! broke its worker's channel fails its item, not run again.
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
//!   (see `chunk.rs`, `Worker::read_available`, `answer.rs`).
//!
//! # Where things are
//!
//! The calls, in this process:
//!
//! - this file: [`Pool`] and its life (built, closed, terminated, joined,
//!   dropped);
//! - `builder.rs`: [`PoolBuilder`], the settings;
//! - `initializer.rs`: what each worker runs first, with the descriptors
//!   in its argument, which every worker gets as it starts;
//! - `blocking.rs`: `map`, `starmap` and `apply` (and their `try_` forms,
//!   for tasks that return `Result`), whose jobs are made as the workers
//!   take them;
//! - `async_result.rs`: `apply_async`, `map_async`, `starmap_async` and
//!   their callbacks, and the [`AsyncResult`] a caller holds;
//! - `imap.rs`: `imap` and `imap_unordered`, and the [`Imap`] iterator;
//! - `chunked.rs`: the map family with a `chunksize`, [`Chunked`];
//! - `batch.rs`: a call's results, filed as answers come, and how they are
//!   read.
//!
//! The parent's machinery:
//!
//! - `state_lock.rs`: the lock on the pool's state that the pool and its
//!   handles share (the driver lets go of it when another thread wants
//!   it), and a handle's `Claim` on its batch;
//! - `driver.rs`: the thread that moves queued work in the background, and
//!   runs callbacks;
//! - `scheduler.rs`: the pool's state (`Inner`) and the loop that drives
//!   it: submit, wait, step, terminate, finish;
//! - `dispatch.rs`: the traffic with each worker: jobs handed out and
//!   written, answers read and filed, a death or garbage settled;
//! - `registry.rs`: the workers' lives: started, replaced, blamed for a
//!   death, stopped;
//! - `worker.rs`: the parent's handle on one worker process: its pipes,
//!   the jobs sent to it, how far ahead;
//! - `spare.rs`: buffers kept for reuse.
//!
//! What crosses between the parent and a worker (told whole in
//! `PROTOCOL.md`, beside this file):
//!
//! - `wire.rs`: the protocol's formats and rules: the job header, the
//!   answer's frame and tags, the progress word, how a death is blamed;
//! - `job.rs`: a job, the items one worker is sent at once (large byte
//!   vectors attached, not copied), and how a call's input is cut into
//!   jobs;
//! - `item.rs`: one item's encoding (`Vec<u8>` copied whole, integers at
//!   their fixed width, the rest through postcard);
//! - `answer.rs`: an answer as the parent reads it and decodes it.
//!
//! The worker process:
//!
//! - `worker_loop.rs`: its loop: read a job, run it, answer, until the
//!   task pipe closes;
//! - `chunk.rs`: a job's function run over its items, and the answer
//!   written (no allocation per item);
//! - `vectors.rs`: a job of large byte vectors read a few at a time, as
//!   its tasks run;
//! - `lent.rs`: large results lent to the result pipe as pages, kept until
//!   the parent has read them.

use state_lock::{Shared, lock};
mod answer;
mod async_result;
mod batch;
mod blocking;
mod builder;
mod chunk;
mod chunked;
mod dispatch;
mod driver;
mod imap;
mod initializer;
mod item;
mod job;
mod lent;
mod registry;
mod scheduler;
mod spare;
mod state_lock;
mod vectors;
mod wire;
mod worker;
pub(crate) mod worker_loop;

use crate::error::{Error, Result};
use std::time::{Duration, Instant};

pub use async_result::AsyncResult;
pub use builder::PoolBuilder;
pub use chunked::Chunked;
pub use imap::{Imap, Indexed};
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
/// - A task of a `try_` call ([`try_map`](Pool::try_map),
///   [`try_imap`](Pool::try_imap)...) that returns an error fails with
///   [`Error::TaskFailed`], whose message is the error's own; nothing is
///   printed for it.
/// - A worker that dies mid-task (killed, aborted, `exit`) fails that item
///   with [`Error::WorkerDied`], naming the item, the pid and the exit code
///   or signal, and is replaced. It never hangs, where Python's pool waits
///   forever (cpython gh-66587). The death is seen from the kernel at once,
///   even when a child the task left still holds the worker's pipes; the
///   pool's driver replaces the worker and goes on with queued work and
///   callbacks, with no further call needed.
/// - A task that breaks its worker's channel (closes its descriptors) fails
///   with [`Error::WorkerDied`] too, and is not run again; in a chunk of
///   several items, each then runs alone so that the one to blame is found
///   (it runs at most twice, the others succeed).
/// - A worker is replaced by the pool's start method, or by the fork
///   server where a fork is refused (a pool made by fork in a program that
///   has threads since).
/// - A result that cannot be decoded fails that item with [`Error::Codec`].
/// - `map` and `starmap` return the first failure at once; items of that
///   call still running finish in the background and are discarded. An
///   [`Imap`] ends at the first failure it yields, withdrawing the items
///   not started.
/// - SIGINT (Ctrl-C) while waiting terminates the workers and returns
///   [`Error::Interrupted`]; the workers ignore SIGINT themselves, so the
///   terminal shows no message per worker.
/// - Dropping the pool closes it and lets queued work finish and the
///   workers exit for up to five seconds while outcomes keep coming, but
///   gives up after one second without any (workers stuck, stopped, or
///   deaf to signals), then kills what is left and reaps every worker.
///   Python's `with` block terminates instead, losing queued work (cpython
///   gh-74140).
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
/// A pool is `Send` and `Sync` (checked when this crate compiles): it can
/// be moved to another thread, or
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

// What the docs above promise: a `Pool` is `Send` and `Sync`, and an
// `AsyncResult` can be waited on from another thread. A change that breaks
// it fails to compile here.
const _: () = {
    const fn send_and_sync<T: Send + Sync>() {}
    send_and_sync::<Pool>();
    send_and_sync::<AsyncResult<Vec<u8>>>();
};

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

    /// A pool with one worker per CPU online, [`cpu_count`](crate::cpu_count),
    /// like `Pool()` (Python 3.13 moved `Pool()` to the CPUs this process
    /// may run on, `os.process_cpu_count()`).
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

    /// Stops the workers now, like `Pool.terminate`: SIGTERM (and SIGCONT
    /// for a stopped one), then SIGKILL for any still alive a second later
    /// (one that blocks or ignores SIGTERM), and reaps them. Unfinished
    /// items fail with [`Error::Terminated`]. Never hangs.
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
}

impl Drop for Pool {
    fn drop(&mut self) {
        driver::stop(&self.inner);
        let mut inner = lock(&self.inner);
        if !inner.registry.owned_here() {
            // A forked child's copy of its parent's pool: the workers are
            // the parent's.
            return;
        }
        if inner.state == State::Running {
            inner.state = State::Closed;
        }
        // Bounded: queued work gets DROP_GRACE, or STALL without an outcome,
        // then what is left is killed.
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
