//! The worker process's side of the pool: read jobs from the task pipe
//! and answer each until the pipe closes (the parent's handle on the
//! worker is `worker.rs`; what crosses, `wire.rs` and `PROTOCOL.md`).

use super::lent::Lent;
use super::vectors::Vectors;
use super::wire::{BETWEEN_JOBS, JobHead, UNANSWERABLE, begin_answer, end_answer, progress_job};
use crate::frame;
use crate::sys::{self, Chunk};
use std::cell::{Cell, RefCell};
use std::io::{self, Write};
use std::os::fd::{AsFd, BorrowedFd};

/// A worker's life: run jobs until the task pipe closes, or until it has
/// run `maxtasks` jobs. One function of about 90 lines on purpose: it is
/// the worker's side of `PROTOCOL.md` (read a job, mark the progress word,
/// run, answer; the end), readable against it in one place.
///
/// `progress` is told which job (counted from 0 over the worker's life, in
/// the high 32 bits) and how many of its items are done (low 32 bits), before
/// and after each item, or [`BETWEEN_JOBS`] once a job is done: if the
/// worker dies, the parent knows where (see `wire::died_in`).
///
/// Jobs are read through a buffer (see `JobReader`): with many small jobs
/// sent ahead (see `Worker::paced`), one `read` takes several. Each answer
/// goes out as soon as its job is done. (Holding the answers to quick jobs
/// while the next job was in hand saved a further 10-25% on small tasks,
/// but a slow job after quick ones then delayed their answers by its whole
/// run: dropped.)
pub(crate) fn worker_loop(
    tasks: impl AsFd,
    mut results: impl Write + AsFd,
    maxtasks: Option<usize>,
    progress: impl Fn(u64),
) -> i32 {
    let mut jobs = JobReader::new();
    let mut seq: u64 = 0;
    let mut answers = Vec::new();
    let mut lent = Lent::new();
    while maxtasks.is_none_or(|max| seq < max as u64) {
        lent.release(results.as_fd());
        let (head, payload) = match jobs.next(tasks.as_fd()) {
            Ok(Some(job)) => job,
            Ok(None) => break,
            Err(_) => return 1,
        };
        let (encoded, vectors) = match payload {
            Payload::Encoded(bytes) => (bytes, None),
            Payload::Vectors(vectors) => (&[][..], Some(RefCell::new(vectors))),
        };
        let take = vectors.as_ref().map(|v| move || v.borrow_mut().take());
        let job = progress_job(seq);
        let lone = Cell::new(None);
        let chunk = Chunk {
            count: usize::try_from(head.count).unwrap_or(0),
            payload: encoded,
            vectors: take.as_ref().map(|take| take as &dyn Fn() -> _),
            progress: &|done| progress(job | done),
            lone: &lone,
        };
        let at = begin_answer(&mut answers);
        if head.func.call_chunk(&chunk, &mut answers).is_err() {
            return 1;
        }
        // The job is read to its end before it is answered (the parent may
        // reuse its memory then), and a job cut short means the parent is
        // gone.
        if vectors.is_some_and(|v| v.into_inner().finish().is_err()) {
            return 1;
        }
        // A lone large byte vector goes out from where it lies, after the
        // answer's header: as pages when the pipe takes them (see `lent`).
        let lone = lone.take().unwrap_or_default();
        end_answer(&mut answers, at, lone.len());
        seq += 1;
        progress(progress_job(seq) | BETWEEN_JOBS);
        // What the tasks printed goes out before their results, so a parent
        // that prints after `map` returns cannot overtake it.
        sys::flush_stdio();
        let answered = match lent.lend_answer(results.as_fd(), std::mem::take(&mut answers)) {
            Ok(next) => {
                answers = next;
                Ok(())
            }
            Err(unlent) => {
                answers = unlent;
                let written = results.write_all(&answers);
                lent.wrote(answers.len());
                answers.clear();
                written
            }
        };
        let answered = answered.and_then(|()| match lent.lend(results.as_fd(), lone) {
            Ok(()) => Ok(()),
            Err(lone) => {
                lent.wrote(lone.len());
                results.write_all(&lone)
            }
        });
        if answered.is_err() {
            // A task closed or broke the channel (the parent never closes
            // it while a job is out): the parent must not run this job
            // again to the same end, so the progress word says so, and the
            // worker ends here, before anything of it touches a descriptor
            // the task closed behind its back.
            progress(job | UNANSWERABLE);
            sys::flush_stdio();
            sys::exit_now(1);
        }
        // A very large answer's memory goes back rather than stay with an
        // idle worker.
        if answers.capacity() > 1 << 24 {
            answers = Vec::new();
        }
    }
    0
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
