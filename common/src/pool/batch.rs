//! [`Batch`]: the results of one call (a `map`, an `apply_async`, an
//! `imap`), filed as its jobs are answered, and how a caller reads them:
//! whole ([`collect`], [`first`]), or copied for a callback ([`peek_all`],
//! [`peek_first`]).

use std::collections::{BTreeMap, VecDeque};

use serde::de::DeserializeOwned;

use super::answer::Answer;
use crate::error::{Error, Result};

/// The results of one call, filled as answers arrive: an answer per job
/// (or per item, for an item that failed on its own), by its first item.
pub(super) struct Batch {
    pub(super) answers: BTreeMap<usize, Answer>,
    /// The first items of answers, in the order they came, for
    /// `imap_unordered` and for the first failure.
    pub(super) completed: VecDeque<usize>,
    /// Items not answered yet.
    pub(super) outstanding: usize,
    /// How many items the batch has.
    pub(super) len: usize,
    /// Whether some item failed.
    pub(super) failed: bool,
    /// What to run when the batch is done (its callbacks, in the order
    /// they were given), and what done means for it; taken when they run.
    pub(super) on_done: Option<(Done, Vec<OnDone>)>,
    /// Whether its handle was dropped: the batch goes once its callback
    /// has run.
    pub(super) discarded: bool,
}

/// What done means for a batch (see [`all_answered`],
/// [`answered_or_failed`]).
pub(super) type Done = fn(&Batch) -> bool;

/// A batch's callback: looks at the done batch (under the lock) and
/// returns what to run once the lock is let go.
pub(super) type OnDone = Box<dyn FnOnce(&mut Batch) -> Box<dyn FnOnce() + Send> + Send>;

impl Batch {
    /// A batch of `len` items, none answered.
    pub(super) fn new(len: usize) -> Batch {
        Batch {
            answers: BTreeMap::new(),
            completed: VecDeque::new(),
            outstanding: len,
            len,
            failed: false,
            on_done: None,
            discarded: false,
        }
    }

    /// Files `answer`, whose first item is `start`; returns the callback
    /// to run if that made the batch done.
    pub(super) fn file(
        &mut self,
        start: usize,
        answer: Answer,
    ) -> Option<Box<dyn FnOnce() + Send>> {
        self.failed |= answer.failed();
        self.outstanding -= answer.len();
        self.completed.push_back(start);
        self.answers.insert(start, answer);
        if self.on_done.as_ref().is_some_and(|(done, _)| done(self)) {
            let (_, on_done) = self.on_done.take().expect("looked at above");
            let runs: Vec<_> = on_done.into_iter().map(|run| run(self)).collect();
            return Some(Box::new(move || runs.into_iter().for_each(|run| run())));
        }
        None
    }
}

/// The value of a one-item batch (`apply_async`'s).
pub(super) fn first<R: DeserializeOwned + 'static>(mut batch: Batch) -> Result<R> {
    let answer = batch.answers.remove(&0).ok_or(Error::NotReady)?;
    let mut out: Vec<(usize, Result<R>)> = Vec::with_capacity(1);
    answer.decode(0, &mut out);
    out.pop().map_or(Err(Error::NotReady), |(_, result)| result)
}

/// What [`collect`] will give, copied without consuming `batch` (for a
/// callback): every result in order, or the first failure.
pub(super) fn peek_all<R: DeserializeOwned + 'static>(batch: &Batch) -> Result<Vec<R>> {
    if batch.failed {
        for start in &batch.completed {
            if let Some(Answer::Each(items)) = batch.answers.get(start)
                && let Some(Err(error)) = items.iter().find(|item| item.is_err())
            {
                return Err(error.duplicate());
            }
        }
    }
    let mut values = Vec::with_capacity(batch.len);
    for (&start, answer) in &batch.answers {
        answer.peek(start, &mut values)?;
    }
    Ok(values)
}

/// What [`first`] will give, copied without consuming `batch`.
pub(super) fn peek_first<R: DeserializeOwned + 'static>(batch: &Batch) -> Result<R> {
    let answer = batch.answers.get(&0).ok_or(Error::NotReady)?;
    let mut values = Vec::with_capacity(1);
    answer.peek(0, &mut values)?;
    values.pop().ok_or(Error::NotReady)
}

/// Whether every item of `batch` is answered.
pub(super) fn all_answered(batch: &Batch) -> bool {
    batch.outstanding == 0
}

/// Whether every item of `batch` is answered, or one failed (a map's end).
pub(super) fn answered_or_failed(batch: &Batch) -> bool {
    batch.outstanding == 0 || batch.failed
}

/// Every result of a finished batch, in input order; the first failure
/// (in the order failures came) if any.
pub(super) fn collect<R: DeserializeOwned + 'static>(batch: Batch) -> Result<Vec<R>> {
    let mut values = Vec::with_capacity(batch.len);
    crate::sys::prefault(&mut values);
    collect_onto(batch, values)
}

/// [`collect`], the batch's first results already decoded into `values`
/// (see `blocking`).
pub(super) fn collect_onto<R: DeserializeOwned + 'static>(
    mut batch: Batch,
    mut values: Vec<R>,
) -> Result<Vec<R>> {
    if batch.failed {
        for start in &batch.completed {
            if let Some(Answer::Each(items)) = batch.answers.get_mut(start)
                && let Some(failed) = items.iter_mut().find(|item| item.is_err())
            {
                return Err(std::mem::replace(failed, Ok(Vec::new())).expect_err("failed"));
            }
        }
    }
    for (start, answer) in std::mem::take(&mut batch.answers) {
        answer.decode_values(start, &mut values)?;
    }
    Ok(values)
}
