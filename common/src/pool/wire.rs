//! The pool's wire protocol in one place: its formats and rules, which
//! `PROTOCOL.md` beside this file tells whole, naming the files that speak
//! each part.
//!
//! - A job: a header frame ([`JobHead`]) naming the function, the count and
//!   the payload's length, then the payload, the items' encodings end to
//!   end (see `item`).
//! - An answer, one per job, in order: its length ([`ANSWER_LEN`] bytes), a
//!   tag ([`ALL`], [`EACH`], [`LONE`]) and a payload; how the parent cuts
//!   whole answers out of what it has read ([`missing`], [`take_answers`],
//!   [`lone_begins`]).
//! - The progress word each worker keeps in memory shared with the parent
//!   ([`progress_job`], [`BETWEEN_JOBS`], [`UNANSWERABLE`]), and how the
//!   parent blames a death with it ([`died_in`]).

use std::io;

use serde::{Deserialize, Serialize};

use crate::frame;
use crate::sys::ErasedFn;

/// A job's header, the frame before its payload: which function, how many
/// items, how many bytes of payload follow.
#[derive(Serialize, Deserialize)]
pub(super) struct JobHead {
    pub(super) func: ErasedFn,
    pub(super) count: u64,
    pub(super) payload: u64,
    /// When every item is a large byte vector (see `job`), their lengths:
    /// the worker reads each straight into a vector of its own. Else
    /// empty.
    pub(super) vectors: Vec<u32>,
}

impl JobHead {
    /// The header as a frame (see `frame`), ready to write before the
    /// payload.
    pub(super) fn encode(&self) -> io::Result<Vec<u8>> {
        frame::encode(self)
    }
}

/// The bytes an answer's length takes.
pub(super) const ANSWER_LEN: usize = 8;

/// The answer's tag: every item's result follows, their encodings one
/// after another (see `item`).
pub(super) const ALL: u8 = 0;

/// The answer's tag: an outcome per item follows: an outcome tag
/// ([`DONE`], [`PANICKED`], [`CODEC`], [`FAILED`]), a varint length, and
/// that many bytes (the result's encoding, or the message, or the error).
pub(super) const EACH: u8 = 1;

/// The answer's tag: a lone large byte vector follows, its bytes and
/// nothing else (a chunk of one item whose result is a `Vec<u8>` of at
/// least [`LONE_MIN`] bytes).
pub(super) const LONE: u8 = 2;

/// The least size of a result answered as [`LONE`].
pub(super) const LONE_MIN: usize = 1 << 20;

/// An item's outcome in an [`EACH`] answer: its result follows.
pub(super) const DONE: u8 = 0;

/// An item's outcome in an [`EACH`] answer: it panicked; the message
/// follows.
pub(super) const PANICKED: u8 = 1;

/// An item's outcome in an [`EACH`] answer: its argument or result could
/// not cross; the message follows.
pub(super) const CODEC: u8 = 2;

/// An item's outcome in an [`EACH`] answer: its task returned an error (a
/// `try_` call's); the error's message follows, as a varint length and
/// its bytes, then the error's encoding.
pub(super) const FAILED: u8 = 3;

/// In a worker: starts an answer at the end of `out`, with room for its
/// length; returns where it starts.
pub(super) fn begin_answer(out: &mut Vec<u8>) -> usize {
    let at = out.len();
    out.extend_from_slice(&[0; ANSWER_LEN]);
    at
}

/// In a worker: fills in the length of the answer begun at `at`, which
/// `more` bytes written after `out` complete.
pub(super) fn end_answer(out: &mut [u8], at: usize, more: usize) {
    let len = (out.len() - at - ANSWER_LEN + more) as u64;
    out[at..at + ANSWER_LEN].copy_from_slice(&len.to_le_bytes());
}

