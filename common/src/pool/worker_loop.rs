//! The worker process's side of the pool: run jobs from the task pipe
//! until it closes (the parent's handle on it is `worker.rs`).

use super::lent::Lent;
use super::wire::{JobReader, Payload, begin_answer, end_answer};
use crate::sys::{self, Chunk};
use std::cell::{Cell, RefCell};
use std::io::Write;
use std::os::fd::AsFd;

/// A worker's life: run jobs until the task pipe closes, or until it has
/// run `maxtasks` jobs.
///
/// `progress` is told which job (counted from 0 over the worker's life, in
/// the high 32 bits) and how many of its items are done (low 32 bits), before
/// and after each item, or [`BETWEEN_JOBS`] once a job is done: if the
/// worker dies, the parent knows where.
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
        let job = (seq & 0xffff_ffff) << 32;
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
        progress(((seq & 0xffff_ffff) << 32) | BETWEEN_JOBS);
        // What the tasks printed goes out before their results, so a parent
        // that prints after `map` returns cannot overtake it.
        sys::flush_stdio();
        match lent.lend_answer(results.as_fd(), std::mem::take(&mut answers)) {
            Ok(next) => answers = next,
            Err(unlent) => {
                answers = unlent;
                if results.write_all(&answers).is_err() {
                    return 1;
                }
                lent.wrote(answers.len());
                answers.clear();
            }
        }
        if let Err(lone) = lent.lend(results.as_fd(), lone) {
            if results.write_all(&lone).is_err() {
                return 1;
            }
            lent.wrote(lone.len());
        }
        // A very large answer's memory goes back rather than stay with an
        // idle worker.
        if answers.capacity() > 1 << 24 {
            answers = Vec::new();
        }
    }
    0
}

/// The low half of a worker's progress while it runs no job.
pub(super) const BETWEEN_JOBS: u64 = 0xffff_ffff;
