//! [`Ring`]: values passed through a ring of bytes in shared memory, under
//! every [`Queue`](crate::Queue): a writer copies a value in and a reader
//! copies it out, with no system call between them while both are busy.
//!
//! # Layout
//!
//! A memfd of 64-bit words ([`Slots`]): a header of counters, each on a
//! cache line of its own, then [`CAPACITY`] bytes of data.
//!
//! - `TAIL`: how many bytes writers have published, ever; `HEAD`: how many
//!   readers have consumed. The ring holds the bytes between them.
//! - `READERS_ASLEEP`, `WRITERS_ASLEEP`: how many sleep on `TAIL` (for a
//!   value) and on `HEAD` (for room), so that the other side wakes them
//!   only then.
//! - `VALUES`: how many whole values the ring holds, for `qsize`.
//!
//! # Entries
//!
//! A value is one entry, or, when larger than [`CHUNK`], several, each a
//! 16-byte header (the piece's length, flags `FIRST` and `LAST`, and in a
//! first entry the whole value's length) and the piece, padded to 8 bytes.
//! An entry never wraps round the end of the data: a writer that would
//! wrap fills the end with a `PAD` entry (its header's first 8 bytes are
//! enough to say so) and goes on at the start, publishing both at once.
//!
//! # The protocol
//!
//! Writers take turns (the queue's write lock), and so do readers (its
//! read lock); a writer and a reader work at once. A writer copies an
//! entry in past `TAIL`, then publishes it by moving `TAIL`; a reader
//! copies out at `HEAD`, then frees the room by moving `HEAD`. Each side
//! only moves its own counter and only writes where the other's counter
//! says is free, so each entry is published whole or not at all. A side
//! that must wait (an empty ring, a full one) spins a little, then counts
//! itself asleep, looks once more, and sleeps on the other side's counter
//! (a futex); the other side, having moved its counter, wakes it if
//! anyone counts as asleep. The count and the counter are written and
//! read in that order on both sides (sequentially consistent), so a wake
//! is never missed.
//!
//! # Deaths
//!
//! A writer killed before it publishes leaves nothing; killed between the
//! entries of a large value, it leaves a value with no last entry, which
//! the reader drops when the next value's first entry comes (and drops
//! stray entries that begin with no first one): values are never torn. A
//! reader killed in the middle of a value loses that value, no other. A
//! reader that gives up at its deadline in the middle of a value drops it
//! the same way.

use std::sync::atomic::AtomicU64;
use std::sync::atomic::Ordering::{Acquire, Relaxed, SeqCst};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::futex;
use super::slots::Slots;
use crate::error::Result;

/// Bytes of data in the ring: as much as a pipe holds by default.
pub(crate) const CAPACITY: usize = 64 * 1024;

/// The largest piece of a value one entry carries.
pub(crate) const CHUNK: usize = 16 * 1024;

const TAIL: usize = 0;
const HEAD: usize = 8;
const READERS_ASLEEP: usize = 16;
const WRITERS_ASLEEP: usize = 17;
const VALUES: usize = 24;
/// The first word of data: the header takes four cache lines.
const DATA: usize = 32;
const WORDS: usize = DATA + CAPACITY / 8;

/// Where the counters and the data lie in the ring's file, in bytes: what
/// an observer reads (see `layout`).
pub(crate) const TAIL_AT: usize = TAIL * 8;
pub(crate) const HEAD_AT: usize = HEAD * 8;
pub(crate) const DATA_AT: usize = DATA * 8;

const HEADER: usize = 16;
const FIRST: u32 = 1;
const LAST: u32 = 2;
const PAD: u32 = 4;

/// The longest sleep before a sleeper looks again by itself: a wake-up is
/// never missed (see the module docs), this only bounds the harm if a
/// process dies counted as asleep.
const NAP: Duration = Duration::from_secs(1);

/// A ring of bytes in shared memory: see the module docs.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Ring {
    slots: Slots,
}

/// An entry found at `HEAD`.
struct Entry {
    flags: u32,
    /// The whole value's length, in a first entry.
    total: u64,
    /// Where its piece begins in the data, and how long it is.
    at: usize,
    len: usize,
    /// How far `HEAD` moves once it is read.
    size: usize,
}

impl Ring {
    /// A new, empty ring.
    pub(crate) fn new() -> Result<Ring> {
        Ok(Ring {
            slots: Slots::named(crate::sys::memory::Memory::Queue, WORDS)?,
        })
    }

    fn counter(&self, which: usize) -> &AtomicU64 {
        self.slots.slot(which)
    }

    /// How many whole values the ring holds now.
    pub(crate) fn values(&self) -> usize {
        let values = self.counter(VALUES).load(Relaxed).cast_signed().max(0);
        usize::try_from(values).unwrap_or(usize::MAX)
    }