/// How many bytes the inbox still lacks to hold its first partial answer
/// whole, and that answer's length with its header ((0, 0) when it holds
/// no answer's length yet). `None` if what it holds cannot be answers: a
/// length no memory holds, or a tag that is none (a task wrote into the
/// pipe?).
pub(super) fn missing(inbox: &[u8]) -> Option<(usize, usize)> {
    let mut at = 0;
    while let Some(len) = inbox.get(at..at + ANSWER_LEN) {
        let len = u64::from_le_bytes(len.try_into().expect("eight bytes"));
        let end = usize::try_from(len)
            .ok()
            .filter(|&len| len <= isize::MAX as usize)
            .and_then(|len| (at + ANSWER_LEN).checked_add(len))?;
        if inbox
            .get(at + ANSWER_LEN)
            .is_some_and(|tag| ![ALL, EACH, LONE].contains(tag))
        {
            return None;
        }
        if end > inbox.len() {
            return Some((end - inbox.len(), end - at));
        }
        at = end;
    }
    Some((0, 0))
}

/// The size from which an answer that fills the inbox is taken with the
/// inbox's buffer rather than copied out of it (the inbox is then given
/// kept memory, see `Worker::read_available`).
pub(super) const TAKE_WHOLE: usize = 64 * 1024;

/// The bytes before a [`LONE`] answer's payload: its length and its tag.
pub(super) const LONE_HEAD: usize = ANSWER_LEN + 1;

/// Where the partial answer at the end of `inbox` begins, and its
/// payload's length, if it is a [`LONE`] answer whose tag has come.
pub(super) fn lone_begins(inbox: &[u8]) -> Option<(usize, usize)> {
    let (missing, whole) = missing(inbox)?;
    if whole == 0 {
        return None;
    }
    let at = inbox.len() + missing - whole;
    let len = whole - ANSWER_LEN;
    let tag = *inbox.get(at + ANSWER_LEN)?;
    (tag == LONE && len > LONE_MIN).then(|| (at, len - 1))
}

/// One answer taken from a worker's inbox: its tag and payload, the
/// payload being `bytes[from..]`.
pub(super) struct Taken {
    pub(super) tag: u8,
    pub(super) bytes: Vec<u8>,
    pub(super) from: usize,
}

/// In the parent: takes every whole answer out of `inbox` (what was read
/// from a worker so far), leaving a partial one there. A large answer that
/// fills the inbox is taken without a copy.
pub(super) fn take_answers(inbox: &mut Vec<u8>) -> Vec<Taken> {
    let mut taken = Vec::new();
    let mut at = 0;
    while let Some(len) = inbox.get(at..at + ANSWER_LEN) {
        let len = u64::from_le_bytes(len.try_into().expect("eight bytes"));
        let Some(end) = usize::try_from(len)
            .ok()
            .and_then(|len| (at + ANSWER_LEN).checked_add(len))
            .filter(|&end| end <= inbox.len())
        else {
            break;
        };
        if end == at + ANSWER_LEN {
            // An empty answer: a worker's malformed, handled as its death.
            taken.push(Taken {
                tag: u8::MAX,
                bytes: Vec::new(),
                from: 0,
            });
        } else if at == 0 && end == inbox.len() && end >= TAKE_WHOLE {
            taken.push(Taken {
                tag: inbox[ANSWER_LEN],
                bytes: std::mem::take(inbox),
                from: ANSWER_LEN + 1,
            });
            return taken;
        } else {
            taken.push(Taken {
                tag: inbox[at + ANSWER_LEN],
                bytes: inbox[at + ANSWER_LEN + 1..end].to_vec(),
                from: 0,
            });
        }
        at = end;
    }
    inbox.drain(..at);
    taken
}

/// The low half of a worker's progress word while it runs no job.
pub(super) const BETWEEN_JOBS: u64 = 0xffff_ffff;

/// The high half of a worker's progress word while it runs job `seq`
/// (counted from 0 over the worker's life, modulo 2^32); the low half is
/// how many of the job's items are done, or [`BETWEEN_JOBS`] once it is
/// answered.
#[inline]
pub(super) const fn progress_job(seq: u64) -> u64 {
    (seq & 0xffff_ffff) << 32
}

/// The low half of a worker's progress word once it found that it could
/// not write the answer to job `seq` (the high half): a task closed or
/// broke its channel to the pool. It writes this, then exits.
pub(super) const UNANSWERABLE: u64 = 0xffff_fffe;

