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

use std::collections::HashMap;

use common::layout::Memory;
use nix::sys::ptrace;
use nix::unistd::Pid;

use super::Tracer;
use super::events::Race;
use super::registers::Access;
use super::writes::read_memory;

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

impl Tracer {
    /// Has the tracer watch every process's shared value (see the
    /// module's docs); the run's filter must stop shared `mmap`s.
    pub fn watch_values(&mut self) {
        self.values.get_or_insert_with(Values::default);
    }

    /// The values task `tid`'s process maps, to be watched: each one's
    /// address, twice (for writes, then for any access), the first
    /// [`WATCHED`] values only; noted as watched in that process.
    pub(super) fn value_watches(&mut self, tid: Pid, pid: Pid) -> Vec<(u64, Access)> {
        let Some(values) = self.values.as_mut() else {
            return Vec::new();
        };
        let mut watched = super::maps::mapped(tid, Memory::Value);
        watched.truncate(WATCHED);
        for &(inode, address) in &watched {
            let bytes = read_memory(tid, address, 8);
            if let Ok(word) = <[u8; 8]>::try_from(bytes) {
                values.seen.entry(inode).or_insert(u64::from_le_bytes(word));
            }
        }
        let watches = watched
            .iter()
            .flat_map(|&(_, address)| [(address, Access::Write), (address, Access::Any)])
            .collect();
        values.at.insert(pid, watched);
        watches
    }

    /// At a watchpoint's stop of task `tid`, the registers that stopped
    /// it being `hit` (the values' are the first, two a value): handle the
    /// access; `true` if the task is held, to be let go later.
    pub(super) fn value_touched(&mut self, tid: Pid, hit: u64) -> bool {
        let main = self.main;
        let pid = self.tasks.get(&tid).copied().unwrap_or(tid);
        let Some(values) = self.values.as_mut() else {
            return false;
        };
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
        false
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
