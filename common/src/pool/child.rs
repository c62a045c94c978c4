//! The worker process's side: run jobs from the task pipe until it closes.

use super::wire::{JobReader, begin_answer, end_answer};
use crate::sys::{self, Chunk};
use std::cell::Cell;
use std::io::Write;
use std::os::fd::AsFd;
use std::time::{Duration, Instant};

/// A worker's life: run jobs until the task pipe closes, or until it has
/// run `maxtasks` jobs.
///
/// `progress` is told which job (counted from 0 over the worker's life, in
/// the high 32 bits) and how many of its items are done (low 32 bits), before
/// and after each item, or [`BETWEEN_JOBS`] once a job is done: if the
/// worker dies, the parent knows where.
///
/// Jobs are read through a buffer (see `JobReader`). The answer to a
/// quick job (under [`QUICK`]) waits while the next job is already read,
/// up to [`HOLD_TIME`] and half the jobs the parent may send ahead: on two
/// cores shared by the parent and the workers, a write that wakes the
/// parent is the dearest part of a small task, and the jobs still in hand
/// keep the worker busy meanwhile. Any other answer goes out at once. (Each
/// alone, holding answers and reading ahead made small tasks slower: with
/// four jobs sent ahead, the worker ran dry while the parent waited; the
/// parent now sends up to 64 when they are quick, see `Worker::paced`.)
pub(crate) fn worker_loop(
    tasks: impl AsFd,
    mut results: impl Write,
    maxtasks: Option<usize>,
    progress: impl Fn(u64),
) -> i32 {
    let mut jobs = JobReader::new();
    let mut seq: u64 = 0;
    let mut vectors = Vec::new();
    let mut answers = Vec::new();
    // How many answers wait in `answers`, and since when.
    let mut held = 0;
    let mut holding: Option<Instant> = None;
    let mut send = |answers: &mut Vec<u8>, lone: &[u8]| {
        // What the tasks printed goes out before their results, so a parent
        // that prints after `map` returns cannot overtake it.
        sys::flush_stdio();
        let sent = results
            .write_all(answers)
            .and_then(|()| results.write_all(lone));
        answers.clear();
        sent
    };
    while maxtasks.is_none_or(|max| seq < max as u64) {
        let (head, payload) = match jobs.next(tasks.as_fd(), &mut vectors) {
            Ok(Some(job)) => job,
            Ok(None) => break,
            Err(_) => return 1,
        };
        let started = Instant::now();
        let job = (seq & 0xffff_ffff) << 32;
        let lone = Cell::new(None);
        let owned = Cell::new(std::mem::take(&mut vectors));
        let chunk = Chunk {
            count: usize::try_from(head.count).unwrap_or(0),
            payload,
            vectors: &owned,
            progress: &|done| progress(job | done),
            lone: &lone,
        };
        let at = begin_answer(&mut answers);
        if head.func.call_chunk(&chunk, &mut answers).is_err() {
            return 1;
        }
        // A lone large byte vector goes out from where it lies, after the
        // answer's header.
        let lone = lone.take().unwrap_or_default();
        end_answer(&mut answers, at, lone.len());
        seq += 1;
        progress(((seq & 0xffff_ffff) << 32) | BETWEEN_JOBS);
        // The answer to a quick job waits while another whole job is
        // already read, for a short while and up to half the jobs the
        // parent sends ahead at most: one write and one wake-up of the
        // parent for several answers, while the jobs still in hand keep
        // this worker busy. A slow job's answer goes at once.
        let first = *holding.get_or_insert(started);
        if lone.is_empty()
            && started.elapsed() < QUICK
            && first.elapsed() < HOLD_TIME
            && answers.len() < HOLD_BYTES
            && held + 1 < HOLD
            && jobs.has_next()
        {
            held += 1;
            continue;
        }
        held = 0;
        holding = None;
        if send(&mut answers, &lone).is_err() {
            return 1;
        }
        // A very large answer's memory goes back rather than stay with an
        // idle worker.
        if answers.capacity() > 1 << 24 {
            answers = Vec::new();
        }
    }
    0
}

/// The most answers a worker holds back (see `worker_loop`).
const HOLD: usize = super::scheduler::PIPELINE / 2;

/// A job that took less than this is quick: its answer may wait.
const QUICK: Duration = Duration::from_micros(50);

/// The longest an answer waits for others.
const HOLD_TIME: Duration = Duration::from_micros(200);

/// The most bytes of answers held back.
const HOLD_BYTES: usize = 64 * 1024;

/// The low half of a worker's progress while it runs no job.
pub(super) const BETWEEN_JOBS: u64 = 0xffff_ffff;

pub(super) fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic with a non-string payload".to_owned())
}
