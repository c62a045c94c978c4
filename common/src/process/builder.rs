//! [`ProcessBuilder`]: a process's name, daemon flag and start method given
//! at construction, as Python's `Process(...)` takes them by keyword.

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::Process;
use crate::start::StartMethod;
use crate::sys::{Function, Outcome};

/// A [`Process`] with its settings given first, as Python's
/// `Process(target=f, args=(a,), name="worker", daemon=True)` takes them
/// by keyword: from [`Process::builder`], ended by the target.
///
/// ```
/// use common::Process;
///
/// fn work(n: u32) {
///     println!("working on {n}");
/// }
///
/// let mut worker = Process::builder().name("worker").daemon(true).with_args(work, 7);
/// assert_eq!(worker.name(), "worker");
/// assert!(worker.daemon());
/// worker.start()?;
/// worker.join()?;
/// # Ok::<(), common::Error>(())
/// ```
#[derive(Debug, Clone, Default)]
#[must_use = "a builder does nothing until its target is given"]
pub struct ProcessBuilder {
    name: Option<String>,
    daemon: bool,
    start_method: Option<StartMethod>,
}

impl ProcessBuilder {
    /// Its name, like `name=` (default: `Process-N`).
    pub fn name(mut self, name: impl Into<String>) -> ProcessBuilder {
        self.name = Some(name.into());
        self
    }

    /// Whether it is a daemon, like `daemon=` (see
    /// [`Process::set_daemon`]).
    pub fn daemon(mut self, daemon: bool) -> ProcessBuilder {
        self.daemon = daemon;
        self
    }

    /// How it is started, like creating it from
    /// `multiprocessing.get_context(method)` (see
    /// [`Process::set_start_method`]).
    pub fn start_method(mut self, method: StartMethod) -> ProcessBuilder {
        self.start_method = Some(method);
        self
    }

    /// The process, to run `target()` (see [`Process::new`]).
    pub fn target(self, target: fn()) -> Process {
        self.apply(Process::new(target))
    }

    /// The process, to run `target(args)`, or `target(a, b)` for
    /// `args` `(a, b)` (see [`Process::with_args`]).
    pub fn with_args<F, A, M>(self, target: F, args: A) -> Process
    where
        F: Function<A, M>,
        F::Output: Outcome,
        A: Serialize + DeserializeOwned + Send + 'static,
    {
        self.apply(Process::with_args(target, args))
    }

    /// The process, to run a closure, by fork only (see
    /// [`Process::from_closure`]).
    pub fn from_closure(self, target: impl FnOnce() + Send + 'static) -> Process {
        self.apply(Process::from_closure(target))
    }

    fn apply(self, mut process: Process) -> Process {
        if let Some(name) = self.name {
            process.set_name(name);
        }
        process.set_daemon(self.daemon);
        if let Some(method) = self.start_method {
            process.set_start_method(method);
        }
        process
    }
}
