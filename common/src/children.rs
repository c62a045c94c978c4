//! The children this process started: those that still run
//! ([`active_children`], like `multiprocessing.active_children()`), and one
//! just started that the code starting it has not handed over yet
//! ([`Unclaimed`]).

use std::sync::{Mutex, PoisonError};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::identity::ProcessInfo;
use crate::sys;

/// Every child started here (processes and pool workers) not yet seen to
/// end, and the process that started it (a forked child inherits the list,
/// not the children).
static STARTED: Mutex<Vec<(u32, ProcessInfo)>> = Mutex::new(Vec::new());

/// Notes that this process started `name` as `pid`.
pub(crate) fn started(pid: Pid, name: &str) {
    let mut started = STARTED.lock().unwrap_or_else(PoisonError::into_inner);
    // The list is pruned as it doubles, so that a program starting many
    // children keeps only the live ones.
    if started.len() >= 64 && started.len().is_power_of_two() {
        prune(&mut started);
    }
    started.push((
        std::process::id(),
        ProcessInfo {
            name: name.to_owned(),
            pid: pid.as_raw().unsigned_abs(),
        },
    ));
}

/// The children this process started (with [`Process`](crate::Process) or
/// as [`Pool`](crate::Pool) workers) that have not ended, like
/// `multiprocessing.active_children()`. Unlike Python's, it reaps nothing:
/// a child that ended stays for its `Process` to join.
///
/// ```
/// let mut child = common::Process::new(|| loop { std::thread::park() });
/// child.start()?;
/// let pid = child.pid().expect("started");
/// assert!(common::active_children().iter().any(|c| c.pid == pid));
/// child.kill()?;
/// child.join()?;
/// assert!(!common::active_children().iter().any(|c| c.pid == pid));
/// # Ok::<(), common::Error>(())
/// ```
pub fn active_children() -> Vec<ProcessInfo> {
    let mut started = STARTED.lock().unwrap_or_else(PoisonError::into_inner);
    prune(&mut started);
    started.iter().map(|(_, child)| child.clone()).collect()
}

/// Keeps the children of this process that have not ended.
fn prune(started: &mut Vec<(u32, ProcessInfo)>) {
    let me = std::process::id();
    started.retain(|(parent, child)| {
        *parent == me && !sys::has_ended(Pid::from_raw(child.pid.cast_signed()))
    });
}

/// A child just started, not yet handed to what will reap it (a
/// [`Process`](crate::Process), a pool's worker): if the start fails after
/// the child exists (no descriptor left for its channel, a failed write of
/// its work), dropping this kills and reaps it, so that a failed start
/// leaves no process behind, live or zombie.
pub(crate) struct Unclaimed(Option<Pid>);

impl Unclaimed {
    /// Child `pid`, just started.
    pub(crate) fn new(pid: Pid) -> Unclaimed {
        Unclaimed(Some(pid))
    }

    /// Its pid, without handing it over.
    pub(crate) fn pid(&self) -> Pid {
        self.0.expect("held until claimed")
    }

    /// Hands the child over: the caller reaps it from now on.
    pub(crate) fn claim(mut self) -> Pid {
        self.0.take().expect("held until claimed")
    }
}

impl Drop for Unclaimed {
    fn drop(&mut self) {
        if let Some(pid) = self.0.take() {
            let _ = kill(pid, Signal::SIGKILL);
            let _ = sys::reap(pid, true);
        }
    }
}
