//! A chunk of items as it crosses to a worker and back, and the typed code
//! on both sides: items encoded one after another in one buffer (no
//! allocation per item; each item as `item.rs` encodes it), results
//! likewise.
//!
//! # The answer
//!
//! A worker answers a chunk with one tag byte and a payload (see `wire`):
//!
//! - [`ALL`]: every item returned; the payload is their results' encodings
//!   one after another, which the caller decodes straight into its output;
//! - [`EACH`]: some item panicked or could not be decoded or encoded; the
//!   payload is, per item, a tag ([`DONE`], [`PANICKED`], [`CODEC`]), a
//!   length, and that many bytes (the result, or the message);
//! - [`LONE`]: a chunk of one item returned a `Vec<u8>` of at least
//!   [`LONE_MIN`] bytes; the payload is those bytes, nothing else. The
//!   worker writes them from the result itself, and the parent reads them
//!   into a buffer of their own that becomes the result (see
//!   `Worker::read_available`): no copy on either side beyond the pipe's.

use std::any::TypeId;
use std::panic::{self, AssertUnwindSafe};

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::item::{
    Reader, bytes_of_at_least, encode_item, fixed_width, put_varint, take_varint, vector_as,
};
use super::job::Job;
use super::wire::{ALL, CODEC, DONE, EACH, LONE, LONE_MIN, PANICKED};
use crate::error::{Error, Result};
use crate::sys::{Chunk, ErasedFn, RunChunk};

/// `func`, erased to be called by a worker on a chunk of items at once
/// (see [`run_chunk`]).
pub(super) fn erase<A, R>(func: fn(A) -> R) -> ErasedFn
where
    A: DeserializeOwned + 'static,
    R: Serialize + 'static,
{
    ErasedFn::chunked::<A, R, Chunks>(func)
}

/// A two-argument `func`, erased as [`erase`] does, each item a tuple.
pub(super) fn erase_pair<A, B, R>(func: fn(A, B) -> R) -> ErasedFn
where
    A: DeserializeOwned + 'static,
    B: DeserializeOwned + 'static,
    R: Serialize + 'static,
{
    ErasedFn::chunked_pair::<A, B, R, Chunks>(func)
}

/// How an erased function is run over a chunk: [`run_chunk`].
struct Chunks;

