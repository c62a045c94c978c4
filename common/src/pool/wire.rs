//! What crosses the pipes between the pool and its workers: a job (a
//! header frame naming the function and the count, then the items'
//! encodings, see `job`), how a worker reads jobs, and an answer (a
//! length, a tag and a payload, see `chunk`).

use std::io;
use std::os::fd::BorrowedFd;

use serde::{Deserialize, Serialize};

use super::chunk::{ALL, EACH, LONE, LONE_MIN};
use super::job::Job;
use super::vectors::Vectors;
use crate::frame;
use crate::sys;
use crate::sys::ErasedFn;

/// A job's header, before its payload.
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

/// `job`'s frame header: a frame naming the function, the count and the
/// payload's length (the payload follows it on the pipe).
pub(super) fn job_head(job: &Job) -> io::Result<Vec<u8>> {
    frame::encode(&JobHead {
        func: job.func,
        count: job.len() as u64,
        payload: job.payload_len() as u64,
        vectors: job.vector_lengths().unwrap_or_default(),
    })
}

/// A job's items, as a worker reads them.
pub(super) enum Payload<'a> {
    /// Their encodings, one after another (see `item`).
    Encoded(&'a [u8]),
    /// Large byte vectors, read as the items run.
    Vectors(Vectors<'a>),
}

/// In a worker: reads jobs through a buffer. One `read` takes what the
/// pipe holds, up to [`READ_AHEAD`] past the job being read: a small job
/// costs one `read`, and several queued small jobs one between them; a
/// large payload is read straight into place. Jobs whose items are all
/// large byte vectors are read a few vectors at a time (see `vectors`).
pub(super) struct JobReader {
    buffer: Vec<u8>,
    /// Where the unread part of `buffer` begins.
    start: usize,
}

/// The most a worker reads past the end of the job it is reading.
const READ_AHEAD: usize = 64 * 1024;

impl JobReader {
    pub(super) fn new() -> JobReader {
        JobReader {
            buffer: Vec::new(),
            start: 0,
        }
    }

    /// The next job's header and payload. `Ok(None)`: the pool closed the
    /// pipe between jobs.
    pub(super) fn next<'a>(
        &'a mut self,
        from: BorrowedFd<'a>,
    ) -> io::Result<Option<(JobHead, Payload<'a>)>> {
        // What is left of the last read moves down; a very large job's
        // memory goes back rather than stay with an idle worker.
        self.buffer.drain(..self.start);
        self.start = 0;
        if self.buffer.capacity() > 1 << 24 {
            self.buffer.shrink_to(READ_AHEAD);
        }
        if !self.fill(from, frame::LEN_BYTES)? {
            return Ok(None);
        }
        let len_bytes = self.buffer[..frame::LEN_BYTES]
            .try_into()
            .expect("LEN_BYTES");
        let body = frame::LEN_BYTES + frame::body_len(len_bytes);
        self.fill_or_fail(from, body)?;
        let mut head: JobHead = frame::decode(&self.buffer[frame::LEN_BYTES..body])?;
        let len = usize::try_from(head.payload).map_err(io::Error::other)?;
        if !head.vectors.is_empty() {
            // What was read ahead belongs to the vectors: taken from the
            // buffer first, the rest from the pipe as the items run.
            let ahead = (self.buffer.len() - body).min(len);
            self.start = body + ahead;
            let lengths = std::mem::take(&mut head.vectors);
            let vectors = Vectors::new(from, &self.buffer[body..body + ahead], lengths, len)?;
            return Ok(Some((head, Payload::Vectors(vectors))));
        }
        let end = body
            .checked_add(len)
            .ok_or_else(|| io::Error::other("a job too large"))?;
        self.fill_or_fail(from, end)?;
        self.start = end;
        Ok(Some((head, Payload::Encoded(&self.buffer[body..end]))))
    }

    /// Reads until the buffer holds `want` bytes; `false` if the pipe closed
    /// before any byte came.
    fn fill(&mut self, from: BorrowedFd<'_>, want: usize) -> io::Result<bool> {
        while self.buffer.len() < want {
            let missing = want - self.buffer.len();
            match sys::read_onto(from, &mut self.buffer, missing.max(READ_AHEAD)) {
                Ok(0) if self.buffer.is_empty() => return Ok(false),
                Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
                Ok(_) | Err(nix::errno::Errno::EINTR) => {}
                Err(errno) => return Err(errno.into()),
            }
        }
        Ok(true)
    }

    /// [`fill`](Self::fill), inside a job: a closed pipe is an error.
    fn fill_or_fail(&mut self, from: BorrowedFd<'_>, want: usize) -> io::Result<()> {
        if self.fill(from, want)? {
            Ok(())
        } else {
            Err(io::ErrorKind::UnexpectedEof.into())
        }
    }
}

/// The bytes an answer's length takes.
pub(super) const ANSWER_LEN: usize = 8;

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
}
