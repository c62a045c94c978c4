//! [`Process`]: one function run in a child process, like Python's
//! `multiprocessing.Process`; what it runs, and how its child is started by
//! each method, is `target.rs`; its settings given first, `builder.rs`.

mod builder;
mod target;

use std::cell::{Cell, OnceCell};
use std::fmt;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::error::{Ended, Error, Result};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::log;
use crate::start::{StartMethod, get_start_method};
use crate::sys::{self, Function, Outcome};
use target::Target;

pub use builder::ProcessBuilder;

/// Numbers processes in creation order, as Python names them `Process-1`, ...
static CREATED: AtomicUsize = AtomicUsize::new(0);

/// A function to run in a child process of its own.
///
/// Built with a target, it does nothing until [`start`](Process::start)
/// starts the child (by fork, spawn or the fork server, see
/// [`set_start_method`](Process::set_start_method)). The child runs the target and exits with code 0, or 1 if the
/// target panics; the parent goes on at once and can [`join`](Process::join)
/// it later.
///
/// ```
/// use common::Process;
///
/// let mut process = Process::new(|| println!("This is a process!"));
/// process.start()?;
/// process.join()?;
/// assert!(!process.is_alive());
/// assert_eq!(process.exitcode(), Some(0));
/// # Ok::<(), common::Error>(())
/// ```
///
/// # Invariants
///
/// - A process can be started once; a second `start` is
///   [`Error::AlreadyStarted`].
/// - `join` is idempotent: after the child has been reaped it returns at once.
/// - Dropping a started process joins it, as Python joins its non-daemon
///   children at exit, so no zombie is left behind; a daemon is terminated
///   and reaped instead. A process dropped while its thread panics (a
///   parent that panicked mid-exchange, its child still waiting for the
///   next message on a pipe the parent holds) gets one second to end by
///   itself, then is terminated as a daemon is (SIGTERM, one second more,
///   SIGKILL) and reaped: a panic never waits forever on a child.
/// - If the parent dies, even by SIGKILL, the kernel kills the child
///   (`PR_SET_PDEATHSIG`). Python's non-daemon children outlive a killed
///   parent; here no child is ever orphaned.
/// - A `Process` is `Send` (checked when this crate compiles): it may be
///   started on one thread and joined on another (its target, for a
///   closure, must be `Send` too). The child lives on when the thread that
///   started it ends.
pub struct Process {
    name: String,
    /// What the child runs, until it has started.
    target: Option<Target>,
    start_method: Option<StartMethod>,
    pid: Option<Pid>,
    /// Readable once the child has ended: opened by the first call to
    /// [`sentinel`](Process::sentinel), not by `start` (two system calls
    /// a start would pay for a descriptor few programs ask for).
    sentinel: OnceCell<OwnedFd>,
    /// Whether [`close`](Process::close) released the sentinel.
    closed: bool,
    ended: Cell<Option<Ended>>,
    daemon: bool,
}

// What the docs above promise: a `Process` is `Send`. A change that breaks
// it fails to compile here.
const _: () = {
    const fn send<T: Send>() {}
    send::<Process>();
};

impl Process {
    /// A process that will run `target`, like `Process(target=f)`. It can be
    /// started with either start method: `target` is a `fn` (a closure that
    /// captures nothing coerces to one).
    ///
    /// ```
    /// let mut process = common::Process::new(|| println!("hello from a child"));
    /// process.start()?;
    /// process.join()?;
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn new(target: fn()) -> Process {
        Process::of(Target::function(target))
    }

    /// A process that will run a closure, which may capture anything `Send`,
    /// even what cannot be serialized (pipes, channels). Only the fork start
    /// method can run it: the child is a copy of the parent, closure and all.
    ///
    /// ```
    /// let greeting = String::from("captured");
    /// let mut process = common::Process::from_closure(move || println!("{greeting}"));
    /// process.set_start_method(common::StartMethod::Fork); // whatever the default
    /// process.start()?;
    /// process.join()?;
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn from_closure(target: impl FnOnce() + Send + 'static) -> Process {
        Process::of(Target::closure(target))
    }

    /// A process with its name, daemon flag or start method given first,
    /// as Python's `Process(...)` takes them by keyword:
    /// `Process::builder().name("worker").daemon(true).with_args(f, x)` for
    /// `Process(target=f, args=(x,), name="worker", daemon=True)`.
    ///
    /// ```
    /// let process = common::Process::builder().name("printer").target(|| {});
    /// assert_eq!(process.name(), "printer");
    /// ```
    pub fn builder() -> ProcessBuilder {
        ProcessBuilder::default()
    }