impl RunChunk for Chunks {
    fn run<A, R>(call: impl Fn(A) -> R, chunk: &Chunk<'_>, answer: &mut Vec<u8>)
    where
        A: DeserializeOwned + 'static,
        R: Serialize + 'static,
    {
        run_chunk(call, chunk, answer);
    }
}

/// In a worker: runs `call` on each item of `chunk` and appends the answer
/// to `answer` (see the module docs). A panic is caught per item.
fn run_chunk<I, R>(call: impl Fn(I) -> R, chunk: &Chunk<'_>, answer: &mut Vec<u8>)
where
    I: DeserializeOwned + 'static,
    R: Serialize + 'static,
{
    let start = answer.len();
    answer.push(ALL);
    // Where each result so far ends in `answer`, while all goes well:
    // listed, unless the results are integers, each `width` bytes (a list
    // of a million ends was a fresh megabyte for every job).
    let width = fixed_width::<R>();
    let mut ends = Vec::with_capacity(if width.is_some() { 0 } else { chunk.count });
    // Once an item fails: every item's outcome, in order.
    let mut outcomes: Option<Vec<Outcome>> = None;
    let mut items = match chunk.vectors {
        Some(next) => Reader::Streamed(next),
        None => Reader::new::<I>(chunk.payload),
    };
    for done in 0..chunk.count {
        (chunk.progress)(done as u64);
        let item = match items.next::<I>() {
            Ok(item) => item,
            Err(message) => {
                // The items after it cannot be found: they fail too.
                let list = outcomes.get_or_insert_with(|| split(answer, start + 1, &ends, width));
                list.extend(
                    (done..chunk.count)
                        .map(|_| Outcome::Codec(format!("cannot decode the argument: {message}"))),
                );
                break;
            }
        };
        let outcome = match panic::catch_unwind(AssertUnwindSafe(|| call(item))) {
            Err(payload) => Outcome::Panicked(panic_message(payload.as_ref())),
            Ok(result) if outcomes.is_none() => {
                let result = match hand_over_lone(result, chunk) {
                    Ok(()) => {
                        answer[start] = LONE;
                        continue;
                    }
                    Err(result) => result,
                };
                let at = answer.len();
                match encode_item(&result, answer) {
                    Ok(()) => {
                        if width.is_none() {
                            ends.push(answer.len());
                        }
                        continue;
                    }
                    Err(message) => {
                        answer.truncate(at);
                        Outcome::Codec(format!("cannot encode the result: {message}"))
                    }
                }
            }
            Ok(result) => {
                let mut bytes = Vec::new();
                match encode_item(&result, &mut bytes) {
                    Ok(()) => Outcome::Done(bytes),
                    Err(message) => Outcome::Codec(format!("cannot encode the result: {message}")),
                }
            }
        };
        outcomes
            .get_or_insert_with(|| split(answer, start + 1, &ends, width))
            .push(outcome);
    }
    (chunk.progress)(chunk.count as u64);
    if let Some(outcomes) = outcomes {
        answer.truncate(start);
        answer.push(EACH);
        for outcome in outcomes {
            let (tag, bytes) = match &outcome {
                Outcome::Done(bytes) => (DONE, bytes.as_slice()),
                Outcome::Panicked(message) => (PANICKED, message.as_bytes()),
                Outcome::Codec(message) => (CODEC, message.as_bytes()),
            };
            answer.push(tag);
            put_varint(bytes.len() as u64, answer);
            answer.extend_from_slice(bytes);
        }
    }
}

/// Hands `result` over through `chunk.lone` if it is the lone result of
/// the chunk and a byte vector of at least [`LONE_MIN`] bytes; else gives
/// it back.
fn hand_over_lone<R: 'static>(result: R, chunk: &Chunk<'_>) -> std::result::Result<(), R> {
    if chunk.count != 1 {
        return Err(result);
    }
    let bytes = bytes_of_at_least(result, LONE_MIN)?;
    chunk.lone.set(Some(bytes));
    Ok(())
}

/// What one item came to, once a chunk answers item by item.
enum Outcome {
    Done(Vec<u8>),
    Panicked(String),
    Codec(String),
}

/// The results already in `answer` from `from`, each ending where `ends`
/// says, or each `width` bytes long, as outcomes.
fn split(answer: &[u8], from: usize, ends: &[usize], width: Option<usize>) -> Vec<Outcome> {
    if let Some(width) = width {
        return answer[from..]
            .chunks_exact(width)
            .map(|bytes| Outcome::Done(bytes.to_vec()))
            .collect();
    }
    let mut begin = from;
    ends.iter()
        .map(|&end| {
            let bytes = answer[begin..end].to_vec();
            begin = end;
            Outcome::Done(bytes)
        })
        .collect()
}

/// In the parent: reads an [`EACH`] answer's payload into one result per
/// item (`pid` is the worker's, for the panics), the first being item
/// `start`; `None` if it is malformed.
pub(super) fn parse_each(
    mut payload: &[u8],
    start: usize,
    pid: u32,
) -> Option<Vec<Result<Vec<u8>>>> {
    let mut items = Vec::new();
    while let Some((&tag, rest)) = payload.split_first() {
        let (len, rest) = take_varint(rest)?;
        let len = usize::try_from(len).ok()?;
        let bytes = rest.get(..len)?;
        payload = &rest[len..];
        let index = start + items.len();
        let message = || String::from_utf8_lossy(bytes).into_owned();
        items.push(match tag {
            DONE => Ok(bytes.to_vec()),
            PANICKED => Err(Error::TaskPanicked {
                index,
                pid,
                message: message(),
            }),
            CODEC => Err(Error::Codec {
                index,
                message: message(),
            }),
            _ => return None,
        });
    }
    Some(items)
}

/// A whole answer, as the parent stores it until a caller decodes it.
#[derive(Debug)]
pub(super) enum Answer {
    /// Every item's result, encoded one after another from `bytes[from..]`.
    All {
        len: usize,
        bytes: Vec<u8>,
        from: usize,
    },
    /// Each item's result or error.
    Each(Vec<Result<Vec<u8>>>),
    /// The one item's result, a byte vector, as it is (see [`LONE`]).
    Lone(Vec<u8>),
}

impl Answer {
    /// How many items it answers.
    pub(super) fn len(&self) -> usize {
        match self {
            Answer::All { len, .. } => *len,
            Answer::Each(items) => items.len(),
            Answer::Lone(_) => 1,
        }
    }

    /// Whether some item failed.
    pub(super) fn failed(&self) -> bool {
        matches!(self, Answer::Each(items) if items.iter().any(Result::is_err))
    }