/// Where a worker died, by its progress word (see [`died_in`]): which of
/// the jobs it held unanswered (0 for the oldest), and how far into it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum DiedIn {
    /// Between jobs.
    Between,
    /// In its `job`-th held job, with `done` of its items finished.
    Job { job: usize, done: usize },
    /// After running its `job`-th held job, whose answer it could not
    /// write ([`UNANSWERABLE`]).
    Unanswerable { job: usize },
}

/// How a death is blamed, by the dead worker's last progress `word` and
/// how many jobs it had answered over its life. The caller checks that
/// such a job was there and had reached the worker whole.
pub(super) fn died_in(word: u64, answered: usize) -> DiedIn {
    let started = u32::try_from(word >> 32).unwrap_or(0);
    let low = word & 0xffff_ffff;
    let answered = u32::try_from(answered & 0xffff_ffff).unwrap_or(0);
    let job = started.wrapping_sub(answered) as usize;
    match low {
        BETWEEN_JOBS => DiedIn::Between,
        UNANSWERABLE => DiedIn::Unanswerable { job },
        done => DiedIn::Job {
            job,
            done: usize::try_from(done).unwrap_or(usize::MAX),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An answer as a worker writes it: its length, its tag, its payload.
    fn answer(tag: u8, payload: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let at = begin_answer(&mut out);
        out.push(tag);
        out.extend_from_slice(payload);
        end_answer(&mut out, at, 0);
        out
    }

    #[test]
    fn missing_counts_what_the_first_partial_answer_lacks() {
        let mut inbox = answer(ALL, &[1, 2, 3]);
        assert_eq!(missing(&inbox), Some((0, 0)), "whole");
        let next = answer(EACH, &[7; 100]);
        inbox.extend_from_slice(&next[..20]);
        assert_eq!(missing(&inbox), Some((next.len() - 20, next.len())));
        inbox.extend_from_slice(&next[20..]);
        assert_eq!(take_answers(&mut inbox).len(), 2);
        assert!(inbox.is_empty());
    }

    #[test]
    fn a_large_lone_answer_is_found_where_it_begins() {
        let mut inbox = answer(ALL, &[1, 2]);
        let at = inbox.len();
        let lone = answer(LONE, &vec![9; LONE_MIN + 1]);
        inbox.extend_from_slice(&lone[..LONE_HEAD]);
        assert_eq!(lone_begins(&inbox), Some((at, LONE_MIN + 1)));
        inbox.truncate(at + ANSWER_LEN);
        assert_eq!(lone_begins(&inbox), None, "its tag has not come yet");
        let small = answer(LONE, &[9; 10]);
        inbox.truncate(at);
        inbox.extend_from_slice(&small[..LONE_HEAD]);
        assert_eq!(lone_begins(&inbox), None, "too small to be read apart");
    }

    #[test]
    fn bytes_that_cannot_be_answers_are_told_apart() {
        // A task wrote 0xff into the pipe: no memory holds that length.
        let mut inbox = answer(ALL, &[1]);
        inbox.extend_from_slice(&[0xff; 16]);
        assert_eq!(missing(&inbox), None);
        // A plausible length, then a tag that is none.
        let mut inbox = 100u64.to_le_bytes().to_vec();
        assert!(missing(&inbox).is_some(), "the tag has not come yet");
        inbox.push(0x7f);
        assert_eq!(missing(&inbox), None);
    }

    #[test]
    fn a_death_is_blamed_on_the_job_and_item_the_progress_word_names() {
        // The worker's 6th job (seq 5) had 3 items done; it had answered 4.
        let word = progress_job(5) | 3;
        assert_eq!(
            died_in(word, 4),
            DiedIn::Job { job: 1, done: 3 },
            "its second job held"
        );
        assert_eq!(died_in(progress_job(5) | BETWEEN_JOBS, 5), DiedIn::Between);
        // It could not answer its 6th job: its first held.
        assert_eq!(
            died_in(progress_job(5) | UNANSWERABLE, 5),
            DiedIn::Unanswerable { job: 0 }
        );
        // Counts wrap at 2^32 on both sides alike: job 2^32 + 1, no item
        // done yet, after 2^32 answers.
        let wrapped = progress_job((1 << 32) + 1);
        assert_eq!(died_in(wrapped, 1 << 32), DiedIn::Job { job: 1, done: 0 });
    }
}
