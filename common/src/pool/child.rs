//! The worker process's side: run jobs from the task pipe until it closes.

use super::wire::JobIn;
use super::wire::Outcome;
use crate::frame;
use crate::sys::{self};
use std::io::{Read, Write};
use std::panic::{self, AssertUnwindSafe};

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
    while maxtasks.is_none_or(|max| jobs < max) {
        let job: JobIn = match frame::read(&mut tasks) {
            Ok(Some(job)) => job,
            Ok(None) => return 0,
            Err(_) => return 1,
        };
        let mut outcomes = Vec::with_capacity(job.items.len());
        for (done, item) in (0..).zip(&job.items) {
            progress(done);
            outcomes.push(
                match panic::catch_unwind(AssertUnwindSafe(|| job.func.call(item))) {
                    Ok(Ok(bytes)) => Outcome::Done(bytes),
                    Ok(Err(message)) => Outcome::Codec(message),
                    Err(payload) => Outcome::Panicked(panic_message(payload.as_ref())),
                },
            );
        }
        progress(outcomes.len() as u64);
        // What the tasks printed goes out before their results, so a parent
        // that prints after `map` returns cannot overtake it.
        sys::flush_stdio();
        if frame::write(&mut results, &outcomes).is_err() {
            return 1;
        }
        progress(0);
        jobs += 1;
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
