//! Setting the debug registers of the tasks that map `common`'s shared
//! memory, for the watches a run's facts need (`values.rs`: each update of
//! a shared value; `puts.rs`: who moves each queue's count of bytes
//! published), and taking the stops they cause.
//!
//! A task is armed at its first stop (a forked child inherits its
//! parent's mappings, not its registers) and whenever its process has
//! mapped shared memory (a spawned child maps what it was sent; the run's
//! filter stops a shared `mmap` at the tracer, which lets it run to its
//! exit and looks then). Registers are set only in a stopped task: the
//! mapping task's other threads, running, are interrupted
//! (`PTRACE_INTERRUPT`) and armed at their stop, and the mapping task is
//! held until every one is, so that no thread touches the new mapping
//! unwatched. The values take the first registers (two a value), the
//! queue rings the ones left (one a mapping).

use std::collections::HashSet;

use nix::sys::ptrace;
use nix::unistd::Pid;

use super::Tracer;
use super::registers::{self, REGISTERS};
use super::writes::stopped_for;
use crate::sandbox::seccomp::TRACE_MAP;

/// The tasks a shared `mmap` concerns.
#[derive(Debug, Default)]
pub(super) struct Mapping {
    /// The tasks whose shared `mmap` runs to its exit, to be armed then.
    calls: HashSet<Pid>,
    /// Tasks interrupted to be armed at their stop.
    unarmed: HashSet<Pid>,
    /// Tasks back from a shared `mmap`, held until [`Mapping::unarmed`]
    /// is empty.
    waiting: HashSet<Pid>,
}

impl Tracer {
    /// Whether any watch is on in this run.
    fn watching(&self) -> bool {
        self.values.is_some() || self.puts.is_some()
    }

    /// Task `tid`, stopped, at its first stop, or (`whole`) one whose
    /// process has just mapped shared memory: sets its registers, and
    /// with `whole` those of every other task of its process, interrupting
    /// the running ones to set theirs at their stop.
    pub(super) fn arm_task(&mut self, tid: Pid, whole: bool) {
        if !self.watching() {
            return;
        }
        let pid = super::thread_group(tid).unwrap_or(tid);
        let mut watches = self.value_watches(tid, pid);
        let free = REGISTERS.saturating_sub(watches.len());
        watches.extend(self.put_watches(tid, pid, watches.len(), free));
        if watches.is_empty() {
            return;
        }
        if !registers::arm(tid, &watches) {
            self.events.values_unwatched = true;
            return;
        }
        if !whole {
            return;
        }
        for task in registers::tasks_of(pid) {
            if task != tid && !registers::arm(task, &watches) && ptrace::interrupt(task).is_ok() {
                self.mapping.unarmed.insert(task);
            }
        }
    }

    /// Task `tid` has stopped: if it was interrupted to be armed, arms it,
    /// and lets go the tasks held for it once none is left to arm.
    pub(super) fn arm_stopped(&mut self, tid: Pid) {
        if !self.mapping.unarmed.remove(&tid) {
            return;
        }
        self.arm_task(tid, false);
        self.release_mappers();
    }

    /// Task `tid` is gone: it is no longer waited for, nor waiting.
    pub(super) fn unarmed_gone(&mut self, tid: Pid) {
        self.mapping.waiting.remove(&tid);
        if self.mapping.unarmed.remove(&tid) {
            self.release_mappers();
        }
    }

    /// Lets the tasks back from a shared `mmap` go, once every other
    /// task is armed.
    fn release_mappers(&mut self) {
        if !self.mapping.unarmed.is_empty() {
            return;
        }
        for mapper in std::mem::take(&mut self.mapping.waiting) {
            if self.runs_on() {
                let _ = ptrace::cont(mapper, None);
            }
        }
    }

    /// At a seccomp stop: a shared `mmap` is let run to its exit, where
    /// the process is looked at; `false` for any other call.
    pub(super) fn map_called(&mut self, tid: Pid) -> bool {
        if !self.watching() {
            return false;
        }
        let is_map = stopped_for(tid, TRACE_MAP);
        if is_map {
            self.mapping.calls.insert(tid);
            let _ = ptrace::syscall(tid, None);
        }
        is_map
    }

    /// At a system call's exit: if it was a shared `mmap`, watch what it
    /// mapped; `false` for any other call.
    pub(super) fn map_returned(&mut self, tid: Pid) -> bool {
        if !self.mapping.calls.remove(&tid) {
            return false;
        }
        self.arm_task(tid, true);
        if self.mapping.unarmed.is_empty() {
            if self.runs_on() {
                let _ = ptrace::cont(tid, None);
            }
        } else {
            // Held until its other threads are armed.
            self.mapping.waiting.insert(tid);
        }
        true
    }

    /// At a `SIGTRAP` stop: if a watchpoint stopped task `tid`, handle it
    /// and return `true`; the signal is not the program's then.
    pub(super) fn watch_stopped(&mut self, tid: Pid) -> bool {
        if !self.watching() {
            return false;
        }
        let hit = registers::hit(tid);
        if hit == 0 {
            return false;
        }
        self.tail_moved(tid, hit);
        if self.value_touched(tid, hit) {
            // Held between its read and its write.
            return true;
        }
        if self.runs_on() {
            let _ = ptrace::cont(tid, None);
        }
        true
    }
}
