//! The one error type of this crate, and how a process ended.

use std::fmt;

use nix::sys::signal::Signal;

/// What can go wrong when creating, joining or pooling processes.
///
/// Every message is one lowercase line. When a child process is involved, the
/// message names it (name or pid) and says how it ended.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// [`Process::start`](crate::Process::start) was called on a process that
    /// had already been started. Python raises `AssertionError` here.
    #[error("{name} was already started; a process can be started only once")]
    AlreadyStarted {
        /// The process's name, such as `Process-1`.
        name: String,
    },

    /// An operation that needs a running or finished process was called before
    /// [`Process::start`](crate::Process::start).
    #[error("{name} has not been started")]
    NotStarted {
        /// The process's name, such as `Process-1`.
        name: String,
    },

    /// The calling process has more than one thread, so forking it is unsafe:
    /// the child would inherit locks (the allocator's, stdout's) that other
    /// threads may have held at the moment of the fork, and could deadlock.
    #[error(
        "refusing to fork: this process has {threads} threads, and a forked child could deadlock \
         on a lock another thread held; create processes from a single-threaded program, or use \
         the spawn start method (COMMON_START_METHOD=spawn)"
    )]
    MultiThreaded {
        /// How many threads the process had.
        threads: usize,
    },

    /// A pool must have at least one worker.
    #[error("a pool needs at least one worker process, got {0}")]
    NoWorkers(usize),

    /// A pool worker ended while it was running a task.
    #[error("pool worker (pid {pid}) {how} while running item {index}")]
    WorkerDied {
        /// The position, in the input, of the item the worker was running.
        index: usize,
        /// The worker's process id.
        pid: u32,
        /// How the worker ended.
        how: Ended,
    },

    /// A task panicked inside a pool worker. Python re-raises the worker's
    /// exception in the parent; this is the Rust equivalent. The message
    /// comes first, then where.
    #[error("{message} (item {index} panicked in pool worker, pid {pid})")]
    TaskPanicked {
        /// The position, in the input, of the item whose task panicked.
        index: usize,
        /// The worker's process id.
        pid: u32,
        /// The panic's message.
        message: String,
    },

    /// A task of a `try_` call ([`Pool::try_map`](crate::Pool::try_map),
    /// [`Pool::try_apply`](crate::Pool::try_apply)...) returned an error;
    /// the message is the error's own (its `Display`), as Python re-raises
    /// a task's exception, and [`Error::task_error`] gives the error back.
    #[error("{message}")]
    TaskFailed {
        /// The position, in the input, of the item whose task failed.
        index: usize,
        /// The worker's process id.
        pid: u32,
        /// The error's message.
        message: String,
        /// The error, encoded.
        error: Vec<u8>,
    },

    /// An argument or a result could not be serialized or deserialized on its
    /// way between the parent and a pool worker.
    #[error("item {index} could not cross the pipe to or from the worker: {message}")]
    Codec {
        /// The position, in the input, of the item concerned.
        index: usize,
        /// What the serializer said.
        message: String,
    },

    /// Work was submitted to a pool after [`Pool::close`](crate::Pool::close)
    /// or [`Pool::terminate`](crate::Pool::terminate). Python raises
    /// `ValueError("Pool not running")`.
    #[error("the pool is not running: it was closed or terminated")]
    PoolNotRunning,

    /// [`Pool::join`](crate::Pool::join) was called on a pool that is still
    /// running. Python raises `ValueError` here.
    #[error("join needs a closed or terminated pool; call close or terminate first")]
    PoolStillRunning,

    /// The pool was terminated before this task finished.
    #[error("the pool was terminated before item {index} finished")]
    Terminated {
        /// The position, in its call's input, of the unfinished item.
        index: usize,
    },

    /// Nothing was ready within the time given: a pool's result, a value
    /// in a queue, a message on a connection. Python raises
    /// `multiprocessing.TimeoutError` (`queue.Empty` for a queue).
    #[error("timed out: nothing was ready within {0:?}")]
    Timeout(std::time::Duration),

    /// [`AsyncResult::successful`](crate::AsyncResult::successful) was asked
    /// before the result was ready. Python raises `ValueError`.
    #[error("the result is not ready yet")]
    NotReady,

    /// SIGINT (Ctrl-C) arrived while waiting for a pool. The pool's workers
    /// were terminated and reaped; the caller should exit with code 130.
    #[error("interrupted")]
    Interrupted,

    /// [`START_METHOD_ENV`](crate::START_METHOD_ENV) or a caller named a
    /// start method that does not exist.
    #[error("unknown start method {0:?}: use fork, spawn or forkserver")]
    UnknownStartMethod(String),

    /// A process built from a closure was to be started with spawn, which
    /// can only send a `fn` and serde arguments to the new process.
    #[error(
        "{name} runs a closure, which cannot cross to a spawned process; build it with \
         Process::with_args(function, args), or use the fork start method"
    )]
    NeedsFork {
        /// The process's name.
        name: String,
    },

    /// A pool was given a task it cannot send to its workers: a closure
    /// that captures something, or a `fn` pointer of several parameters
    /// (see [`Function`](crate::Function)).
    #[error(
        "{function} cannot be sent to a pool's workers: give a function, or a closure that \
         captures nothing"
    )]
    Unsendable {
        /// The type of what was given.
        function: &'static str,
    },

    /// The other end of a [`pipe`](crate::pipe) was closed: nothing more
    /// will come. Python raises `EOFError`.
    #[error("the other end of the pipe was closed")]
    PipeClosed,

    /// A [`Manager`](crate::Manager)'s proxy was used after its server
    /// ended: the manager was shut down or dropped, or its process died.
    /// Python raises `BrokenPipeError`, `EOFError` or
    /// `ConnectionRefusedError`, as the socket said.
    #[error("the manager's server is gone: the manager was shut down, or its process ended")]
    ManagerGone,

    /// [`JoinableQueue::task_done`](crate::JoinableQueue::task_done) was
    /// called more times than values were put. Python raises `ValueError`.
    #[error("task_done was called more times than values were put")]
    TaskDoneTooOften,

    /// [`BoundedSemaphore::release`](crate::BoundedSemaphore::release) was
    /// called with every place already free, or
    /// [`Lock::release`](crate::Lock::release) on a free lock. Python raises
    /// `ValueError`.
    #[error("the semaphore or lock was released more times than it was acquired")]
    ReleasedTooOften,

    /// [`RLock::release`](crate::RLock::release) by a thread that does not
    /// hold it. Python raises `RuntimeError`.
    #[error("cannot release an RLock this thread does not hold")]
    NotOwner,

    /// A [`Barrier`](crate::Barrier) was aborted, reset while this party
    /// waited, or broken by a party's timeout. Python raises
    /// `BrokenBarrierError`.
    #[error("the barrier is broken (aborted, reset, or a party timed out)")]
    BrokenBarrier,

    /// A [`Queue`](crate::Queue) was full for as long as `put` could wait
    /// (Python raises `queue.Full`).
    #[error("the queue is full")]
    Full,

    /// The peer of a [`Listener`](crate::Listener) or
    /// [`client`](crate::client) did not prove it knows the authentication
    /// key (or did not finish the handshake in time). Python raises
    /// `AuthenticationError`.
    #[error("authentication failed: the other side does not know the key")]
    AuthenticationFailed,

    /// A message received on a [`Connection`](crate::Connection) is not a
    /// value of the type asked for: it was sent as another type (by a
    /// program that thinks the connection carries something else) or as
    /// raw bytes. Python raises `UnpicklingError` or gives a wrong object.
    #[error("a message could not be read as {expected}: {why}")]
    WrongType {
        /// The type the receiver asked for.
        expected: &'static str,
        /// What was wrong with the message.
        why: String,
    },

    /// A [`Process`](crate::Process) was closed while still running
    /// (Python raises `ValueError`).
    #[error("{name} is still running; join or kill it before closing it")]
    StillRunning {
        /// The process's name.
        name: String,
    },

    /// A [`Manager`](crate::Manager)'s server refused a request (an index
    /// out of range, say) or did not start.
    #[error("manager: {0}")]
    Manager(String),

    /// A [`Queue`](crate::Queue) was used after
    /// [`close`](crate::Queue::close) by this handle.
    #[error("the queue was closed")]
    QueueClosed,

    /// A system call failed. The message names the call and the system's
    /// reason, its errno's name and text (`pipe failed: EMFILE: Too many
    /// open files`); the `io::Error` is also the error's source.
    #[error("{call} failed: {}", os_reason(source))]
    Os {
        /// What was being done, such as `fork`.
        call: &'static str,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    /// The exit code a program should end with after this error: 130 (as a
    /// shell reports Ctrl-C) for [`Error::Interrupted`], else 1.
    ///
    /// ```
    /// assert_eq!(common::Error::Interrupted.exit_code(), 130);
    /// assert_eq!(common::Error::NoWorkers(0).exit_code(), 1);
    /// ```
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Interrupted => 130,
            _ => 1,
        }
    }

    /// A copy of this error, for a callback that sees it while the caller
    /// gets it too (an `io::Error` source is copied as its kind and
    /// message).
    /// The error a task of a `try_` call returned, decoded as `E` (the
    /// task's error type): `None` for any other error, or if it was not an
    /// `E`.
    ///
    /// ```
    /// fn checked_sqrt(n: i64) -> Result<i64, String> {
    ///     if n < 0 {
    ///         return Err(format!("{n} is negative"));
    ///     }
    ///     Ok(n.isqrt())
    /// }
    ///
    /// let mut pool = common::Pool::new(2)?;
    /// let error = pool.try_map(checked_sqrt, [4, -1, 9]).expect_err("-1 fails");
    /// assert_eq!(error.to_string(), "-1 is negative");
    /// assert_eq!(error.task_error::<String>(), Some("-1 is negative".to_owned()));
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn task_error<E: serde::de::DeserializeOwned>(&self) -> Option<E> {
        match self {
            Error::TaskFailed { error, .. } => postcard::from_bytes(error).ok(),
            _ => None,
        }
    }

    pub(crate) fn duplicate(&self) -> Error {
        match self {
            Error::AlreadyStarted { name } => Error::AlreadyStarted { name: name.clone() },
            Error::NotStarted { name } => Error::NotStarted { name: name.clone() },
            Error::MultiThreaded { threads } => Error::MultiThreaded { threads: *threads },
            Error::NoWorkers(n) => Error::NoWorkers(*n),
            Error::WorkerDied { index, pid, how } => Error::WorkerDied {
                index: *index,
                pid: *pid,
                how: *how,
            },
            Error::TaskPanicked {
                index,
                pid,
                message,
            } => Error::TaskPanicked {
                index: *index,
                pid: *pid,
                message: message.clone(),
            },
            Error::TaskFailed {
                index,
                pid,
                message,
                error,
            } => Error::TaskFailed {
                index: *index,
                pid: *pid,
                message: message.clone(),
                error: error.clone(),
            },
            Error::Codec { index, message } => Error::Codec {
                index: *index,
                message: message.clone(),
            },
            Error::PoolNotRunning => Error::PoolNotRunning,
            Error::PoolStillRunning => Error::PoolStillRunning,
            Error::Terminated { index } => Error::Terminated { index: *index },
            Error::Timeout(timeout) => Error::Timeout(*timeout),
            Error::NotReady => Error::NotReady,
            Error::Interrupted => Error::Interrupted,
            Error::UnknownStartMethod(name) => Error::UnknownStartMethod(name.clone()),
            Error::NeedsFork { name } => Error::NeedsFork { name: name.clone() },
            Error::Unsendable { function } => Error::Unsendable { function },
            Error::PipeClosed => Error::PipeClosed,
            Error::ManagerGone => Error::ManagerGone,
            Error::TaskDoneTooOften => Error::TaskDoneTooOften,
            Error::ReleasedTooOften => Error::ReleasedTooOften,
            Error::NotOwner => Error::NotOwner,
            Error::BrokenBarrier => Error::BrokenBarrier,
            Error::Full => Error::Full,
            Error::AuthenticationFailed => Error::AuthenticationFailed,
            Error::WrongType { expected, why } => Error::WrongType {
                expected,
                why: why.clone(),
            },
            Error::StillRunning { name } => Error::StillRunning { name: name.clone() },
            Error::Manager(message) => Error::Manager(message.clone()),
            Error::QueueClosed => Error::QueueClosed,
            Error::Os { call, source } => Error::Os {
                call,
                source: match source.raw_os_error() {
                    Some(code) => std::io::Error::from_raw_os_error(code),
                    None => std::io::Error::new(source.kind(), source.to_string()),
                },
            },
        }
    }

    pub(crate) fn os(call: &'static str, source: impl Into<std::io::Error>) -> Error {
        Error::Os {
            call,
            source: source.into(),
        }
    }
}

