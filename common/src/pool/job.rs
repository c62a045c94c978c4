//! [`Job`]: consecutive items of a batch for one worker, as they cross the
//! task pipe: a header, then the items' encodings end to end (see `item`);
//! and how a call's input is cut into jobs ([`Items`], [`next_job`]).
//!
//! A byte vector of [`ATTACH_MIN`] bytes or more is not copied into the
//! job's buffer: the job keeps the vector itself, attached where its bytes
//! belong, and the pipe takes them from where they lie
//! (`Worker::flush` gathers the pieces in one `writev`). The worker reads
//! one contiguous payload either way.

use std::borrow::Cow;

use serde::Serialize;

use super::item::{bytes_of_at_least, encode_fixed_run, encode_item, fixed_width, put_varint};
use super::wire::JobHead;
use crate::error::{Error, Result};
use crate::sys::ErasedFn;

/// The least size of a byte vector attached to a job rather than copied
/// into its buffer.
const ATTACH_MIN: usize = 4096;

/// Consecutive items of a batch, for one worker: item `k` is input item
/// `start + k`, its encoding the payload's bytes from where item `k - 1`'s
/// ends to where its own does (see [`Ends`]).
pub(super) struct Job {
    pub(super) batch: u64,
    pub(super) func: ErasedFn,
    pub(super) start: usize,
    /// The payload, but for the attached vectors.
    buffer: Vec<u8>,
    /// The attached vectors, each with the place in `buffer` before which
    /// it goes; in order.
    attached: Vec<(usize, Vec<u8>)>,
    /// Their bytes in all.
    attached_len: usize,
    /// Where each item's encoding ends in the payload.
    ends: Ends,
    /// Its frame's header, made when it is given to a worker.
    pub(super) head: Vec<u8>,
    /// The bytes of its frame (header and payload), once given to a worker.
    pub(super) frame_len: usize,
}

impl Job {
    /// An empty job of `batch` whose first item is input item `start`, its
    /// items to be encoded into `buffer`'s memory (see `spare`).
    pub(super) fn new(mut buffer: Vec<u8>, batch: u64, func: ErasedFn, start: usize) -> Job {
        buffer.clear();
        Job::with_payload(batch, func, start, buffer, Ends::Listed(Vec::new()))
    }

    /// Its buffer, for another job or answer once it is answered (the
    /// worker has read all of it, see `Worker::flush`).
    pub(super) fn into_buffer(self) -> Vec<u8> {
        self.buffer
    }

    fn with_payload(batch: u64, func: ErasedFn, start: usize, buffer: Vec<u8>, ends: Ends) -> Job {
        Job {
            batch,
            func,
            start,
            buffer,
            attached: Vec::new(),
            attached_len: 0,
            ends,
            head: Vec::new(),
            frame_len: 0,
        }
    }

