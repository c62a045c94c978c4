//! A chunk of items in the worker: the pool's function run over a job's
//! items, typed again (see `sys::erased`), and its answer written, with no
//! allocation per item (each item as `item.rs` encodes it).
//!
//! # The answer
//!
//! A worker answers a chunk with one tag byte and a payload (see `wire`;
//! the parent reads it as an `answer::Answer`):
//!
//! - [`ALL`]: every item returned; the payload is their results' encodings
//!   one after another, which the caller decodes straight into its output;
//! - [`EACH`]: some item panicked, returned an error (a `try_` call's
//!   task), or could not be decoded or encoded; the payload is, per item,
//!   a tag ([`DONE`], [`PANICKED`], [`FAILED`], [`CODEC`]), a length, and
//!   that many bytes (the result, or the message, or the error);
//! - [`LONE`]: a chunk of one item returned a `Vec<u8>` of at least
//!   [`LONE_MIN`] bytes; the payload is those bytes, nothing else. The
//!   worker writes them from the result itself, and the parent reads them
//!   into a buffer of their own that becomes the result (see
//!   `Worker::read_available`): no copy on either side beyond the pipe's.

use std::cell::Cell;
use std::panic::{self, AssertUnwindSafe};

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::item::{Reader, bytes_of_at_least, encode_item, fixed_width, put_varint};
use super::wire::{ALL, CODEC, DONE, EACH, FAILED, LONE, LONE_MIN, PANICKED};
use crate::sys::{Chunk, ErasedFn, Failure, RunChunk};

/// `func`, erased to be called by a worker on a chunk of items at once
/// (see [`run_chunk`]).
pub(super) fn erase<A, R>(func: fn(A) -> R) -> ErasedFn
where
    A: DeserializeOwned + 'static,
    R: Serialize + 'static,
{
    ErasedFn::chunked::<A, R, Chunks>(func)
}

/// `func`, which returns `Result`, erased as [`erase`] does: an item whose
/// task returns an error fails with it (a `try_` call's).
pub(super) fn erase_fallible<A, R, E>(func: fn(A) -> Result<R, E>) -> ErasedFn
where
    A: DeserializeOwned + 'static,
    R: Serialize + 'static,
    E: Serialize + std::fmt::Display + 'static,
{
    ErasedFn::chunked_fallible::<A, R, E, Chunks>(func)
}

/// How an erased function is run over a chunk: [`run_chunk`].
struct Chunks;

impl RunChunk for Chunks {
    fn run<A, R>(call: impl Fn(A) -> Result<R, Failure>, chunk: &Chunk<'_>, answer: &mut Vec<u8>)
    where
        A: DeserializeOwned + 'static,
        R: Serialize + 'static,
    {
        run_chunk(call, chunk, answer);
    }
}

/// In a worker: runs `call` on each item of `chunk` and appends the answer
/// to `answer` (see the module docs). A panic is caught per item.
fn run_chunk<I, R>(call: impl Fn(I) -> Result<R, Failure>, chunk: &Chunk<'_>, answer: &mut Vec<u8>)
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
    let mut ends = SPARE_ENDS.take();
    ends.clear();
    if width.is_none() {
        ends.reserve(chunk.count);
    }
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
            Ok(Err(failure)) => Outcome::Failed(failure),
            Ok(Ok(result)) if outcomes.is_none() => {
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
            Ok(Ok(result)) => {
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
    if ends.capacity() <= SPARE_ENDS_MAX {
        SPARE_ENDS.set(ends);
    }
    if let Some(outcomes) = outcomes {
        answer.truncate(start);
        write_each(outcomes, answer);
    }
}

thread_local! {
    /// The list of where results end, kept from one job to the next: made
    /// afresh, a chunk of 25,000 strings took 200 KB of new memory, and
    /// its page faults, in every job.
    static SPARE_ENDS: Cell<Vec<usize>> = const { Cell::new(Vec::new()) };
}

/// The most ends kept between jobs (8 MB of them).
const SPARE_ENDS_MAX: usize = 1 << 20;

/// Appends an [`EACH`] answer of `outcomes` to `answer`: its tag, then per
/// item an outcome tag, a varint length and the bytes (see `wire`).
fn write_each(outcomes: Vec<Outcome>, answer: &mut Vec<u8>) {
    answer.push(EACH);
    for outcome in outcomes {
        let (tag, bytes) = match outcome {
            Outcome::Done(bytes) => (DONE, bytes),
            Outcome::Panicked(message) => (PANICKED, message.into_bytes()),
            Outcome::Codec(message) => (CODEC, message.into_bytes()),
            Outcome::Failed(Failure { message, error }) => {
                let mut bytes = Vec::with_capacity(message.len() + error.len() + 4);
                put_varint(message.len() as u64, &mut bytes);
                bytes.extend_from_slice(message.as_bytes());
                bytes.extend_from_slice(&error);
                (FAILED, bytes)
            }
        };
        answer.push(tag);
        put_varint(bytes.len() as u64, answer);
        answer.extend_from_slice(&bytes);
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
    Failed(Failure),
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

/// What a caught panic said, as text.
fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic with a non-string payload".to_owned())
}
