//! Whether the processes of a run waited for one another: the grader makes
//! one of them late on purpose instead of waiting for it to be late.
//!
//! For a run whose facts need it ([`Tracer::hold_first_line`]), the first
//! write to stdout by a process other than the main one is not let run:
//! the tracer keeps that process stopped at the write's seccomp stop (its
//! first line, which a correct program writes before it waits) and lets
//! every other task run on, until each is blocked (asleep in the kernel,
//! on a lock, a barrier or a join) or gone; then it lets the held write
//! run. A task asleep in `nanosleep` or `clock_nanosleep` (which the run's
//! filter stops at the tracer, so that it is known whatever `/proc` shows
//! an ordinary user) counts as going on: it will wake by itself. So a
//! process that prints its second line meanwhile did so while the held one
//! had not printed its first: whatever it waited for, if anything, did not
//! wait for the held one. The judge reads the writes made during the hold
//! ([`HeldLine`]); a barrier shared by all keeps everyone at it, and no
//! line is written meanwhile, ever.

use std::collections::HashSet;

use nix::sys::ptrace;
use nix::unistd::Pid;

use super::Tracer;
use super::events::HeldLine;
use super::values::runnable;
use super::writes::{Pending, stopped_for};
use crate::sandbox::seccomp::TRACE_SLEEP;

/// The hold of a run.
#[derive(Debug, Default)]
pub(super) struct Holds {
    /// The write held, while it is.
    held: Option<Pending>,
    /// Whether the one hold of the run has begun.
    begun: bool,
    /// Tasks now in a sleep call.
    sleeping: HashSet<Pid>,
}

impl Tracer {
    /// Has the tracer hold the first line of the first child to write one
    /// (see the module's docs); the run's filter must stop sleeps.
    pub fn hold_first_line(&mut self) {
        self.holds.get_or_insert_with(Holds::default);
    }

    /// A write to stdout stopped at entry: holds it if it is the first of
    /// a process other than the main one (`true`: it is not to run now).
    pub(super) fn hold_write(&mut self, pid: Pid, pending: &Pending) -> bool {
        let Some(holds) = self.holds.as_mut() else {
            return false;
        };
        if holds.begun || pid == self.main {
            return false;
        }
        holds.begun = true;
        holds.held = Some(pending.clone());
        self.events.held_line = Some(HeldLine {
            pid,
            from: self.events.writes.len(),
            to: None,
        });
        true
    }

    /// At a seccomp stop: a sleep is let run to its exit, the task counted
    /// as sleeping until then; `false` for any other call.
    pub(super) fn sleep_called(&mut self, tid: Pid) -> bool {
        let Some(holds) = self.holds.as_mut() else {
            return false;
        };
        let is_sleep = stopped_for(tid, TRACE_SLEEP);
        if is_sleep {
            holds.sleeping.insert(tid);
            let _ = ptrace::syscall(tid, None);
        }
        is_sleep
    }

    /// At a system call's exit: if it was a sleep, the task is awake;
    /// `false` for any other call.
    pub(super) fn sleep_returned(&mut self, tid: Pid) -> bool {
        if !self
            .holds
            .as_mut()
            .is_some_and(|holds| holds.sleeping.remove(&tid))
        {
            return false;
        }
        if self.runs_on() {
            let _ = ptrace::cont(tid, None);
        }
        true
    }

    /// Task `tid` is gone: it sleeps no more, and if it was held, the hold
    /// is over.
    pub(super) fn hold_gone(&mut self, tid: Pid) {
        let Some(holds) = self.holds.as_mut() else {
            return;
        };
        holds.sleeping.remove(&tid);
        if holds.held.as_ref().is_some_and(|p| p.tid == tid) {
            holds.held = None;
            self.end_hold();
        }
    }

    /// Lets the held write run once every other task is blocked, stopped
    /// by nothing of ours, or gone, and none sleeps.
    pub(super) fn release_held_line(&mut self) {
        let Some(holds) = self.holds.as_ref() else {
            return;
        };
        let Some(held) = holds.held.as_ref().map(|p| p.tid) else {
            return;
        };
        let others_going = self
            .tasks
            .keys()
            .any(|&tid| tid != held && (runnable(tid) || holds.sleeping.contains(&tid)));
        if others_going {
            return;
        }
        let Some(pending) = self.holds.as_mut().and_then(|h| h.held.take()) else {
            return;
        };
        self.end_hold();
        self.queue_write(pending);
    }

    /// Records where the hold ended among the writes.
    fn end_hold(&mut self) {
        let writes = self.events.writes.len();
        if let Some(line) = self.events.held_line.as_mut() {
            line.to.get_or_insert(writes);
        }
    }
}