    /// Adds up to `count` items from `items` after the others in one pass,
    /// if they are fixed-width integers; `false` (and `items` untouched)
    /// if not. An error says the job grew too large.
    pub(super) fn extend_fixed<A: 'static>(
        &mut self,
        items: &mut impl Iterator<Item = A>,
        count: usize,
    ) -> Result<bool, String> {
        let Some(width) = fixed_width::<A>() else {
            return Ok(false);
        };
        let Some(added) = encode_fixed_run(items.by_ref().take(count), &mut self.buffer) else {
            return Ok(false);
        };
        self.payload_end()?;
        match &mut self.ends {
            Ends::Every { count, .. } => *count += added,
            ends => {
                *ends = Ends::Every {
                    width,
                    count: ends.len() + added,
                }
            }
        }
        Ok(true)
    }

    /// Adds `item` after the others. An error says why it cannot cross.
    pub(super) fn push<A: Serialize + 'static>(&mut self, item: A) -> Result<(), String> {
        let mut one = std::iter::once(item);
        if self.extend_fixed(&mut one, 1)? {
            return Ok(());
        }
        let item = one.next().expect("not an integer: left as it was");
        match bytes_of_at_least(item, ATTACH_MIN) {
            Ok(bytes) => {
                put_varint(bytes.len() as u64, &mut self.buffer);
                self.attached_len += bytes.len();
                self.attached.push((self.buffer.len(), bytes));
            }
            Err(item) => {
                let at = self.buffer.len();
                if let Err(message) = encode_item(&item, &mut self.buffer) {
                    self.buffer.truncate(at);
                    return Err(message);
                }
            }
        }
        let end = self.payload_end()?;
        match &mut self.ends {
            Ends::Listed(ends) => ends.push(end),
            Ends::Every { .. } => unreachable!("a job's items are of one type"),
        }
        Ok(())
    }

    /// Where its payload ends, as its ends are kept: an error once the job
    /// is over 4 GiB.
    fn payload_end(&self) -> Result<u32, String> {
        u32::try_from(self.payload_len())
            .map_err(|_| "a chunk over 4 GiB: use a smaller chunksize".to_owned())
    }

    /// Its frame's header (see `wire`): the function, the count and the
    /// payload's length (the payload follows it on the pipe).
    pub(super) fn frame_head(&self) -> std::io::Result<Vec<u8>> {
        JobHead {
            func: self.func,
            count: self.len() as u64,
            payload: self.payload_len() as u64,
            vectors: self.vector_lengths().unwrap_or_default(),
        }
        .encode()
    }

    /// How many items it has.
    pub(super) fn len(&self) -> usize {
        self.ends.len()
    }

    /// The input indices of its items.
    pub(super) fn indices(&self) -> std::ops::Range<usize> {
        self.start..self.start + self.len()
    }

    /// The lengths of its items if every one is an attached byte vector.
    pub(super) fn vector_lengths(&self) -> Option<Vec<u32>> {
        (!self.attached.is_empty() && self.attached.len() == self.len()).then(|| {
            self.attached
                .iter()
                .map(|(_, bytes)| u32::try_from(bytes.len()).expect("a job is under 4 GiB"))
                .collect()
        })
    }

    /// The bytes of its payload.
    pub(super) fn payload_len(&self) -> usize {
        self.buffer.len() + self.attached_len
    }

    /// Its frame as it goes down the pipe: the header, then the payload's
    /// pieces in order (none empty).
    pub(super) fn pieces(&self) -> impl Iterator<Item = &[u8]> {
        std::iter::once(&self.head[..])
            .chain(self.payload_pieces())
            .filter(|piece| !piece.is_empty())
    }

    /// The payload's pieces in order: the buffer's, between the attached
    /// vectors.
    fn payload_pieces(&self) -> impl Iterator<Item = &[u8]> {
        let starts = std::iter::once(0).chain(self.attached.iter().map(|(at, _)| *at));
        let tail = self.attached.last().map_or(0, |(at, _)| *at);
        starts
            .zip(&self.attached)
            .flat_map(|(from, (at, bytes))| [&self.buffer[from..*at], &bytes[..]])
            .chain(std::iter::once(&self.buffer[tail..]))
    }

    /// The payload in one piece (copied together if anything is attached).
    fn payload(&self) -> Cow<'_, [u8]> {
        if self.attached.is_empty() {
            return Cow::Borrowed(&self.buffer);
        }
        Cow::Owned(self.payload_pieces().collect::<Vec<_>>().concat())
    }

    /// Where item `k`'s encoding begins.
    fn begin(&self, k: usize) -> usize {
        if k == 0 { 0 } else { self.ends.end(k - 1) }
    }

    /// The jobs of the items before item `k` and of those after it (item
    /// `k` itself left out), each `None` when empty.
    pub(super) fn around(&self, k: usize) -> (Option<Job>, Option<Job>) {
        let payload = self.payload();
        (
            self.part(&payload, 0, k),
            self.part(&payload, k + 1, self.len()),
        )
    }

    /// A job for each of its items, in order: when one of them broke the
    /// worker and which is not known, each runs alone (see
    /// `Inner::worker_died`).
    pub(super) fn singles(&self) -> Vec<Job> {
        let payload = self.payload();
        (0..self.len())
            .filter_map(|k| self.part(&payload, k, k + 1))
            .collect()
    }

    /// The job of items `from..to` of this one (whose payload is
    /// `payload`); `None` when empty.
    fn part(&self, payload: &[u8], from: usize, to: usize) -> Option<Job> {
        (from < to).then(|| {
            let base = self.begin(from);
            let ends = self.ends.part(from, to);
            let bytes = payload[base..self.ends.end(to - 1)].to_vec();
            Job::with_payload(self.batch, self.func, self.start + from, bytes, ends)
        })
    }
}

/// Where each item of a job ends in its payload.
enum Ends {
    /// Integers: every `width` bytes (see `item`).
    Every { width: usize, count: usize },
    /// Anything else: each end, in order.
    Listed(Vec<u32>),
}

impl Ends {
    fn len(&self) -> usize {
        match self {
            Ends::Every { count, .. } => *count,
            Ends::Listed(ends) => ends.len(),
        }
    }

    /// Where item `k` ends.
    fn end(&self, k: usize) -> usize {
        match self {
            Ends::Every { width, .. } => (k + 1) * width,
            Ends::Listed(ends) => ends[k] as usize,
        }
    }

    /// The ends of items `from..to`, counted from where item `from`
    /// begins.
    fn part(&self, from: usize, to: usize) -> Ends {
        match self {
            Ends::Every { width, .. } => Ends::Every {
                width: *width,
                count: to - from,
            },
            Ends::Listed(ends) => {
                let base = if from == 0 { 0 } else { ends[from - 1] };
                Ends::Listed(ends[from..to].iter().map(|&end| end - base).collect())
            }
        }
    }
}

/// A call's input items, with how many there are: the caller's iterator
/// itself when it knows its length exactly (a range, a vector), else the
/// items collected first (the default chunksize needs the count, as
/// Python's `map` needs `list(iterable)`).
pub(super) enum Items<I: Iterator> {
    /// An iterator that yields more or fewer than it said is counted as
    /// it goes (see `Inner::submit`).
    Exact(I),
    Collected(std::vec::IntoIter<I::Item>),
}