    /// A lone `Vec<u8>` result taken out of the answer's own buffer (moved
    /// down over the answer's header, no new memory), else the answer back.
    fn into_lone_bytes<R: 'static>(self, start: usize) -> std::result::Result<R, Answer> {
        if let Answer::Lone(bytes) = self {
            return vector_as(bytes).map_err(|message| {
                Answer::Each(vec![Err(Error::Codec {
                    index: start,
                    message,
                })])
            });
        }
        let Answer::All {
            len: 1,
            mut bytes,
            from,
        } = self
        else {
            return Err(self);
        };
        if TypeId::of::<R>() != TypeId::of::<Vec<u8>>() {
            return Err(Answer::All {
                len: 1,
                bytes,
                from,
            });
        }
        let Some((len, rest)) = take_varint(&bytes[from..]) else {
            return Err(Answer::All {
                len: 1,
                bytes,
                from,
            });
        };
        let begin = bytes.len() - rest.len();
        match usize::try_from(len)
            .ok()
            .filter(|&len| begin + len == bytes.len())
        {
            Some(_) => {
                bytes.drain(..begin);
                Ok(vector_as(bytes).expect("R is Vec<u8>"))
            }
            None => Err(Answer::All {
                len: 1,
                bytes,
                from,
            }),
        }
    }

    /// Decodes the items, the first being input item `start`, into `out`.
    pub(super) fn decode<R: DeserializeOwned + 'static>(
        self,
        start: usize,
        out: &mut impl Extend<(usize, Result<R>)>,
    ) {
        let answer = match self.into_lone_bytes::<R>(start) {
            Ok(value) => return out.extend([(start, Ok(value))]),
            Err(answer) => answer,
        };
        match answer {
            Answer::All { len, bytes, from } => {
                let mut items = Reader::new::<R>(&bytes[from..]);
                for index in start..start + len {
                    match items.next::<R>() {
                        Ok(value) => out.extend([(index, Ok(value))]),
                        Err(message) => {
                            // The items after it cannot be found: they fail.
                            out.extend((index..start + len).map(|index| {
                                let message = message.clone();
                                (index, Err(Error::Codec { index, message }))
                            }));
                            return;
                        }
                    }
                }
            }
            Answer::Each(items) => {
                out.extend((start..).zip(items).map(|(index, item)| {
                    let value = item.and_then(|bytes| {
                        Reader::new::<R>(&bytes)
                            .next::<R>()
                            .map_err(|message| Error::Codec { index, message })
                    });
                    (index, value)
                }));
            }
            Answer::Lone(_) => unreachable!("taken by into_lone_bytes"),
        }
    }

    /// Decodes the items into `values` without consuming the answer (for a
    /// callback, while the caller will take them too): the first failure
    /// (a copy) if any.
    pub(super) fn peek<R: DeserializeOwned + 'static>(
        &self,
        start: usize,
        values: &mut Vec<R>,
    ) -> Result<()> {
        match self {
            Answer::All { len, bytes, from } => {
                Reader::new::<R>(&bytes[*from..])
                    .read_into(*len, values)
                    .map_err(|(at, message)| Error::Codec {
                        index: start + at,
                        message,
                    })?;
            }
            Answer::Lone(bytes) => {
                let value = vector_as(bytes.clone()).map_err(|message| Error::Codec {
                    index: start,
                    message,
                })?;
                values.push(value);
            }
            Answer::Each(items) => {
                for (index, item) in (start..).zip(items) {
                    let bytes = item.as_ref().map_err(Error::duplicate)?;
                    let value = Reader::new::<R>(bytes)
                        .next::<R>()
                        .map_err(|message| Error::Codec { index, message })?;
                    values.push(value);
                }
            }
        }
        Ok(())
    }

    /// Decodes every item, the first being input item `start`, onto the
    /// end of `values`; the first failure if any.
    pub(super) fn decode_values<R: DeserializeOwned + 'static>(
        self,
        start: usize,
        values: &mut Vec<R>,
    ) -> Result<()> {
        self.decode_keeping(start, values).map(drop)
    }

    /// [`decode_values`](Self::decode_values), giving back the answer's
    /// buffer when the values were copied out of it (see `spare`).
    pub(super) fn decode_keeping<R: DeserializeOwned + 'static>(
        self,
        start: usize,
        values: &mut Vec<R>,
    ) -> Result<Option<Vec<u8>>> {
        let answer = match self.into_lone_bytes::<R>(start) {
            Ok(value) => {
                values.push(value);
                return Ok(None);
            }
            Err(answer) => answer,
        };
        match answer {
            // Decoding reads the bytes either way: as `peek` does.
            Answer::All { .. } => {
                answer.peek(start, values)?;
                let Answer::All { bytes, .. } = answer else {
                    unreachable!("matched above")
                };
                Ok(Some(bytes))
            }
            each => {
                let mut out = Vec::new();
                each.decode(start, &mut out);
                for (_, value) in out {
                    values.push(value?);
                }
                Ok(None)
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

/// What a caught panic said, as text.
fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic with a non-string payload".to_owned())
}
