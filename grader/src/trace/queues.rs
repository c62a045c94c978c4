//! What the processes took out of `common::Queue`s, read from the queues'
//! shared memory at each write to stdout.
//!
//! A queue moves its values through a ring in a file of shared memory
//! (`memfd`), with no system call while both sides are busy, so no call
//! shows a value crossing. What the kernel does show: which processes map
//! that file (`/proc/PID/maps` names it `/memfd:common-queue`, with its
//! inode), and what the memory holds (`process_vm_readv`). So, for a run
//! whose facts need it ([`Tracer::follow_queues`]), at each write to stdout
//! the tracer, with the writer stopped before its call:
//!
//! - finds the queue rings the writer maps, and which other processes of
//!   the run map each one then;
//! - reads each ring's count of bytes consumed (`common::layout::RING_HEAD`)
//!   and parses the values consumed since it last looked, in order, from
//!   the ring's data ([`common::layout::ring_entries`]); a value is in
//!   the ring until a writer laps it, and the consumed bytes are never
//!   rewritten before that;
//! - records with the write how many values of each ring had been taken,
//!   and by then shared with whom ([`Written::taken`]).
//!
//! The judge then ties each printed value to a value taken before the
//! line was written, from a ring another process held (see
//! `judge/data.rs`). Which process put a value in is watched apart, when a
//! fact asks (`puts.rs`); which process took it out is not shown here (the
//! ring's counters are shared words, moved without a call). A ring lapped between two looks (more than its capacity put
//! since) is no longer followed: its later values are unknown.

use std::collections::BTreeMap;

use common::layout::{self, Memory};
use nix::unistd::Pid;

use super::Tracer;
use super::events::Taken;
use super::writes::read_memory;

/// Where the tracer is in a ring's entries (its readers' or its
/// writers').
#[derive(Debug, Default)]
pub(super) struct Cursor {
    /// The count of bytes up to which it parsed.
    at: u64,
    /// The pieces of a value whose last entry is still to come.
    partial: Vec<u8>,
    /// Whether it lost track (lapped, or unreadable).
    pub(super) lost: bool,
}

impl Cursor {
    /// A cursor at count `at`.
    pub(super) fn at(at: u64) -> Cursor {
        Cursor {
            at,
            ..Cursor::default()
        }
    }

    /// Parses the entries from where it is to count `to` of the ring
    /// mapped at `base` in `tid`, giving `done` each whole value; unless
    /// `lapped` (asked, with where it was, once the data is read) says a
    /// writer lapped what was read, or they do not end at `to`: then it
    /// is lost.
    pub(super) fn advance(
        &mut self,
        (tid, base): (Pid, u64),
        to: u64,
        lapped: impl FnOnce(u64) -> bool,
        mut done: impl FnMut(Vec<u8>),
    ) {
        if self.lost || to <= self.at {
            return;
        }
        let data_at = base + layout::RING_DATA as u64;
        let entries = layout::ring_entries(self.at, to, |at, len| {
            read_memory(tid, data_at + at as u64, len)
        });
        if lapped(self.at) || entries.last().is_none_or(|e| e.end != to) {
            self.lost = true;
            return;
        }
        for entry in entries {
            if entry.first {
                self.partial.clear();
            }
            self.partial.extend_from_slice(&entry.piece);
            if entry.last {
                done(std::mem::take(&mut self.partial));
            }
        }
        self.at = to;
    }
}

/// The rings followed in a run, by inode.
#[derive(Debug, Default)]
pub(super) struct Queues {
    rings: BTreeMap<u64, Cursor>,
}

/// The queue rings process `pid` maps: each file's inode and where its
/// first byte is in the process's memory.
fn mapped_rings(pid: Pid) -> Vec<(u64, u64)> {
    super::maps::mapped(pid, Memory::Queue)
}

/// The 64-bit word at byte `at` of a ring mapped at `base` in `tid`.
pub(super) fn word(tid: Pid, base: u64, at: usize) -> Option<u64> {
    let bytes = read_memory(tid, base + at as u64, 8);
    Some(u64::from_le_bytes(bytes.try_into().ok()?))
}

/// Parses the values consumed since the last look from the ring mapped
/// at `base` in `tid`, onto `values`.
fn catch_up(cursor: &mut Cursor, tid: Pid, base: u64, values: &mut Vec<Vec<u8>>) {
    if cursor.lost {
        return;
    }
    let Some(head) = word(tid, base, layout::RING_HEAD) else {
        cursor.lost = true;
        return;
    };
    // The tail is read after the data: had a writer lapped what was read,
    // the published count now says so.
    let lapped = |from: u64| {
        let tail = word(tid, base, layout::RING_TAIL).unwrap_or(u64::MAX);
        tail.saturating_sub(from) > layout::RING_CAPACITY as u64
    };
    cursor.advance((tid, base), head, lapped, |value| values.push(value));
}

impl Tracer {
    /// Has the tracer follow what the processes take out of queues (see
    /// the module's docs); off by default, as it reads `/proc` at every
    /// write to stdout.
    pub fn follow_queues(&mut self) {
        self.queues.get_or_insert_with(Queues::default);
    }

    /// What task `tid` (of process `pid`), stopped before writing to
    /// stdout, had taken out of queues by then: for each ring it maps.
    pub(super) fn taken_by(&mut self, tid: Pid, pid: Pid) -> Vec<Taken> {
        let Some(queues) = self.queues.as_mut() else {
            return Vec::new();
        };
        let rings = mapped_rings(pid);
        if rings.is_empty() {
            return Vec::new();
        }
        let others: Vec<(Pid, Vec<(u64, u64)>)> = self
            .events
            .processes
            .iter()
            .map(|p| p.pid)
            .chain(std::iter::once(self.main))
            .filter(|&other| other != pid && self.tasks.contains_key(&other))
            .map(|other| (other, mapped_rings(other)))
            .collect();
        rings
            .into_iter()
            .map(|(inode, base)| {
                let values = self.events.taken.entry(inode).or_default();
                catch_up(queues.rings.entry(inode).or_default(), tid, base, values);
                Taken {
                    ring: inode,
                    values: values.len(),
                    shared_with: others
                        .iter()
                        .filter(|(_, rings)| rings.iter().any(|(i, _)| *i == inode))
                        .map(|(other, _)| *other)
                        .collect(),
                }
            })
            .collect()
    }
}