    /// Writes `value` as one or more entries, by `deadline` (`None`:
    /// however long it takes); `false` if the deadline passed first (a
    /// value cut short is dropped by its reader). Only one writer at a
    /// time may call it.
    pub(crate) fn write(&self, value: &[u8], deadline: Option<Instant>) -> bool {
        let mut pieces = value.chunks(CHUNK).peekable();
        let mut flags = FIRST;
        loop {
            let piece = pieces.next().unwrap_or_default();
            if pieces.peek().is_none() {
                flags |= LAST;
            }
            if !self.write_entry(flags, value.len() as u64, piece, deadline) {
                return false;
            }
            if flags & LAST != 0 {
                self.counter(VALUES).fetch_add(1, Relaxed);
                return true;
            }
            flags = 0;
        }
    }

    /// Writes and publishes one entry, waiting for room by `deadline`.
    fn write_entry(&self, flags: u32, total: u64, piece: &[u8], deadline: Option<Instant>) -> bool {
        let size = HEADER + piece.len().next_multiple_of(8);
        let tail = self.counter(TAIL).load(Relaxed);
        let at = usize::try_from(tail % CAPACITY as u64).expect("below the capacity");
        let to_end = CAPACITY - at;
        let need = if size > to_end { to_end + size } else { size };
        let room = || {
            let used = tail.wrapping_sub(self.counter(HEAD).load(Acquire));
            CAPACITY as u64 - used >= need as u64
        };
        if !self.wait(|| !room(), HEAD, WRITERS_ASLEEP, deadline) {
            return false;
        }
        let mut at = at;
        if size > to_end {
            self.put_header(at, PAD, 0, 0);
            at = 0;
        }
        self.put_header(at, flags, piece.len(), total);
        self.put_bytes(at + HEADER, piece);
        self.publish(TAIL, tail + need as u64, READERS_ASLEEP);
        true
    }

    /// Reads one whole value by `deadline` (`None`: however long it takes)
    /// and gives it to `take`; `None` if the deadline passed first. A value
    /// of one entry is given to `take` where it lies in the ring, uncopied.
    /// Only one reader at a time may call it.
    pub(crate) fn read<R>(
        &self,
        deadline: Option<Instant>,
        take: impl FnOnce(&[u8]) -> R,
    ) -> Option<R> {
        let mut value: Option<Vec<u8>> = None;
        loop {
            let entry = self.next_entry(deadline)?;
            let piece = self.bytes(entry.at, entry.len);
            if entry.flags & FIRST != 0 {
                if entry.flags & LAST != 0 {
                    let taken = take(piece);
                    self.consume(&entry);
                    return Some(taken);
                }
                // A value begun before it and never finished was torn.
                let mut whole =
                    Vec::with_capacity(usize::try_from(entry.total).unwrap_or(0).min(1 << 30));
                whole.extend_from_slice(piece);
                value = Some(whole);
            } else if let Some(whole) = value.as_mut() {
                whole.extend_from_slice(piece);
            }
            // (An entry with no first before it is a stray piece of a torn
            // value: dropped.)
            self.consume(&entry);
            if entry.flags & LAST != 0
                && let Some(whole) = value.take()
            {
                return Some(take(&whole));
            }
        }
    }

    /// The entry at `HEAD`, waiting for one by `deadline`; skips padding.
    fn next_entry(&self, deadline: Option<Instant>) -> Option<Entry> {
        loop {
            let head = self.counter(HEAD).load(Relaxed);
            let empty = || self.counter(TAIL).load(Acquire) == head;
            if !self.wait(empty, TAIL, READERS_ASLEEP, deadline) {
                return None;
            }
            let at = usize::try_from(head % CAPACITY as u64).expect("below the capacity");
            let (flags, len, total) = self.header(at);
            if flags & PAD != 0 {
                self.publish(HEAD, head + (CAPACITY - at) as u64, WRITERS_ASLEEP);
                continue;
            }
            // A length past the end can come only from memory no writer
            // of this crate wrote: treat the rest of the data as padding.
            let len = len.min(CAPACITY - at - HEADER);
            return Some(Entry {
                flags,
                total,
                at: at + HEADER,
                len,
                size: HEADER + len.next_multiple_of(8),
            });
        }
    }

    /// Frees the room of `entry`, read.
    fn consume(&self, entry: &Entry) {
        let head = self.counter(HEAD).load(Relaxed);
        // A value leaves the ring with its last entry, whole or (its first
        // taken by a reader that died) not.
        if entry.flags & LAST != 0 {
            self.counter(VALUES).fetch_sub(1, Relaxed);
        }
        self.publish(HEAD, head + entry.size as u64, WRITERS_ASLEEP);
    }

