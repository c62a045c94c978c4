//! Whether each update of a shared `common::Value` was protected: the
//! grader provokes the race instead of waiting for it.
//!
//! For a run whose facts need it ([`Tracer::watch_values`]), every task
//! of a process that maps a value (`/proc/PID/maps` names its file
//! `/memfd:common-value`) has the processor's debug registers set on the
//! word of each of the first [`WATCHED`] values it maps (by inode: the
//! order they were made in; `PTRACE_POKEUSER`, x86-64): for each, one
//! watchpoint for writes, one for reads and writes, so each access stops
//! the task (`SIGTRAP`, which the tracer takes and does not deliver) and
//! the tracer knows which value it read or wrote. A child maps its value before its work
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
//!
//! The tracer also reads the word at each access, so it knows every
//! value the word takes (every write stops its writer, which with the
//! lock held writes alone). A child's write counts as an update only if
//! it left the word one more than it was before ([`Events::value_updates`]):
//! a process that writes a number of its own (the answer, its private
//! count) updates nothing. An atomic add (`Value::add`) under the lock
//! counts too; without it, adds of several processes may land before the
//! tracer looks, and count as fewer.

use std::collections::{HashMap, HashSet};

use common::layout::Memory;
use nix::sys::ptrace;
use nix::unistd::Pid;

use super::Tracer;
use super::events::Race;
use super::writes::{read_memory, stopped_for};
use crate::sandbox::seccomp::TRACE_MAP;

/// How many times each process is held between a read and its write.
pub const HOLDS: usize = 50;

/// How many values of a process are watched: the processor has four
/// debug registers, two a value.
pub const WATCHED: usize = 2;

/// The values watched in a run.
#[derive(Debug, Default)]
pub(super) struct Values {
    /// The values watched in each process that maps one: each one's inode
    /// and address, in the order of the debug registers.
    at: HashMap<Pid, Vec<(u64, u64)>>,
    /// The word each value (by inode) held when the tracer last saw it.
    seen: HashMap<u64, u64>,
    /// Tasks whose `mmap` runs to its exit, to be looked at then.
    mapping: HashSet<Pid>,
    /// The task held between its read and its write, if any, and the
    /// value (its inode) it read.
    held: Option<(Pid, u64)>,
    /// How many times each process was held.
    holds: HashMap<Pid, usize>,
}

/// Whether `after` is `before` plus one: as an integer of 32 or 64 bits
/// (the word's other bytes unchanged), or as a 64-bit float.
fn one_more(before: u64, after: u64) -> bool {
    let low = after as u32 == (before as u32).wrapping_add(1) && after >> 32 == before >> 32;
    low || after == before.wrapping_add(1) || f64::from_bits(after) == f64::from_bits(before) + 1.0
}

/// Whether task `tid` is running or could run now, rather than sleeping,
/// stopped or gone: state `R` in `/proc/TID/stat`, or `t`, a stop at this
/// tracer that it has not handled yet (the task stopped after the tracer
/// last looked) or a write waiting its turn: the tracer lets either go on,
/// so the task is not blocked. (A task the program stopped is continued at
/// once; only the held task stays stopped by the tracer.)
pub(super) fn runnable(tid: Pid) -> bool {
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

    /// Watches the 8 bytes at each of `addresses` (two at most) in task
    /// `tid`: for the `i`-th, register `2i` for writes, `2i + 1` for reads
    /// and writes.
    pub(super) fn arm(tid: Pid, addresses: &[u64]) -> bool {
        let mut control: i64 = 0;
        for (i, &address) in addresses.iter().take(2).enumerate() {
            let (write, any) = (2 * i, 2 * i + 1);
            // Enabled (L bits); RW = 01 write, 11 read or write; LEN 10 = 8 bytes.
            control |= 1 << (2 * write) | 1 << (2 * any);
            control |= 0b01 << (16 + 4 * write) | 0b10 << (18 + 4 * write);
            control |= 0b11 << (16 + 4 * any) | 0b10 << (18 + 4 * any);
            let address = address as i64;
            if ptrace::write_user(tid, offset(write), address).is_err()
                || ptrace::write_user(tid, offset(any), address).is_err()
            {
                return false;
            }
        }
        ptrace::write_user(tid, offset(7), control).is_ok()
    }

    /// Which watchpoints stopped task `tid` (bit `2i`: a write of the
    /// `i`-th value, bit `2i + 1`: any access of it), cleared for the next.
    pub(super) fn hit(tid: Pid) -> u64 {
        let status = ptrace::read_user(tid, offset(6)).unwrap_or(0) as u64;
        if status & 0b1111 != 0 {
            let _ = ptrace::write_user(tid, offset(6), 0);
        }
        status & 0b1111
    }
}

#[cfg(not(target_arch = "x86_64"))]
mod registers {
    //! No debug registers are set on this architecture: values are not
    //! watched (the report says so).

    use nix::unistd::Pid;

    pub(super) fn arm(_: Pid, _: &[u64]) -> bool {
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
        let mut watched = super::maps::mapped(tid, Memory::Value);
        if watched.is_empty() {
            return;
        }
        watched.truncate(WATCHED);
        for &(inode, address) in &watched {
            let bytes = read_memory(tid, address, 8);
            if let Ok(word) = <[u8; 8]>::try_from(bytes) {
                values.seen.entry(inode).or_insert(u64::from_le_bytes(word));
            }
        }
        let addresses: Vec<u64> = watched.iter().map(|&(_, address)| address).collect();
        let pid = super::thread_group(tid).unwrap_or(tid);
        values.at.insert(pid, watched);
        // Every task of the process, as each has registers of its own.
        let tasks: Vec<Pid> = std::fs::read_dir(format!("/proc/{pid}/task"))
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|entry| entry.file_name().to_str()?.parse().ok())
            .map(Pid::from_raw)
            .collect();
        for task in tasks.into_iter().chain(std::iter::once(tid)) {
            if !registers::arm(task, &addresses) {
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
        let is_map = stopped_for(tid, TRACE_MAP);
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
        let watched = values.at.get(&pid).cloned().unwrap_or_default();
        for (i, &(inode, address)) in watched.iter().enumerate() {
            let bits = hit >> (2 * i) & 0b11;
            if bits == 0 {
                continue;
            }
            let word = <[u8; 8]>::try_from(read_memory(tid, address, 8))
                .ok()
                .map(u64::from_le_bytes);
            let before = match word {
                Some(word) => values.seen.insert(inode, word),
                None => None,
            };
            if bits & 1 != 0 {
                let added = before.zip(word).is_some_and(|(b, a)| one_more(b, a));
                if added && pid != main {
                    *self.events.value_updates.entry((inode, pid)).or_default() += 1;
                }
                if let Some((held, held_value)) = values.held {
                    let held_pid = self.tasks.get(&held).copied().unwrap_or(held);
                    if held_pid != pid && held_value == inode {
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
                values.held = Some((tid, inode));
                return true;
            }
        }
        if self.runs_on() {
            let _ = ptrace::cont(tid, None);
        }
        true
    }

    /// Lets the held task go once every other task is blocked, stopped or
    /// gone (or the held one is gone).
    pub(super) fn release_held(&mut self) {
        let Some((held, _)) = self.values.as_ref().and_then(|v| v.held) else {
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
