//! What a [`Process`](super::Process) runs, and how its child is started
//! by each method: a closure for fork (the child takes it out of its copy
//! of the parent), and, for spawn and the fork server, the same function
//! as a `fn` with its argument encoded and the descriptors in it collected
//! (see `crossing`), sent in the child's `Boot` frame.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use nix::unistd::Pid;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::boot::Work;
use crate::crossing;
use crate::error::{Error, Result};
use crate::start::{self, StartMethod};
use crate::sys::{self, ErasedFn, ErasedOutcome, Function, Outcome, reporting};

/// A process's target, until its child has started.
pub(super) struct Target {
    /// What a forked child runs.
    closure: Forked,
    /// What a child started afresh runs: the `fn`, its encoded argument and
    /// the descriptors of the [`Connection`](crate::Connection)s in it;
    /// `None` for a closure, or an argument that could not be encoded.
    sendable: Option<(ErasedFn, Vec<u8>, Vec<OwnedFd>)>,
}

/// What a forked child runs: a plain `fn` is kept as it is, so that
/// neither the child nor the parent frees memory for it after the fork (a
/// write to a page both still share costs a copy of the page).
enum Forked {
    /// A `fn()`.
    Plain(fn()),
    /// Anything else, with the exit code it gives.
    Boxed(Box<dyn FnOnce() -> i32 + Send>),
}

impl Forked {
    /// Runs it; the exit code.
    fn run(self) -> i32 {
        match self {
            Forked::Plain(target) => {
                target();
                0
            }
            Forked::Boxed(closure) => closure(),
        }
    }
}

impl Target {
    /// `target()`, by any start method.
    pub(super) fn function(target: fn()) -> Target {
        Target {
            closure: Forked::Plain(target),
            sendable: Some((ErasedFn::nullary(target), Vec::new(), Vec::new())),
        }
    }

    /// A closure, which only fork can run.
    pub(super) fn closure(target: impl FnOnce() + Send + 'static) -> Target {
        Target {
            closure: Forked::Boxed(Box::new(move || {
                target();
                0
            })),
            sendable: None,
        }
    }

    /// `target(args)` (`target(a, b)` for a tuple), by any start method if
    /// `target` can be sent (see [`Function`]) and `args` encoded (an
    /// argument that cannot shows up when spawn needs it); by fork else.
    pub(super) fn with_args<F, A, M>(target: F, args: A) -> Target
    where
        F: Function<A, M>,
        F::Output: Outcome,
        A: Serialize + DeserializeOwned + Send + 'static,
    {
        let sendable = reporting(target).and_then(|function| {
            let (encoded, fds) = crossing::collect_fds(|| postcard::to_stdvec(&args));
            let function = match function {
                ErasedOutcome::Code(function) => ErasedFn::new(function),
                ErasedOutcome::Unit(function) => ErasedFn::new(function),
            };
            encoded.ok().map(|bytes| (function, bytes, fds))
        });
        Target {
            closure: Forked::Boxed(Box::new(move || target.call(args).exit_code())),
            sendable,
        }
    }

    /// Whether a child started afresh (spawn, the fork server) can run it.
    pub(super) fn sendable(&self) -> bool {
        self.sendable.is_some()
    }
}

/// Starts child `name` running the target in `slot` by `method`; its pid.
/// A forked child takes the target out of its copy of `slot`; in the
/// parent it stays put, so that a process whose start failed may be
/// started again.
pub(super) fn start(slot: &mut Option<Target>, name: &str, method: StartMethod) -> Result<Pid> {
    match method {
        StartMethod::Fork => sys::fork(name, || match slot.take() {
            Some(target) => target.closure.run(),
            None => 0,
        }),
        method @ (StartMethod::Spawn | StartMethod::Forkserver) => {
            let Some((func, args, fds)) = slot.as_ref().and_then(|t| t.sendable.as_ref()) else {
                return Err(Error::NeedsFork {
                    name: name.to_owned(),
                });
            };
            let work = Work::Process {
                func: *func,
                args: args.clone(),
                fds: fds.len(),
            };
            let fds: Vec<BorrowedFd<'_>> = fds.iter().map(AsFd::as_fd).collect();
            Ok(start::spawn(method, name, work, &fds)?.0.claim())
        }
    }
}
