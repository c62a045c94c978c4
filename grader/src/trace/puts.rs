//! Who put each value into a `common::Queue`: the processes' writes of
//! its ring's count of bytes published, caught by the processor.
//!
//! For a run whose facts need it ([`Tracer::watch_puts`]), every task of a
//! process that maps a queue ring (`/proc/PID/maps` names its file
//! `/memfd:common-queue`) has a debug register set for writes on the
//! ring's tail (`common::layout::RING_TAIL`, the file's first word), one
//! register a mapping (a ring mapped twice takes two), the first rings by
//! inode (the order they were made in), in the registers the values'
//! watch leaves free (see `watch.rs`). A writer copies an
//! entry into the ring and then moves the tail past it, holding the
//! queue's write lock; the store stops it (`SIGTRAP`) right after, still
//! holding the lock, so the tracer reads the tail it wrote and the entries
//! it published (`process_vm_readv`, [`common::layout::ring_entries`]),
//! and records each whole value with the process that moved the tail
//! ([`Events::puts`]), in the order put: the order a ring's values are
//! taken in, so the `i`-th value taken is the `i`-th put.
//!
//! A ring some process maps but has no register left for (more rings
//! than registers), or that one could not be armed for, may be moved
//! unseen: it is listed in [`Events::rings_unwatched`] and its values'
//! putters are unknown. A ring lapped between two moves (cannot be, as
//! every move stops its writer) or unreadable is no longer followed.

use std::collections::{BTreeMap, HashMap};

use common::layout::{self, Memory};
use nix::unistd::Pid;

use super::Tracer;
use super::events::Put;
use super::queues::{Cursor, word};
use super::registers::Access;

/// The rings watched in a run.
#[derive(Debug, Default)]
pub(super) struct Puts {
    /// For each process that maps a ring: each watched ring's register,
    /// inode and address.
    at: HashMap<Pid, Vec<(usize, u64, u64)>>,
    /// The rings, by inode.
    rings: BTreeMap<u64, Cursor>,
}

/// Records the values task `tid` of `pid` published by moving the tail
/// of the ring mapped at `base` to where it is now, onto `puts`.
fn moved(cursor: &mut Cursor, (tid, pid): (Pid, Pid), base: u64, puts: &mut Vec<Put>) {
    if cursor.lost {
        return;
    }
    let Some(tail) = word(tid, base, layout::RING_TAIL) else {
        cursor.lost = true;
        return;
    };
    // Every move stops its writer: a lap between two is not possible,
    // but is not trusted either.
    let lapped = |from: u64| tail.saturating_sub(from) > layout::RING_CAPACITY as u64;
    cursor.advance((tid, base), tail, lapped, |value| {
        puts.push(Put { pid, value });
    });
}

impl Tracer {
    /// Has the tracer record who puts each value into a queue (see the
    /// module's docs); the run's filter must stop shared `mmap`s.
    pub fn watch_puts(&mut self) {
        self.puts.get_or_insert_with(Puts::default);
    }

    /// The rings task `tid`'s process `pid` maps, to be watched from
    /// register `first` on, `free` of them: each ring's tail, in each of
    /// its mappings, for writes. The rings left over are noted unwatched.
    pub(super) fn put_watches(
        &mut self,
        tid: Pid,
        pid: Pid,
        first: usize,
        free: usize,
    ) -> Vec<(u64, Access)> {
        let Some(puts) = self.puts.as_mut() else {
            return Vec::new();
        };
        // Every mapping of a ring, as a write through any moves its tail.
        let rings = super::maps::mappings(tid, Memory::Queue);
        let mut watched = Vec::new();
        for (i, &(inode, base)) in rings.iter().enumerate() {
            puts.rings
                .entry(inode)
                .or_insert_with(|| Cursor::at(word(tid, base, layout::RING_TAIL).unwrap_or(0)));
            if i < free {
                watched.push((first + i, inode, base));
            } else {
                self.events.rings_unwatched.insert(inode);
            }
        }
        let watches = watched
            .iter()
            .map(|&(_, _, base)| (base + layout::RING_TAIL as u64, Access::Write))
            .collect();
        puts.at.insert(pid, watched);
        watches
    }

    /// At a watchpoint's stop of task `tid`, the registers that stopped it
    /// being `hit`: records what it published in each ring whose tail it
    /// moved.
    pub(super) fn tail_moved(&mut self, tid: Pid, hit: u64) {
        let pid = self.tasks.get(&tid).copied().unwrap_or(tid);
        let Some(puts) = self.puts.as_mut() else {
            return;
        };
        for &(register, inode, base) in puts.at.get(&pid).into_iter().flatten() {
            if hit >> register & 1 == 0 {
                continue;
            }
            let put = self.events.puts.entry(inode).or_default();
            moved(puts.rings.entry(inode).or_default(), (tid, pid), base, put);
        }
    }
}
