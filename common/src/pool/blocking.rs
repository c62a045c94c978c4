//! A blocking call's work (`map`, `starmap`, `apply`): its jobs are made
//! as the workers take them, and its answers decoded into the output as
//! they come, in order, so that the memory of an answered job or of a
//! decoded answer serves the next one (see `spare`). A `map` of a million
//! integers thus encodes into the memory of four jobs, not eight, and
//! reads its answers into two or three buffers, not eight.

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::batch::collect_onto;
use super::item::fixed_width;
use super::job::next_job;
use super::scheduler::Inner;
use crate::error::{Error, Result};
use crate::sys::{self, ErasedFn, SigintGuard};

/// The size from which a job is written as soon as it is made.
const WRITE_AT_ONCE: usize = 64 * 1024;

/// Runs `func` over `items` (`len` of them, as far as the iterator says)
/// to the end, or to the first failure; SIGINT (caught by `sigint` before
/// the first job goes) terminates the workers.
pub(super) fn run_all<A: Serialize + 'static, R: DeserializeOwned + 'static>(
    inner: &mut Inner,
    func: ErasedFn,
    (items, len): (impl Iterator<Item = A>, usize),
    chunksize: Option<usize>,
    sigint: &SigintGuard,
) -> Result<Vec<R>> {
    // An empty batch, which grows as its jobs are made (as an `imap`'s).
    let batch = inner.submit(func, std::iter::empty::<A>(), 0, Some(1))?;
    let chunksize = inner.chunksize(chunksize, len).max(1);
    let mut values = Vec::with_capacity(len);
    let driven = drive(inner, batch, func, items, chunksize, &mut values, sigint);
    let done = inner
        .batches
        .remove(&batch)
        .expect("a batch lives until taken");
    inner.forget(batch);
    driven?;
    collect_onto(done, values)
}

/// Makes and sends `batch`'s jobs as the workers take them, and decodes
/// its answers onto `values` as they come in order, until every item is
/// answered or one failed.
fn drive<A: Serialize + 'static, R: DeserializeOwned + 'static>(
    inner: &mut Inner,
    batch: u64,
    func: ErasedFn,
    items: impl Iterator<Item = A>,
    chunksize: usize,
    values: &mut Vec<R>,
    sigint: &SigintGuard,
) -> Result<()> {
    let job_bytes = fixed_width::<A>().map_or(0, |width| width.saturating_mul(chunksize));
    let mut items = Some(items);
    let mut start = 0;
    let mut first = true;
    loop {
        while inner.wants_a_job()
            && let Some(rest) = items.as_mut()
        {
            let buffer = inner.spare.take(job_bytes);
            match next_job(rest, buffer, batch, func, start, chunksize) {
                None => items = None,
                Some(job) => {
                    let job = job?;
                    start += job.len();
                    // A large job goes out at once, so that its worker starts
                    // while the next is made; small ones together, one write
                    // for many.
                    let large = job.payload_len() >= WRITE_AT_ONCE;
                    inner.enqueue(job)?;
                    inner.assign();
                    if large {
                        inner.flush_all()?;
                    }
                }
            }
        }
        inner.flush_all()?;
        if std::mem::take(&mut first) {
            // The output's pages, faulted in with one call while the workers
            // start on the first jobs rather than before.
            sys::prefault(values);
        }
        decode_in_order(inner, batch, values)?;
        let b = inner
            .batches
            .get(&batch)
            .expect("a batch lives until taken");
        if b.failed || (items.is_none() && b.outstanding == 0) {
            return Ok(());
        }
        if !inner.step(None, Some(sigint))? && !inner.wants_a_job() {
            // Nothing running, and no worker to run more: only a
            // terminated pool gets here.
            return Err(Error::PoolNotRunning);
        }
    }
}

/// Decodes `batch`'s answers that come next in input order onto `values`,
/// and keeps their buffers; stops at one with a failure (the batch has
/// failed, and `collect_onto` reports it).
fn decode_in_order<R: DeserializeOwned + 'static>(
    inner: &mut Inner,
    batch: u64,
    values: &mut Vec<R>,
) -> Result<()> {
    let Some(b) = inner.batches.get_mut(&batch) else {
        return Ok(());
    };
    while let Some(next) = b.answers.first_entry() {
        if *next.key() != values.len() || next.get().failed() {
            break;
        }
        let start = values.len();
        if let Some(buffer) = next.remove().decode_keeping(start, values)? {
            inner.spare.put(buffer);
        }
    }
    Ok(())
}
