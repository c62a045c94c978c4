//! A run's deadline, kept by a clock of its own.
//!
//! The watch loop looks at the clock on every round, and every round is
//! bounded (the tracer handles a slice of events at a time, however many
//! are pending), so a program that keeps the tracer busy (threads flooding
//! system calls, a million tiny writes, stop signals) cannot keep it from
//! looking. Behind it, a watchdog thread sleeps until the deadline and a
//! little more, and then kills the run's init (in a PID namespace, every
//! process of the run dies with it) and the program's process group,
//! whatever the loop is doing; the loop then reports the timeout.
//!
//! Before it kills, the watchdog reads where each process of the run was
//! (`stuck.rs`), for the report, in case the loop had not yet.
//!
//! After the deadline, and after the main process has ended, the grader
//! still stops what is left, reaps it and reads the last of the output:
//! each of those waits is bounded by [`Deadline::by`], so that the verdict
//! comes by the timeout plus [`VERDICT_GRACE`] at the latest.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill, killpg};
use nix::unistd::Pid;

use super::stuck::{self, Stuck};
use crate::procfs;

/// How long after the timeout every wait of the grader is over: the run
/// has a verdict by its timeout plus this (and the time to judge).
pub const VERDICT_GRACE: Duration = Duration::from_millis(900);

/// How long after the deadline the watchdog kills the run, if the watch
/// loop has not stopped it yet.
const WATCHDOG_LATE: Duration = Duration::from_millis(100);

/// The shortest wait granted to the clearing after a run, even past
/// [`VERDICT_GRACE`]: enough for the dying to be reaped.
const LEAST_WAIT: Duration = Duration::from_millis(20);

/// A run's deadline and its watchdog.
pub(super) struct Deadline {
    at: Instant,
    verdict_by: Instant,
    fired: Arc<AtomicBool>,
    /// Where the run's processes were when the watchdog struck.
    seen_by_watchdog: Arc<Mutex<Vec<Stuck>>>,
    watchdog: Option<(mpsc::Sender<()>, JoinHandle<()>)>,
}

impl Deadline {
    /// Keeps the clock of a run whose time is up at `at` (its grading
    /// began, launch included, `timeout` before). The watchdog kills
    /// `init` (if any) and process group `group` (the program's, where no
    /// PID namespace ends it with the init) a little after that, unless
    /// disarmed first.
    pub(super) fn start(at: Instant, init: Option<Pid>, group: Option<Pid>) -> Deadline {
        let fired = Arc::new(AtomicBool::new(false));
        let (disarm, disarmed) = mpsc::channel::<()>();
        let flag = Arc::clone(&fired);
        let seen_by_watchdog = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&seen_by_watchdog);
        let watchdog = thread::Builder::new()
            .name("grader-watchdog".to_owned())
            .spawn(move || {
                let late = (at + WATCHDOG_LATE).saturating_duration_since(Instant::now());
                if let Err(RecvTimeoutError::Timeout) = disarmed.recv_timeout(late) {
                    // Before the kill, and before the flag says it came.
                    let pids = match (init, group) {
                        (Some(init), _) => procfs::descendants(init),
                        (None, Some(group)) => procfs::group_members(group)
                            .into_iter()
                            .map(|(pid, _)| pid)
                            .collect(),
                        (None, None) => Vec::new(),
                    };
                    *seen.lock().unwrap_or_else(PoisonError::into_inner) =
                        stuck::snapshot(&pids, &[]);
                    flag.store(true, Ordering::SeqCst);
                    // The init is our child and is not reaped before the
                    // watchdog is disarmed, so its pid is still its own.
                    if let Some(init) = init {
                        let _ = kill(init, Signal::SIGKILL);
                    }
                    if let Some(group) = group {
                        let _ = killpg(group, Signal::SIGKILL);
                    }
                }
            })
            .ok()
            .map(|handle| (disarm, handle));
        Deadline {
            at,
            verdict_by: at + VERDICT_GRACE,
            fired,
            seen_by_watchdog,
            watchdog,
        }
    }

    /// Whether the run's time is up (or the watchdog has struck).
    pub(super) fn passed(&self) -> bool {
        Instant::now() >= self.at || self.fired.load(Ordering::SeqCst)
    }

    /// Where the run's processes were when the watchdog struck, if it has
    /// (it reads them before it kills).
    pub(super) fn seen_by_watchdog(&self) -> Option<Vec<Stuck>> {
        self.fired.load(Ordering::SeqCst).then(|| {
            self.seen_by_watchdog
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone()
        })
    }

    /// When a wait of up to `bound` from now must end: at the latest when
    /// the verdict is due (but never less than a few milliseconds).
    pub(super) fn by(&self, bound: Duration) -> Instant {
        let now = Instant::now();
        (now + bound).min(self.verdict_by.max(now + LEAST_WAIT))
    }

    /// Stops the watchdog, and waits for it: after this, it kills nothing.
    pub(super) fn disarm(&mut self) {
        if let Some((disarm, handle)) = self.watchdog.take() {
            let _ = disarm.send(());
            let _ = handle.join();
        }
    }
}

impl Drop for Deadline {
    fn drop(&mut self) {
        self.disarm();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A wait asked for after the deadline (the output's two-second drain,
    /// say) ends by the grace, or a few milliseconds from now if that has
    /// passed too; one asked for long before it is not cut short.
    #[test]
    fn every_wait_ends_by_the_timeout_plus_the_grace() {
        let drain = Duration::from_secs(2);
        let at = Instant::now();
        let passed = Deadline::start(at, None, None);
        assert!(passed.passed());
        let asked = Instant::now();
        let by = passed.by(drain);
        // By the grace, unless this thread was held up past it meanwhile.
        let bound = (at + VERDICT_GRACE).max(asked + LEAST_WAIT);
        assert!(by <= bound, "{:?}", by - at);
        let late = Instant::now() + VERDICT_GRACE;
        thread::sleep(late.saturating_duration_since(Instant::now()));
        let asked = Instant::now();
        let by = passed.by(drain);
        assert!(by >= asked + LEAST_WAIT && by <= Instant::now() + LEAST_WAIT);

        let far = Deadline::start(Instant::now() + Duration::from_secs(60), None, None);
        assert!(!far.passed());
        let asked = Instant::now();
        assert!(far.by(drain) >= asked + drain);
    }
}