    /// Moves `counter` to `to`, then wakes the other side if it sleeps.
    fn publish(&self, counter: usize, to: u64, asleep: usize) {
        self.counter(counter).store(to, SeqCst);
        if self.counter(asleep).load(SeqCst) > 0 {
            futex::wake_all(self.slots.word(counter));
        }
    }

    /// Waits while `blocked` holds, by `deadline`: spins, then sleeps on
    /// `counter` counted in `asleep`; whether it stopped holding in time.
    fn wait(
        &self,
        blocked: impl Fn() -> bool,
        counter: usize,
        asleep: usize,
        deadline: Option<Instant>,
    ) -> bool {
        if !blocked() {
            return true;
        }
        if deadline.is_some_and(|deadline| Instant::now() >= deadline) {
            return false;
        }
        if super::spin::spin_while(&blocked) {
            return true;
        }
        loop {
            let nap = match deadline {
                Some(deadline) => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return !blocked();
                    }
                    left.min(NAP)
                }
                None => NAP,
            };
            self.counter(asleep).fetch_add(1, SeqCst);
            let seen = self.counter(counter).load(SeqCst);
            if blocked() {
                futex::wait(self.slots.word(counter), seen as u32, nap);
            }
            self.counter(asleep).fetch_sub(1, SeqCst);
            if !blocked() {
                return true;
            }
        }
    }

    /// The header at byte `at` of the data: flags, piece length, total.
    fn header(&self, at: usize) -> (u32, usize, u64) {
        let mut header = [0u8; HEADER];
        self.get_bytes(at, &mut header[..(CAPACITY - at).min(HEADER)]);
        let word = |i: usize| u32::from_le_bytes(header[i..i + 4].try_into().expect("4 bytes"));
        let total = u64::from_le_bytes(header[8..16].try_into().expect("8 bytes"));
        (word(4), word(0) as usize, total)
    }

    fn put_header(&self, at: usize, flags: u32, len: usize, total: u64) {
        let mut header = [0u8; HEADER];
        header[0..4].copy_from_slice(&u32::try_from(len).expect("a chunk").to_le_bytes());
        header[4..8].copy_from_slice(&flags.to_le_bytes());
        header[8..16].copy_from_slice(&total.to_le_bytes());
        // A padding entry may have only 8 bytes left before the end.
        self.put_bytes(at, &header[..(CAPACITY - at).min(HEADER)]);
    }

    /// `len` bytes of the data from `at`, as they lie in the ring.
    fn bytes(&self, at: usize, len: usize) -> &[u8] {
        assert!(at + len <= CAPACITY, "inside the data");
        // SAFETY: in bounds (checked) of the data, which the mapping holds
        // for as long as `self`; the caller reads only bytes published to
        // it and not yet consumed, which no writer changes meanwhile (see
        // the module docs).
        unsafe { std::slice::from_raw_parts(self.slots.raw(DATA).add(at), len) }
    }

    fn get_bytes(&self, at: usize, into: &mut [u8]) {
        into.copy_from_slice(self.bytes(at, into.len()));
    }

    fn put_bytes(&self, at: usize, bytes: &[u8]) {
        assert!(at + bytes.len() <= CAPACITY, "inside the data");
        // SAFETY: in bounds (checked) of the data, mapped as long as
        // `self`; the writer writes only room no reader reads until it is
        // published (see the module docs).
        unsafe {
            std::ptr::copy_nonoverlapping(
                bytes.as_ptr(),
                self.slots.raw(DATA).add(at),
                bytes.len(),
            );
        }
    }
}

/// An entry as an observer finds it in the ring's data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Published {
    /// Where it begins and ends, as counts of bytes published ever (what
    /// `TAIL` and `HEAD` count).
    pub(crate) at: u64,
    pub(crate) end: u64,
    /// Whether it begins a value, ends one, or both.
    pub(crate) first: bool,
    pub(crate) last: bool,
    /// Its piece of the value.
    pub(crate) piece: Vec<u8>,
}

