//! [`PoolBuilder`]: a pool's settings, as Python's `Pool(...)` takes them
//! by keyword.

use std::sync::Arc;

use super::Pool;
use super::initializer::Initializer;
use super::registry::Registry;
use super::scheduler::Inner;
use super::state_lock::PoolShared;
use crate::error::{Error, Result};
use crate::start::{StartMethod, get_start_method};
use crate::sys::{Function, sendable};
use serde::Serialize;
use serde::de::DeserializeOwned;

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
    pub(super) processes: Option<usize>,
    pub(super) start_method: Option<StartMethod>,
    /// The initializer, its encoded argument and the descriptors in it.
    pub(super) initializer: Option<Arc<Initializer>>,
    /// Why the initializer's argument could not be encoded, if it could not.
    pub(super) initargs_error: Option<Arc<Error>>,
    pub(super) maxtasksperchild: Option<usize>,
}

impl PoolBuilder {
    /// How many workers (default: [`cpu_count`](crate::cpu_count), as
    /// Python's `Pool()` before 3.13), like `processes=`.
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
        self.initializer = Some(Arc::new(Initializer::nullary(initializer)));
        self
    }

    /// A function each worker runs once when it starts, with `args`, like
    /// `initializer=f, initargs=(args,)`; for a function of several
    /// parameters, `args` is their tuple, like `initargs=(a, b)` (see
    /// [`Function`]). The argument may hold what processes share (a
    /// [`Lock`](crate::Lock), [`Queue`](crate::Queue),
    /// [`Value`](crate::Value), [`Event`](crate::Event), a manager's
    /// proxies...): every worker gets it as it starts, replacements too,
    /// under every start method, as a child of
    /// [`Process::with_args`](crate::Process::with_args) does. It is the
    /// way to give a pool's tasks such things, which cannot go in a task's
    /// own arguments. An argument that cannot be encoded makes
    /// [`build`](PoolBuilder::build) fail with [`Error::Codec`], naming its
    /// type.
    ///
    /// ```
    /// use std::sync::OnceLock;
    ///
    /// use common::{Lock, Pool, Value};
    ///
    /// static COUNTER: OnceLock<(Lock, Value)> = OnceLock::new();
    ///
    /// fn init(lock: Lock, total: Value) {
    ///     let _ = COUNTER.set((lock, total));
    /// }
    ///
    /// fn count(_: u32) {
    ///     let (lock, total) = COUNTER.get().expect("initialized");
    ///     let _held = lock.acquire().expect("the lock");
    ///     total.set(total.get() + 1);
    /// }
    ///
    /// let total = Value::new(0)?;
    /// let mut pool = Pool::builder()
    ///     .processes(2)
    ///     .initializer_with(init, (Lock::new()?, total.clone()))
    ///     .build()?;
    /// pool.map(count, 0..100)?;
    /// assert_eq!(total.get(), 100);
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn initializer_with<F, A, M>(mut self, initializer: F, args: A) -> PoolBuilder
    where
        F: Function<A, M, Output = ()>,
        A: Serialize + DeserializeOwned + 'static,
    {
        match sendable(initializer).and_then(|function| Initializer::with_args(function, &args)) {
            Ok(made) => self.initializer = Some(Arc::new(made)),
            Err(error) => self.initargs_error = Some(Arc::new(error)),
        }
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
    /// let pids = pool.chunksize(1).map(pid, [0, 1])?;
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
        let processes = self.processes.unwrap_or_else(crate::cpu_count);
        if processes == 0 {
            return Err(Error::NoWorkers(processes));
        }
        if let Some(error) = self.initargs_error {
            return Err(error.duplicate());
        }
        let method = match self.start_method {
            Some(method) => method,
            None => get_start_method()?,
        };
        let registry = Registry::start(processes, method, self.initializer, self.maxtasksperchild)?;
        Ok(Pool {
            inner: PoolShared::new(Inner::new(registry))?,
        })
    }
}