    /// A process named `Process-N` in creation order, to run `target`.
    fn of(target: Target) -> Process {
        let number = CREATED.fetch_add(1, Ordering::Relaxed) + 1;
        Process {
            name: format!("Process-{number}"),
            target: Some(target),
            start_method: None,
            pid: None,
            sentinel: OnceCell::new(),
            closed: false,
            ended: Cell::new(None),
            daemon: false,
        }
    }

    /// A process that will run `target(args)`, like
    /// `Process(target=f, args=(args,))`, or `target(a, b)` for `args`
    /// `(a, b)`, like `Process(target=f, args=(a, b))` (up to 6
    /// arguments; see [`Function`]). Like [`Process::new`], it can be
    /// started with any start method: `target` is a `fn` (or a closure that
    /// captures nothing) and `args` crosses as serde data under spawn, with
    /// the descriptor of each shared thing in it. A closure that captures
    /// something runs under fork only, as [`Process::from_closure`]. The
    /// target may return `Result<(), E>`, as `main` may: an error ends the
    /// child with exit code 1, having said why on stderr (see [`Outcome`]).
    ///
    /// ```
    /// use common::{Lock, Process};
    ///
    /// fn print_number(n: u32) {
    ///     println!("Process {n}: Printing {n}");
    /// }
    ///
    /// fn print_alone(lock: Lock, n: u32, text: String) {
    ///     let _held = lock.acquire().expect("the lock");
    ///     println!("{n}: {text}");
    /// }
    ///
    /// let mut process = Process::with_args(print_number, 7);
    /// process.start()?;
    /// process.join()?;
    /// assert_eq!(process.exitcode(), Some(0));
    ///
    /// let lock = Lock::new()?;
    /// let mut process = Process::with_args(print_alone, (lock.clone(), 8, "eight".to_owned()));
    /// process.start()?;
    /// process.join()?;
    /// assert_eq!(process.exitcode(), Some(0));
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn with_args<F, A, M>(target: F, args: A) -> Process
    where
        F: Function<A, M>,
        F::Output: Outcome,
        A: Serialize + DeserializeOwned + Send + 'static,
    {
        Process::of(Target::with_args(target, args))
    }

    /// Chooses how this process is started, like creating it from
    /// `multiprocessing.get_context(method)`; default: [`get_start_method`].
    ///
    /// ```
    /// let mut process = common::Process::new(|| {});
    /// process.set_start_method(common::StartMethod::Spawn);
    /// process.start()?;
    /// process.join()?;
    /// assert_eq!(process.exitcode(), Some(0));
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn set_start_method(&mut self, method: StartMethod) {
        self.start_method = Some(method);
    }

    /// The process's name: `Process-N` unless changed with
    /// [`set_name`](Process::set_name).
    ///
    /// ```
    /// let process = common::Process::new(|| {});
    /// assert!(process.name().starts_with("Process-"));
    /// ```
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Renames the process, like assigning `Process.name`.
    ///
    /// ```
    /// let mut process = common::Process::new(|| {});
    /// process.set_name("printer");
    /// assert_eq!(process.name(), "printer");
    /// ```
    pub fn set_name(&mut self, name: impl Into<String>) {
        self.name = name.into();
    }

    /// Whether the process is a daemon, like `Process.daemon`.
    ///
    /// ```
    /// assert!(!common::Process::new(|| {}).daemon());
    /// ```
    pub fn daemon(&self) -> bool {
        self.daemon
    }

    /// Makes the process a daemon (or not), like setting `Process.daemon`
    /// before `start`: dropping a started daemon terminates it instead of
    /// joining it, as Python terminates daemons when their parent exits.
    ///
    /// ```
    /// let mut process = common::Process::new(|| loop { std::thread::park() });
    /// process.set_daemon(true);
    /// process.start()?;
    /// drop(process); // terminated and reaped, not waited for
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn set_daemon(&mut self, daemon: bool) {
        self.daemon = daemon;
    }

    /// The child's process id, once started.
    ///
    /// ```
    /// let mut process = common::Process::new(|| {});
    /// assert_eq!(process.pid(), None);
    /// process.start()?;
    /// assert_ne!(process.pid(), Some(std::process::id()));
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn pid(&self) -> Option<u32> {
        self.pid.map(|pid| pid.as_raw().unsigned_abs())
    }

