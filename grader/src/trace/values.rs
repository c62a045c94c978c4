//! Whether each update of a shared `common::Value` was protected: the
//! grader provokes the race instead of waiting for it.
//!
//! For a run whose facts need it ([`Tracer::watch_values`]), every task
//! of a process that maps a value (`/proc/PID/maps` names its file
//! `/memfd:common-value`) has the processor's debug registers set on the
//! value's word (`PTRACE_POKEUSER`, x86-64): one watchpoint for writes,
//! one for reads and writes, so each access stops the task (`SIGTRAP`,
//! which the tracer takes and does not deliver) and the tracer knows
//! whether it read or wrote. A child maps its value before its work
//! (inherited at a fork, which the tracer sees at the child's first stop;
//! mapped once received, after a spawn, which the run's filter stops at
//! the tracer: `mmap` with `MAP_SHARED`).
//!
//! When a child reads the value, the tracer holds it right there, between
//! its read and the write that would follow, and lets every other task
//! run on until each is blocked (sleeping in the kernel, waiting on a lock
//! or a join) or stopped; then it lets the held one go. If, meanwhile,
//! another process writes the value, that write came while the first was
//! between its read and its write: nothing kept the other out, and the
//! first's write will lose it. That is a [`Race`], recorded every time the
//! program leaves an update unprotected and another process is updating
//! too, whatever the scheduler would have done; a lock held across both
//! steps makes every other updater block, and no race is recorded, ever.
//! Each process is held at most [`HOLDS`] times, and none once a race is
//! recorded (one proves it).

use std::collections::{HashMap, HashSet};

use common::layout::Memory;
use nix::sys::ptrace;
use nix::unistd::Pid;

use super::Tracer;
use super::events::Race;
use super::writes::syscall_info;
use crate::sandbox::seccomp::TRACE_MAP;

/// How many times each process is held between a read and its write.
pub const HOLDS: usize = 50;

/// The values watched in a run.
#[derive(Debug, Default)]
pub(super) struct Values {
    /// The value's address in each process that maps one.
    at: HashMap<Pid, u64>,
    /// Tasks whose `mmap` runs to its exit, to be looked at then.
    mapping: HashSet<Pid>,
    /// The task held between its read and its write, if any.
    held: Option<Pid>,
    /// How many times each process was held.
    holds: HashMap<Pid, usize>,
}

/// Where the first value process `pid` maps lies in its memory.
fn value_at(pid: Pid) -> Option<u64> {
    let maps = std::fs::read_to_string(format!("/proc/{pid}/maps")).ok()?;
    maps.lines().find_map(|line| {
        let mut fields = line.split_whitespace();
        let range = fields.next()?;
        let offset = fields.nth(1)?;
        let path = fields.skip(2).collect::<Vec<_>>().join(" ");
        (Memory::of_mapping(&path)? == Memory::Value && u64::from_str_radix(offset, 16).ok()? == 0)
            .then_some(())?;
        u64::from_str_radix(range.split_once('-')?.0, 16).ok()
    })
}

/// Whether task `tid` is running or could run now, rather than sleeping,
/// stopped or gone: state `R` in `/proc/TID/stat`, or `t`, a stop at this
/// tracer that it has not handled yet (the task stopped after the tracer
/// last looked) or a write waiting its turn: the tracer lets either go on,
/// so the task is not blocked. (A task the program stopped is continued at
/// once; only the held task stays stopped by the tracer.)
fn runnable(tid: Pid) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{tid}/stat")) else {
        return false;
    };
    // The state follows the command's closing parenthesis.
    stat.rsplit_once(')')
        .and_then(|(_, rest)| rest.split_whitespace().next())
        .is_some_and(|state| state == "R" || state == "t")
}

#[cfg(target_arch = "x86_64")]
mod registers {
    //! The debug registers of a stopped task, by `PTRACE_PEEKUSER` and
    //! `PTRACE_POKEUSER` at their place in `struct user`.

    use nix::sys::ptrace;
    use nix::unistd::Pid;

    /// `offsetof(struct user, u_debugreg)` on x86-64.
    const DEBUGREG: usize = 848;

    fn offset(register: usize) -> ptrace::AddressType {
        (DEBUGREG + 8 * register) as ptrace::AddressType
    }

    /// Watches the 8 bytes at `address` in task `tid`: register 0 for
    /// writes, register 1 for reads and writes.
    pub(super) fn arm(tid: Pid, address: u64) -> bool {
        // L0 and L1 on; RW0 = write, RW1 = read or write; both 8 bytes.
        let control: i64 = 1 | 1 << 2 | 0b01 << 16 | 0b10 << 18 | 0b11 << 20 | 0b10 << 22;
        let address = address as i64;
        ptrace::write_user(tid, offset(0), address).is_ok()
            && ptrace::write_user(tid, offset(1), address).is_ok()
            && ptrace::write_user(tid, offset(7), control).is_ok()
    }

