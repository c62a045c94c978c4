//! How the main process of a run is waited for: as a tracee, whose
//! events the tracer handles, or through the sandbox's init where tracing
//! is not permitted.

use std::thread;
use std::time::{Duration, Instant};

use nix::unistd::Pid;

use crate::ending::Ending;
use crate::sandbox::Sandbox;
use crate::trace::Tracer;

/// How often the grader looks at the running program.
pub(super) const TICK: Duration = Duration::from_millis(1);

/// How long killing a run may wait for its init to be gone.
pub(super) const KILL_WAIT: Duration = Duration::from_secs(2);

/// How many processes a run may create, at any depth, before the grader
/// stops it as a fork bomb. The exercises need at most a few dozen.
pub const PROCESS_LIMIT: usize = 256;

/// How the main process is waited for: as a tracee, or through the
/// sandbox's init when tracing is not permitted (with the reason).
pub(super) enum Waiter {
    Traced(Box<Tracer>),
    Plain(String),
}

impl Waiter {
    /// How the main process ended, once it has; handles pending kernel
    /// events meanwhile.
    pub(super) fn ended(&mut self, sandbox: &mut Sandbox) -> Option<Ending> {
        match self {
            Waiter::Traced(tracer) => tracer.poll(),
            Waiter::Plain(_) => sandbox.exit_status().map(|status| {
                if libc::WIFSIGNALED(status) {
                    Ending::Signaled(libc::WTERMSIG(status))
                } else {
                    Ending::Exited(libc::WEXITSTATUS(status))
                }
            }),
        }
    }

    /// Whether the run has tried to create more than [`PROCESS_LIMIT`]
    /// processes: exactly, from the kernel's events, or else by counting
    /// the run's processes now.
    pub(super) fn over_limit(&self, sandbox: &Sandbox) -> bool {
        match self {
            Waiter::Traced(tracer) => tracer.events().over_limit,
            Waiter::Plain(_) => sandbox.members().len() > PROCESS_LIMIT + 1,
        }
    }

    /// Whether the kernel reported something in the last look.
    pub(super) fn busy(&self) -> bool {
        match self {
            Waiter::Traced(tracer) => tracer.busy(),
            Waiter::Plain(_) => false,
        }
    }

    /// Kills every process of the run: its process group, every task the
    /// tracer knows, and the sandbox's init (with it, the namespace); waits
    /// until `by` at most for the init to be gone.
    pub(super) fn kill(&mut self, sandbox: &mut Sandbox, by: Instant) {
        let _ = nix::sys::signal::killpg(sandbox.program, nix::sys::signal::Signal::SIGKILL);
        if let Waiter::Traced(tracer) = self {
            tracer.kill_all();
        }
        sandbox.kill_now();
        while !sandbox.reaped() && Instant::now() < by {
            self.pump();
            thread::sleep(TICK);
        }
    }

    /// Reaps `pid`, a process of the run that has been killed or has ended
    /// and is a child of the grader. Traced, the tracer reaps it and takes
    /// its exit as an event (a plain wait could take an event the tracer
    /// must answer); untraced, it is waited for.
    pub(super) fn reap_member(&mut self, pid: Pid) {
        match self {
            Waiter::Traced(tracer) => {
                tracer.poll();
                tracer.reap(pid);
            }
            Waiter::Plain(_) => {
                let _ = nix::sys::wait::waitpid(pid, None);
            }
        }
    }

    /// Whether process `pid` has written to stdout, by the tracer's record
    /// (untraced, nothing is known: `false`).
    pub(super) fn wrote(&self, pid: Pid) -> bool {
        match self {
            Waiter::Traced(tracer) => tracer.events().writes.iter().any(|w| w.pid == pid),
            Waiter::Plain(_) => false,
        }
    }

    /// Lets traced tasks stopped at an event go on (they may be on their
    /// way out); nothing to do untraced.
    pub(super) fn pump(&mut self) {
        if let Waiter::Traced(tracer) = self {
            tracer.poll();
        }
    }
}