/// What the system said, for a message: an errno's name and text
/// (`EAGAIN: Resource temporarily unavailable`), else the error's own text.
fn os_reason(error: &std::io::Error) -> String {
    match error.raw_os_error() {
        Some(code) => nix::errno::Errno::from_raw(code).to_string(),
        None => error.to_string(),
    }
}

/// A `Result` whose error is this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// How a child process ended: an exit code or a signal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// The process exited with this code.
    Exited(i32),
    /// The process was killed by this signal.
    Signaled(Signal),
}

impl Ended {
    /// The value Python's `Process.exitcode` gives: the exit code, or `-N`
    /// when killed by signal `N`.
    ///
    /// ```
    /// use nix::sys::signal::Signal;
    ///
    /// assert_eq!(common::Ended::Exited(3).exitcode(), 3);
    /// assert_eq!(common::Ended::Signaled(Signal::SIGKILL).exitcode(), -9);
    /// ```
    pub fn exitcode(self) -> i32 {
        match self {
            Ended::Exited(code) => code,
            Ended::Signaled(signal) => -(signal as i32),
        }
    }
}

impl fmt::Display for Ended {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Ended::Exited(code) => write!(f, "exited with code {code}"),
            Ended::Signaled(signal) => {
                write!(
                    f,
                    "was killed by signal {} ({})",
                    *signal as i32,
                    signal.as_str()
                )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_call_says_what_the_system_said() {
        let error = Error::os("pipe", nix::errno::Errno::EMFILE);
        assert_eq!(
            error.to_string(),
            "pipe failed: EMFILE: Too many open files"
        );
        assert_eq!(error.duplicate().to_string(), error.to_string());
        let error = Error::os(
            "read from the fork server",
            std::io::Error::from(std::io::ErrorKind::UnexpectedEof),
        );
        assert_eq!(
            error.to_string(),
            "read from the fork server failed: unexpected end of file"
        );
    }

    /// A timeout is told as one, whatever waited: a queue's `get_nowait`
    /// on an empty queue once said "the result was not ready within 0ns".
    #[test]
    fn a_timeout_says_it_timed_out() {
        let error = Error::Timeout(std::time::Duration::from_millis(10));
        assert_eq!(
            error.to_string(),
            "timed out: nothing was ready within 10ms"
        );
    }
}