impl<I: Iterator> Items<I> {
    /// `items`, and how many they are.
    pub(super) fn new(items: impl IntoIterator<IntoIter = I>) -> (Items<I>, usize) {
        let items = items.into_iter();
        match items.size_hint() {
            (low, Some(high)) if low == high => (Items::Exact(items), low),
            _ => {
                let items: Vec<I::Item> = items.collect();
                let len = items.len();
                (Items::Collected(items.into_iter()), len)
            }
        }
    }
}

impl<I: Iterator> Iterator for Items<I> {
    type Item = I::Item;

    fn next(&mut self) -> Option<I::Item> {
        match self {
            Items::Exact(items) => items.next(),
            Items::Collected(items) => items.next(),
        }
    }
}

/// In the parent: `items` as jobs of `batch` of `chunksize` items each,
/// their encodings one buffer per job, handed to `sink` one by one as they
/// are made.
pub(super) fn make_jobs<A: Serialize + 'static>(
    batch: u64,
    func: crate::sys::ErasedFn,
    mut items: impl Iterator<Item = A>,
    chunksize: usize,
    mut sink: impl FnMut(Job) -> Result<()>,
) -> Result<()> {
    let mut start = 0;
    while let Some(job) = next_job(&mut items, Vec::new(), batch, func, start, chunksize) {
        let job = job?;
        start += job.len();
        sink(job)?;
    }
    Ok(())
}

/// In the parent: the next job of at most `chunksize` items from `items`,
/// encoded into `buffer`, its first being input item `start`; `None` once
/// `items` is exhausted.
pub(super) fn next_job<A: Serialize + 'static>(
    items: &mut impl Iterator<Item = A>,
    buffer: Vec<u8>,
    batch: u64,
    func: crate::sys::ErasedFn,
    start: usize,
    chunksize: usize,
) -> Option<Result<Job>> {
    let mut job = Job::new(buffer, batch, func, start);
    match job.extend_fixed(items, chunksize.max(1)) {
        Ok(true) => return (job.len() > 0).then_some(Ok(job)),
        Ok(false) => {}
        Err(message) => {
            return Some(Err(Error::Codec {
                index: start,
                message,
            }));
        }
    }
    for item in items.by_ref().take(chunksize.max(1)) {
        let index = start + job.len();
        if let Err(message) = job.push(item) {
            return Some(Err(Error::Codec { index, message }));
        }
    }
    (job.len() > 0).then_some(Ok(job))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn length(bytes: Vec<u8>) -> usize {
        bytes.len()
    }

    fn job_of(items: Vec<Vec<u8>>) -> Job {
        let mut job = Job::new(Vec::new(), 0, crate::pool::chunk::erase(length), 10);
        for item in items {
            job.push(item).expect("pushed");
        }
        job
    }

    fn concat<'a>(pieces: impl Iterator<Item = &'a [u8]>) -> Vec<u8> {
        pieces.collect::<Vec<_>>().concat()
    }

    #[test]
    fn large_vectors_are_attached_and_the_payload_reads_as_if_copied() {
        let items = vec![vec![1; 10], vec![2; 5000], vec![3; 3], vec![4; 9000]];
        let job = job_of(items.clone());
        assert_eq!(job.attached.len(), 2, "the two large vectors are attached");
        let mut copied = Vec::new();
        for item in &items {
            encode_item(item, &mut copied).expect("encodes");
        }
        assert_eq!(job.payload_len(), copied.len());
        assert_eq!(concat(job.pieces()), copied);
        assert_eq!(job.ends.end(3), copied.len());
    }

    #[test]
    fn the_jobs_around_an_item_hold_the_others() {
        let items = vec![vec![1; 4096], vec![2; 7], vec![3; 6000], vec![4; 2]];
        let job = job_of(items.clone());
        let (before, after) = job.around(2);
        let before = before.expect("items 0 and 1");
        let after = after.expect("item 3");
        assert_eq!((before.start, before.len()), (10, 2));
        assert_eq!((after.start, after.len()), (13, 1));
        let expected = |items: &[Vec<u8>]| {
            let mut bytes = Vec::new();
            for item in items {
                encode_item(item, &mut bytes).expect("encodes");
            }
            bytes
        };
        assert_eq!(concat(before.pieces()), expected(&items[..2]));
        assert_eq!(concat(after.pieces()), expected(&items[3..]));
    }

    #[test]
    fn singles_hold_one_item_each_in_order() {
        let items = vec![vec![1; 4096], vec![2; 7], vec![3; 6000]];
        let job = job_of(items.clone());
        let singles = job.singles();
        assert_eq!(singles.len(), 3);
        for (k, single) in singles.iter().enumerate() {
            assert_eq!((single.start, single.len()), (10 + k, 1));
            let mut bytes = Vec::new();
            encode_item(&items[k], &mut bytes).expect("encodes");
            assert_eq!(concat(single.pieces()), bytes);
        }
    }
}