    /// Starts the child, which runs the target: a copy of this process
    /// (fork) or a fresh run of this executable (spawn), as
    /// [`set_start_method`](Process::set_start_method) or
    /// [`get_start_method`] says. Stdout and stderr
    /// are flushed first, so nothing buffered is printed twice.
    ///
    /// # Errors
    ///
    /// [`Error::AlreadyStarted`] on a second call, [`Error::MultiThreaded`]
    /// when the caller has other threads and the method is fork,
    /// [`Error::NeedsFork`] for a closure under spawn, [`Error::Os`] when the
    /// system refuses to create the process.
    ///
    /// ```
    /// let mut process = common::Process::new(|| {});
    /// process.start()?;
    /// assert!(matches!(process.start(), Err(common::Error::AlreadyStarted { .. })));
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn start(&mut self) -> Result<()> {
        let Some(target) = &self.target else {
            return Err(Error::AlreadyStarted {
                name: self.name.clone(),
            });
        };
        let method = match self.start_method {
            Some(method) => method,
            // A closure can only be forked: say so rather than fail to spawn.
            None if !target.sendable() => StartMethod::Fork,
            None => get_start_method()?,
        };
        let pid = target::start(&mut self.target, &self.name, method)?;
        // The parent's copies of what went to the child close here, so that
        // the child holds the only ones (a pipe's end sees end-of-file when
        // the child ends).
        self.target = None;
        self.pid = Some(pid);
        crate::children::started(pid, &self.name);
        Ok(())
    }