    /// Which watchpoints stopped task `tid` (bit 0: a write, bit 1: any
    /// access), cleared for the next.
    pub(super) fn hit(tid: Pid) -> u64 {
        let status = ptrace::read_user(tid, offset(6)).unwrap_or(0) as u64;
        if status & 0b11 != 0 {
            let _ = ptrace::write_user(tid, offset(6), 0);
        }
        status & 0b11
    }
}

#[cfg(not(target_arch = "x86_64"))]
mod registers {
    //! No debug registers are set on this architecture: values are not
    //! watched (the report says so).

    use nix::unistd::Pid;

    pub(super) fn arm(_: Pid, _: u64) -> bool {
        false
    }

    pub(super) fn hit(_: Pid) -> u64 {
        0
    }
}

impl Tracer {
    /// Has the tracer watch every process's shared value (see the
    /// module's docs); the run's filter must stop shared `mmap`s.
    pub fn watch_values(&mut self) {
        self.values.get_or_insert_with(Values::default);
    }

    /// A task at its first stop, or one whose process has just mapped
    /// shared memory: watch its process's value, if it maps one.
    pub(super) fn arm_task(&mut self, tid: Pid) {
        let Some(values) = self.values.as_mut() else {
            return;
        };
        let Some(address) = value_at(tid) else {
            return;
        };
        let pid = super::thread_group(tid).unwrap_or(tid);
        values.at.insert(pid, address);
        // Every task of the process, as each has registers of its own.
        let tasks: Vec<Pid> = std::fs::read_dir(format!("/proc/{pid}/task"))
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|entry| entry.file_name().to_str()?.parse().ok())
            .map(Pid::from_raw)
            .collect();
        for task in tasks.into_iter().chain(std::iter::once(tid)) {
            if !registers::arm(task, address) {
                self.events.values_unwatched = true;
            }
        }
    }

    /// At a seccomp stop: a shared `mmap` is let run to its exit, where
    /// the process is looked at; `false` for any other call.
    pub(super) fn map_called(&mut self, tid: Pid) -> bool {
        let Some(values) = self.values.as_mut() else {
            return false;
        };
        let is_map = syscall_info(tid).is_ok_and(|info| {
            // SAFETY: at a seccomp stop the `seccomp` member is filled in.
            info.op == libc::PTRACE_SYSCALL_INFO_SECCOMP
                && unsafe { info.u.seccomp.ret_data } == TRACE_MAP
        });
        if is_map {
            values.mapping.insert(tid);
            let _ = ptrace::syscall(tid, None);
        }
        is_map
    }

    /// At a system call's exit: if it was a shared `mmap`, watch what it
    /// mapped; `false` for any other call.
    pub(super) fn map_returned(&mut self, tid: Pid) -> bool {
        if !self.values.as_mut().is_some_and(|v| v.mapping.remove(&tid)) {
            return false;
        }
        self.arm_task(tid);
        if self.runs_on() {
            let _ = ptrace::cont(tid, None);
        }
        true
    }

    /// At a `SIGTRAP` stop: if a watchpoint stopped task `tid`, handle the
    /// access and return `true`; the signal is not the program's then.
    pub(super) fn value_touched(&mut self, tid: Pid) -> bool {
        let main = self.main;
        let pid = self.tasks.get(&tid).copied().unwrap_or(tid);
        let Some(values) = self.values.as_mut() else {
            return false;
        };
        let hit = registers::hit(tid);
        if hit == 0 {
            return false;
        }
        if hit & 1 != 0 {
            *self.events.value_writes.entry(pid).or_default() += 1;
            if let Some(held) = values.held {
                let held_pid = self.tasks.get(&held).copied().unwrap_or(held);
                if held_pid != pid {
                    self.events.races.push(Race {
                        held: held_pid,
                        writer: pid,
                    });
                    values.held = None;
                    let _ = ptrace::cont(held, None);
                }
            }
        } else if values.held.is_none()
            && self.events.races.is_empty()
            && pid != main
            && values.holds.get(&pid).copied().unwrap_or(0) < HOLDS
        {
            // Held here, between its read and its write.
            *values.holds.entry(pid).or_default() += 1;
            values.held = Some(tid);
            return true;
        }
        if self.runs_on() {
            let _ = ptrace::cont(tid, None);
        }
        true
    }

    /// Lets the held task go once every other task is blocked, stopped or
    /// gone (or the held one is gone).
    pub(super) fn release_held(&mut self) {
        let Some(held) = self.values.as_ref().and_then(|v| v.held) else {
            return;
        };
        let others_still = self.tasks.keys().any(|&tid| tid != held && runnable(tid));
        if self.tasks.contains_key(&held) && others_still {
            return;
        }
        if let Some(values) = self.values.as_mut() {
            values.held = None;
        }
        if self.runs_on() {
            let _ = ptrace::cont(held, None);
        }
    }
}
