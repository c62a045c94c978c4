//! The children this process started: those that still run
//! ([`active_children`], like `multiprocessing.active_children()`, each as
//! an [`ActiveChild`]), and one just started that the code starting it has
//! not handed over yet ([`Unclaimed`]).

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::error::{Error, Result};
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
        sys::this_process::pid(),
        ProcessInfo {
            name: name.to_owned(),
            pid: pid.as_raw().unsigned_abs(),
        },
    ));
}

/// Notes that `pid`, started by this process, was reaped: it leaves the
/// list at once, rather than be found ended when the list is pruned (one
/// `waitid` for every child listed, each time the list doubles).
pub(crate) fn ended(pid: Pid) {
    let (pid, me) = (pid.as_raw().unsigned_abs(), sys::this_process::pid());
    let mut started = STARTED.lock().unwrap_or_else(PoisonError::into_inner);
    // The oldest entry of that pid: the child reaped was started before
    // any later child the kernel gave the same pid again.
    if let Some(at) = started
        .iter()
        .position(|(parent, child)| *parent == me && child.pid == pid)
    {
        started.remove(at);
    }
}

/// The children this process started (with [`Process`](crate::Process) or
/// as [`Pool`](crate::Pool) workers) that have not ended, like
/// `multiprocessing.active_children()`, each as a handle that can stop it
/// or wait for it.
///
/// Python gives back the `Process` objects themselves, and joins (reaps)
/// those that ended. Here a child belongs to the `Process` or `Pool` that
/// started it, which alone reaps it and learns its exit code: so this
/// reaps nothing, and an [`ActiveChild`] waits for its child's end without
/// reaping it (the owner's `join` then returns at once).
///
/// ```
/// let mut child = common::Process::new(|| loop { std::thread::park() });
/// child.start()?;
/// let active = common::active_children();
/// let found = active.iter().find(|c| Some(c.pid()) == child.pid()).expect("active");
/// assert!(found.name().starts_with("Process-"));
/// found.terminate()?;
/// found.join()?;
/// assert!(!found.is_alive());
/// child.join()?;
/// assert_eq!(child.exitcode(), Some(-15));
/// assert!(!common::active_children().iter().any(|c| Some(c.pid()) == child.pid()));
/// # Ok::<(), common::Error>(())
/// ```
pub fn active_children() -> Vec<ActiveChild> {
    let mut started = STARTED.lock().unwrap_or_else(PoisonError::into_inner);
    prune(&mut started);
    started
        .iter()
        .map(|(_, child)| {
            let pid = Pid::from_raw(child.pid.cast_signed());
            ActiveChild {
                info: child.clone(),
                // Opened while the child is ours and unreaped, so it names
                // that child for good, whatever becomes of the pid.
                sentinel: sys::pidfd_open(pid),
            }
        })
        .collect()
}

/// A child of this process that was running when [`active_children`]
/// listed it: its name and pid, and what can be done to it without owning
/// it (signals, waiting for its end). Its [`Process`](crate::Process) or
/// [`Pool`](crate::Pool) still reaps it.
#[derive(Debug)]
pub struct ActiveChild {
    info: ProcessInfo,
    /// A pidfd on the child, where the kernel gives one (Linux 5.3 on).
    sentinel: Option<OwnedFd>,
}

impl ActiveChild {
    /// Its name, like `p.name`: `Process-N`, `PoolWorker-N`, or the name
    /// it was given.
    pub fn name(&self) -> &str {
        &self.info.name
    }

    /// Its process id, like `p.pid`.
    pub fn pid(&self) -> u32 {
        self.info.pid
    }

    fn raw_pid(&self) -> Pid {
        Pid::from_raw(self.info.pid.cast_signed())
    }

    /// Whether it still runs, like `p.is_alive()`.
    pub fn is_alive(&self) -> bool {
        !sys::has_ended(self.raw_pid())
    }

    /// Sends SIGTERM, like `p.terminate()`. Nothing is sent once it has
    /// ended.
    ///
    /// # Errors
    ///
    /// [`Error::Os`] if the system refuses the signal.
    pub fn terminate(&self) -> Result<()> {
        self.signal(Signal::SIGTERM)
    }

    /// Sends SIGKILL, like `p.kill()`.
    ///
    /// # Errors
    ///
    /// [`Error::Os`] if the system refuses the signal.
    pub fn kill(&self) -> Result<()> {
        self.signal(Signal::SIGKILL)
    }

    fn signal(&self, signal: Signal) -> Result<()> {
        if !self.is_alive() {
            return Ok(());
        }
        match &self.sentinel {
            Some(pidfd) => match sys::pidfd_signal(pidfd.as_fd(), signal) {
                // It ended (and was reaped) in between: nothing to do.
                Err(Error::Os { source, .. }) if source.raw_os_error() == Some(libc::ESRCH) => {
                    Ok(())
                }
                sent => sent,
            },
            None => {
                nix::sys::signal::kill(self.raw_pid(), signal).map_err(|e| Error::os("kill", e))
            }
        }
    }

    /// Waits until it has ended, like `p.join()`, without reaping it (its
    /// owner does).
    ///
    /// # Errors
    ///
    /// [`Error::Os`] if waiting fails.
    pub fn join(&self) -> Result<()> {
        while !self.join_timeout(Duration::from_secs(3600))? {}
        Ok(())
    }

    /// Waits at most `timeout` for it to end; whether it did.
    ///
    /// # Errors
    ///
    /// [`Error::Os`] if waiting fails.
    pub fn join_timeout(&self, timeout: Duration) -> Result<bool> {
        let deadline = sys::deadline_in(timeout);
        loop {
            if !self.is_alive() {
                return Ok(true);
            }
            let left = deadline.map_or(Duration::MAX, |d| {
                d.saturating_duration_since(std::time::Instant::now())
            });
            if left.is_zero() {
                return Ok(false);
            }
            match &self.sentinel {
                Some(pidfd) => {
                    sys::readable(pidfd.as_fd(), left).map_err(|e| Error::os("poll", e))?;
                }
                None => std::thread::sleep(left.min(Duration::from_millis(2))),
            }
        }
    }

    /// A descriptor that becomes readable when it ends, like `p.sentinel`
    /// (`None` on a kernel without pidfds, before Linux 5.3).
    pub fn sentinel(&self) -> Option<BorrowedFd<'_>> {
        self.sentinel.as_ref().map(AsFd::as_fd)
    }
}

/// Keeps the children of this process that have not ended.
fn prune(started: &mut Vec<(u32, ProcessInfo)>) {
    let me = sys::this_process::pid();
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