    /// A descriptor that becomes readable when the child ends, like
    /// `Process.sentinel`: give it to [`wait`](crate::wait) with
    /// connections to wait for whichever comes first. It is opened by the
    /// first call (a pidfd while the child is unreaped; once it has been
    /// reaped, a descriptor readable for good) and kept until `close`.
    ///
    /// # Errors
    ///
    /// [`Error::NotStarted`] before `start`; [`Error::Os`] on a kernel
    /// without pidfds (before Linux 5.3), or after [`close`](Process::close).
    ///
    /// ```
    /// let mut child = common::Process::new(|| {});
    /// child.start()?;
    /// let ready = common::wait(&[child.sentinel()?], None)?;
    /// assert_eq!(ready, [0]);
    /// child.join()?;
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn sentinel(&self) -> Result<BorrowedFd<'_>> {
        let pid = self.started()?;
        let none = |why: &str| {
            Error::os(
                "pidfd_open",
                std::io::Error::new(std::io::ErrorKind::Unsupported, why.to_owned()),
            )
        };
        if self.closed {
            return Err(none("closed"));
        }
        if let Some(fd) = self.sentinel.get() {
            return Ok(fd.as_fd());
        }
        let fd = if self.ended.get().is_some() {
            // Reaped: its pid may be another process's now. A descriptor
            // that is readable for good stands for the child that ended.
            sys::ready_fd()
        } else {
            // Not reaped (only this object reaps it), so the pid is still
            // the child's, alive or a zombie: the pidfd names it for good.
            sys::pidfd_open(pid)
        };
        let fd = fd.ok_or_else(|| none("no sentinel"))?;
        Ok(self.sentinel.get_or_init(|| fd).as_fd())
    }

    /// Releases what the process object holds (its sentinel), like
    /// `Process.close`; the exit code stays readable.
    ///
    /// # Errors
    ///
    /// [`Error::StillRunning`] while the child runs (Python raises
    /// `ValueError`).
    ///
    /// ```
    /// let mut child = common::Process::new(|| {});
    /// child.start()?;
    /// child.join()?;
    /// child.close()?;
    /// assert_eq!(child.exitcode(), Some(0));
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn close(&mut self) -> Result<()> {
        if self.is_alive() {
            return Err(Error::StillRunning {
                name: self.name.clone(),
            });
        }
        self.sentinel = OnceCell::new();
        self.closed = true;
        Ok(())
    }

    /// Waits for the child to end. Returns at once if it already has.
    ///
    /// ```
    /// let mut process = common::Process::new(|| {});
    /// process.start()?;
    /// process.join()?;
    /// process.join()?; // idempotent
    /// assert!(!process.is_alive());
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn join(&self) -> Result<()> {
        let pid = self.started()?;
        if self.ended.get().is_none() {
            self.record(sys::reap(pid, true)?);
        }
        Ok(())
    }

    /// Waits at most `timeout` for the child to end. Returns whether it did,
    /// which Python leaves the caller to find out with `is_alive`.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let mut process = common::Process::new(|| loop { std::thread::park() });
    /// process.start()?;
    /// assert!(!process.join_timeout(Duration::from_millis(10))?);
    /// process.kill()?;
    /// assert!(process.join_timeout(Duration::from_secs(10))?);
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn join_timeout(&self, timeout: Duration) -> Result<bool> {
        let pid = self.started()?;
        if self.ended.get().is_none() {
            self.record(sys::reap_timeout(pid, timeout)?);
        }
        Ok(self.ended.get().is_some())
    }

    /// Whether the child has been started and has not ended yet.
    ///
    /// ```
    /// let mut process = common::Process::new(|| loop { std::thread::park() });
    /// assert!(!process.is_alive());
    /// process.start()?;
    /// assert!(process.is_alive());
    /// process.kill()?;
    /// process.join()?;
    /// assert!(!process.is_alive());
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn is_alive(&self) -> bool {
        let Some(pid) = self.pid else {
            return false;
        };
        if self.ended.get().is_none() {
            // An error here means the child is not ours to wait for any more.
            self.record(sys::reap(pid, false).unwrap_or(None));
        }
        self.ended.get().is_none()
    }

    /// Python's `exitcode`: `None` while running (or not started), else the
    /// exit code, 1 if the target panicked, `-N` if killed by signal `N`.
    ///
    /// ```
    /// let mut process = common::Process::new(|| std::process::exit(3));
    /// process.start()?;
    /// process.join()?;
    /// assert_eq!(process.exitcode(), Some(3));
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn exitcode(&self) -> Option<i32> {
        self.is_alive();
        self.ended.get().map(Ended::exitcode)
    }

    /// How the child ended, once it has.
    ///
    /// ```
    /// let mut process = common::Process::new(|| {});
    /// process.start()?;
    /// process.join()?;
    /// assert_eq!(process.ended(), Some(common::Ended::Exited(0)));
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn ended(&self) -> Option<Ended> {
        self.is_alive();
        self.ended.get()
    }

    /// Sends SIGTERM, like `Process.terminate`. Does not wait: join after it.
    ///
    /// ```
    /// let mut process = common::Process::new(|| loop { std::thread::park() });
    /// process.start()?;
    /// process.terminate()?;
    /// process.join()?;
    /// assert_eq!(process.exitcode(), Some(-15));
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn terminate(&self) -> Result<()> {
        self.signal(Signal::SIGTERM)
    }

    /// Sends SIGKILL, like `Process.kill`. Does not wait: join after it.
    ///
    /// ```
    /// let mut process = common::Process::new(|| loop { std::thread::park() });
    /// process.start()?;
    /// process.kill()?;
    /// process.join()?;
    /// assert_eq!(process.exitcode(), Some(-9));
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn kill(&self) -> Result<()> {
        self.signal(Signal::SIGKILL)
    }

    fn signal(&self, signal: Signal) -> Result<()> {
        let pid = self.started()?;
        // Once reaped, the pid may belong to another process: leave it alone.
        if self.is_alive() {
            kill(pid, signal).map_err(|e| Error::os("kill", e))?;
        }
        Ok(())
    }

    /// Notes how the child ended, once it has.
    fn record(&self, ended: Option<Ended>) {
        if let Some(ended) = ended {
            log::event(format_args!(
                "{} (pid {}) {ended}",
                self.name,
                self.pid.map_or(0, Pid::as_raw)
            ));
            self.ended.set(Some(ended));
            if let Some(pid) = self.pid {
                crate::children::ended(pid);
            }
        }
    }

    fn started(&self) -> Result<Pid> {
        self.pid.ok_or_else(|| Error::NotStarted {
            name: self.name.clone(),
        })
    }
}

impl fmt::Debug for Process {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Process")
            .field("name", &self.name)
            .field("pid", &self.pid())
            .field("ended", &self.ended.get())
            .finish()
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        if self.pid.is_none() {
            return;
        }
        // Dropped while its thread panics, the child may be waiting for
        // the very thing the panic cut short (a reply on a pipe whose other
        // end this thread still holds): joining alone could wait forever.
        // It gets a grace to end by itself, then ends as a daemon does.
        let panicking = std::thread::panicking() && !self.join_timeout(PANIC_GRACE).unwrap_or(true);
        if (self.daemon || panicking)
            && self.terminate().is_ok()
            && !self.join_timeout(DAEMON_GRACE).unwrap_or(false)
        {
            let _ = self.kill();
        }
        let _ = self.join();
    }
}

/// How long a dropped daemon has to end after SIGTERM before SIGKILL.
const DAEMON_GRACE: Duration = Duration::from_secs(1);

/// How long a process dropped during a panic has to end by itself before
/// it is terminated.
const PANIC_GRACE: Duration = Duration::from_secs(1);
