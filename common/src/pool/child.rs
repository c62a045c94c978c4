//! The worker process's side: run jobs from the task pipe until it closes.

use super::wire::{answer_buffer, read_job, write_answer};
use crate::sys::{self, Chunk};
use std::io::{Read, Write};

/// A worker's life: run jobs until the task pipe closes, or until it has
/// run `maxtasks` jobs. `progress` is told how many items of the current job
/// are done, before and after each item.
pub(crate) fn worker_loop(
    mut tasks: impl Read,
    mut results: impl Write,
    maxtasks: Option<usize>,
    progress: impl Fn(u64),
) -> i32 {
    let mut jobs = 0;
    let mut payload = Vec::new();
    let mut answer = Vec::new();
    while maxtasks.is_none_or(|max| jobs < max) {
        let head = match read_job(&mut tasks, &mut payload) {
            Ok(Some(head)) => head,
            Ok(None) => return 0,
            Err(_) => return 1,
        };
        answer_buffer(&mut answer);
        let chunk = Chunk {
            count: usize::try_from(head.count).unwrap_or(0),
            payload: &payload,
            progress: &progress,
        };
        if head.func.call_chunk(&chunk, &mut answer).is_err() {
            return 1;
        }
        // What the tasks printed goes out before their results, so a parent
        // that prints after `map` returns cannot overtake it.
        sys::flush_stdio();
        if write_answer(&mut results, &mut answer).is_err() {
            return 1;
        }
        progress(0);
        jobs += 1;
        // A very large answer's memory goes back rather than stay with an
        // idle worker.
        if answer.capacity() > 1 << 24 {
            answer = Vec::new();
        }
        if payload.capacity() > 1 << 24 {
            payload = Vec::new();
        }
    }
    0
}

pub(super) fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic with a non-string payload".to_owned())
}