/// The entries published when `TAIL` moved from `from` to `to`, read from
/// the data by `data(at, len)` (`len` bytes from byte `at` of the data,
/// fewer if they cannot be read); padding is skipped.
pub(crate) fn published(
    from: u64,
    to: u64,
    mut data: impl FnMut(usize, usize) -> Vec<u8>,
) -> Vec<Published> {
    let mut entries = Vec::new();
    let mut at = from;
    while at < to {
        let offset = usize::try_from(at % CAPACITY as u64).expect("below the capacity");
        let header = data(offset, (CAPACITY - offset).min(HEADER));
        if header.len() < 8 {
            break;
        }
        let word = |i: usize| u32::from_le_bytes(header[i..i + 4].try_into().expect("4 bytes"));
        let flags = word(4);
        if flags & PAD != 0 {
            at += (CAPACITY - offset) as u64;
            continue;
        }
        let len = (word(0) as usize).min(CAPACITY.saturating_sub(offset + HEADER));
        let size = HEADER + len.next_multiple_of(8);
        entries.push(Published {
            at,
            end: at + size as u64,
            first: flags & FIRST != 0,
            last: flags & LAST != 0,
            piece: data(offset + HEADER, len),
        });
        at += size as u64;
    }
    entries
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_vec(ring: &Ring, deadline: Option<Instant>) -> Option<Vec<u8>> {
        ring.read(deadline, <[u8]>::to_vec)
    }

    /// What an observer parses out of the ring is what the writers wrote,
    /// padding and values of several entries included.
    #[test]
    fn an_observer_finds_each_entry_written() {
        let ring = Ring::new().expect("ring");
        let values: Vec<Vec<u8>> = (0..40u8)
            .map(|i| vec![i; 3000 + usize::from(i) * 1000])
            .collect();
        let mut found = Vec::new();
        for value in &values {
            let from = ring.counter(TAIL).load(Relaxed);
            assert!(ring.write(value, None));
            let to = ring.counter(TAIL).load(Relaxed);
            let data = |at: usize, len: usize| ring.bytes(at, len).to_vec();
            let entries = published(from, to, data);
            assert!(entries.first().is_some_and(|e| e.first), "a value begins");
            assert!(entries.last().is_some_and(|e| e.last), "and ends");
            found.push(
                entries
                    .iter()
                    .flat_map(|e| e.piece.clone())
                    .collect::<Vec<u8>>(),
            );
            assert_eq!(read_vec(&ring, None).as_ref(), Some(value));
        }
        assert_eq!(found, values);
    }

    #[test]
    fn values_of_every_size_pass_in_order_round_the_end() {
        let ring = Ring::new().expect("ring");
        let theirs = ring.clone();
        let sizes = [0, 1, 7, 8, 9, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CAPACITY + 5];
        // Many rounds, so that entries wrap round the end at every offset.
        let values: Vec<Vec<u8>> = (0..400)
            .map(|i| {
                let len = sizes[i % sizes.len()];
                (0..len).map(|j| (i + j) as u8).collect()
            })
            .collect();
        let expected = values.clone();
        let writer = std::thread::spawn(move || {
            for value in &values {
                assert!(theirs.write(value, None));
            }
        });
        for (i, value) in expected.iter().enumerate() {
            assert_eq!(read_vec(&ring, None).as_ref(), Some(value), "value {i}");
        }
        writer.join().expect("the writer ends");
        assert_eq!(ring.values(), 0);
    }

    #[test]
    fn a_torn_value_and_stray_pieces_are_dropped() {
        let ring = Ring::new().expect("ring");
        // A stray piece: no first entry before it.
        assert!(ring.write_entry(LAST, 3, b"end", None));
        // A first piece whose writer never wrote the rest.
        assert!(ring.write_entry(FIRST, 100, b"torn", None));
        assert!(ring.write(b"whole", None));
        assert_eq!(read_vec(&ring, None).as_deref(), Some(&b"whole"[..]));
        assert_eq!(read_vec(&ring, Some(Instant::now())), None, "nothing more");
    }

    #[test]
    fn a_full_ring_holds_a_writer_until_its_deadline_and_counts_values() {
        let ring = Ring::new().expect("ring");
        let piece = vec![1u8; CHUNK];
        let mut written = 0;
        while ring.write(&piece, Some(Instant::now())) {
            written += 1;
        }
        assert!((1..=CAPACITY / CHUNK).contains(&written));
        assert_eq!(ring.values(), written);
        let soon = Instant::now() + Duration::from_millis(20);
        assert!(!ring.write(&piece, Some(soon)));
        assert!(Instant::now() >= soon, "waited until its deadline");
        assert_eq!(read_vec(&ring, None), Some(piece));
        assert_eq!(ring.values(), written - 1);
    }

    #[test]
    fn a_reader_sleeps_until_a_value_comes() {
        let ring = Ring::new().expect("ring");
        let theirs = ring.clone();
        let soon = Instant::now() + Duration::from_millis(20);
        assert_eq!(read_vec(&ring, Some(soon)), None);
        let writer = std::thread::spawn(move || {
            // Past the spin, so that the reader sleeps.
            std::thread::sleep(Duration::from_millis(20));
            assert!(theirs.write(b"late", None));
        });
        assert_eq!(read_vec(&ring, None).as_deref(), Some(&b"late"[..]));
        writer.join().expect("the writer ends");
    }
}
