//! [`Imap`]: `imap` and `imap_unordered` (and their `try_` forms),
//! results yielded as they come while the input is read as they are
//! taken, to the first failure; [`Indexed`]: each with its index, past
//! failures.

use std::collections::VecDeque;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::answer::Answer;
use super::batch::Batch;
use super::job::{self, Job};
use super::state_lock::{Claim, lock};
use super::{Pool, chunk};
use crate::error::{Error, Result};
use crate::sys::ErasedFn;

impl Pool {
    /// A lazy [`map`](Pool::map), like `Pool.imap`: yields each result in
    /// input order, as soon as it and those before it are done. Items are
    /// sent one at a time unless [`chunksize`](Pool::chunksize) says
    /// otherwise (Python's default too).
    ///
    /// The iteration ends at the first item that fails, which it yields as
    /// an error, as Python's `for` loop over `imap` ends with the task's
    /// exception: the items not started then are withdrawn, and those
    /// running finish and are discarded. [`Imap::indexed`] goes on past
    /// failures instead, yielding each result with its index.
    ///
    /// ```
    /// fn square(n: i64) -> i64 {
    ///     n * n
    /// }
    ///
    /// let mut pool = common::Pool::new(2)?;
    /// for (n, square) in (1..).zip(pool.imap(square, 1..=3)?) {
    ///     assert_eq!(square?, n * n);
    /// }
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn imap<'a, A, R>(
        &mut self,
        func: fn(A) -> R,
        items: impl IntoIterator<Item = A, IntoIter: Send + 'a>,
    ) -> Result<Imap<'a, R>>
    where
        A: Serialize + DeserializeOwned + 'static,
        R: Serialize + DeserializeOwned + 'static,
    {
        self.imap_with(chunk::erase(func), items, None, true)
    }

    /// [`imap`](Pool::imap) for a task that returns `Result`: its error is
    /// [`Error::TaskFailed`] (see [`try_map`](Pool::try_map)), and ends the
    /// iteration.
    ///
    /// ```
    /// fn parse(text: String) -> Result<u32, String> {
    ///     text.parse().map_err(|_| format!("not a number: {text}"))
    /// }
    ///
    /// let mut pool = common::Pool::new(2)?;
    /// let parsed: Vec<_> = pool.try_imap(parse, ["1", "x", "3"].map(String::from))?.collect();
    /// assert_eq!(parsed.len(), 2, "it ends at x");
    /// assert_eq!(parsed[0].as_ref().ok(), Some(&1));
    /// assert_eq!(parsed[1].as_ref().map_err(ToString::to_string), Err("not a number: x".to_owned()));
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn try_imap<'a, A, R, E>(
        &mut self,
        func: fn(A) -> std::result::Result<R, E>,
        items: impl IntoIterator<Item = A, IntoIter: Send + 'a>,
    ) -> Result<Imap<'a, R>>
    where
        A: Serialize + DeserializeOwned + 'static,
        R: Serialize + DeserializeOwned + 'static,
        E: Serialize + std::fmt::Display + 'static,
    {
        self.imap_with(chunk::erase_fallible(func), items, None, true)
    }

    /// Like [`imap`](Pool::imap), but yields results in the order they
    /// complete, like `Pool.imap_unordered`; [`Imap::indexed`] says whose
    /// each is.
    ///
    /// ```
    /// fn square(n: i64) -> i64 {
    ///     n * n
    /// }
    ///
    /// let mut pool = common::Pool::new(2)?;
    /// let mut results = pool.imap_unordered(square, 1..=3)?.collect::<Result<Vec<_>, _>>()?;
    /// results.sort();
    /// assert_eq!(results, [1, 4, 9]);
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn imap_unordered<'a, A, R>(
        &mut self,
        func: fn(A) -> R,
        items: impl IntoIterator<Item = A, IntoIter: Send + 'a>,
    ) -> Result<Imap<'a, R>>
    where
        A: Serialize + DeserializeOwned + 'static,
        R: Serialize + DeserializeOwned + 'static,
    {
        self.imap_with(chunk::erase(func), items, None, false)
    }

    /// [`imap_unordered`](Pool::imap_unordered) for a task that returns
    /// `Result` (see [`try_imap`](Pool::try_imap)).
    pub fn try_imap_unordered<'a, A, R, E>(
        &mut self,
        func: fn(A) -> std::result::Result<R, E>,
        items: impl IntoIterator<Item = A, IntoIter: Send + 'a>,
    ) -> Result<Imap<'a, R>>
    where
        A: Serialize + DeserializeOwned + 'static,
        R: Serialize + DeserializeOwned + 'static,
        E: Serialize + std::fmt::Display + 'static,
    {
        self.imap_with(chunk::erase_fallible(func), items, None, false)
    }

    /// An `imap` of `func` over `items` in chunks of `chunksize` (`None`:
    /// one item each), in input order or as completed.
    pub(super) fn imap_with<'a, A, R>(
        &mut self,
        func: ErasedFn,
        items: impl IntoIterator<Item = A, IntoIter: Send + 'a>,
        chunksize: Option<usize>,
        ordered: bool,
    ) -> Result<Imap<'a, R>>
    where
        A: Serialize + 'static,
    {
        let chunksize = chunksize.unwrap_or(1).max(1);
        let mut inner = lock(&self.inner);
        let batch = inner.submit(func, std::iter::empty::<A>(), 0, Some(chunksize))?;
        let workers = inner.registry.workers.len();
        drop(inner);
        let mut items = items.into_iter();
        let mut start = 0;
        let feeder: Feeder<'a> = Box::new(move || {
            let job = job::next_job(&mut items, Vec::new(), batch, func, start, chunksize);
            if let Some(Ok(job)) = &job {
                start += job.len();
            }
            job
        });
        Ok(Imap {
            claim: Claim::new(&self.inner, batch, true),
            next: 0,
            yielded: 0,
            submitted: 0,
            chunksize,
            ahead: 2 * workers * chunksize,
            feeder: Some(feeder),
            unsent: None,
            ordered,
            ready: std::collections::VecDeque::new(),
            failed: false,
        })
    }
}

/// Makes an `imap`'s next job from its input, as the iteration needs it;
/// `None` once the input is exhausted.
pub(super) type Feeder<'a> = Box<dyn FnMut() -> Option<Result<Job>> + Send + 'a>;

/// The iterator of [`Pool::imap`](crate::Pool::imap) and
/// [`Pool::imap_unordered`](crate::Pool::imap_unordered): each result,
/// until the first failure, which it yields and then ends
/// ([`indexed`](Imap::indexed) goes on past failures).
///
/// It reads its input as it goes: at most a few jobs per worker are sent
/// ahead of the results taken, so an endless input works (with `take`) in
/// bounded memory. It shares the pool: each `next` drives the pool's work
/// until a result is there, and the pool's driver moves the jobs sent ahead
/// meanwhile. Dropping it early (or a failure ending it) withdraws the
/// items not started and discards the results still to come.
pub struct Imap<'a, R> {
    pub(super) claim: Claim,
    /// The first item of the next answer to take, in order.
    pub(super) next: usize,
    /// How many results have been yielded.
    pub(super) yielded: usize,
    /// How many items have been sent to the pool.
    pub(super) submitted: usize,
    /// The items of each job.
    pub(super) chunksize: usize,
    /// How many items may be sent ahead of those yielded: twice what the
    /// workers may be sent ahead now (see `Worker::paced`), so that quick
    /// jobs keep them busy and slow or large ones do not pile up here.
    pub(super) ahead: usize,
    /// The input, until it is exhausted.
    pub(super) feeder: Option<Feeder<'a>>,
    /// An input item that could not be sent, and why: the last thing
    /// yielded.
    pub(super) unsent: Option<(usize, Error)>,
    pub(super) ordered: bool,
    /// Results decoded from an answer and not yielded yet.
    pub(super) ready: VecDeque<(usize, Result<R>)>,
    /// Whether a failure was yielded: the iteration is over.
    pub(super) failed: bool,
}

/// An [`Imap`] that yields each result with its index in the input, and
/// goes on past failures: from [`Imap::indexed`].
///
/// ```
/// fn fail_on_2(n: u32) -> u32 {
///     assert_ne!(n, 2, "two is refused");
///     n
/// }
///
/// let mut pool = common::Pool::new(2)?;
/// let mut outcomes: Vec<_> = pool
///     .imap_unordered(fail_on_2, 0..4)?
///     .indexed()
///     .map(|(index, result)| (index, result.is_ok()))
///     .collect();
/// outcomes.sort();
/// assert_eq!(outcomes, [(0, true), (1, true), (2, false), (3, true)]);
/// # Ok::<(), common::Error>(())
/// ```
pub struct Indexed<'a, R>(Imap<'a, R>);

impl<R> Imap<'_, R> {
    /// Sends jobs from the input until `ahead` items wait beyond those
    /// yielded; a job that cannot be encoded ends the input with its error.
    fn feed(&mut self) -> Option<(usize, Error)> {
        // Topped up once half the room is free, so that each round sends
        // several jobs.
        if self.feeder.is_none() || self.submitted > self.yielded + self.ahead / 2 {
            return None;
        }
        // One lock and one dispatch for all the jobs this round sends.
        let shared = std::sync::Arc::clone(&self.claim.inner);
        let mut inner = lock(&shared);
        self.ahead = 2 * inner.sent_ahead() * self.chunksize;
        let mut failed = None;
        while self.submitted < self.yielded + self.ahead {
            let Some(feeder) = self.feeder.as_mut() else {
                break;
            };
            let job = match feeder() {
                None => {
                    self.feeder = None;
                    break;
                }
                Some(Err(error)) => {
                    self.feeder = None;
                    failed = Some((self.submitted, error));
                    break;
                }
                Some(Ok(job)) => job,
            };
            let len = job.len();
            if let Err(error) = inner.enqueue(job) {
                self.feeder = None;
                failed = Some((self.submitted, error));
                break;
            }
            self.submitted += len;
        }
        let sent = inner.fill_vacancies().and_then(|()| inner.dispatch());
        super::driver::ensure(&shared, &mut inner);
        failed.or_else(|| sent.err().map(|error| (self.submitted, error)))
    }
}

impl<'a, R> Imap<'a, R> {
    /// Yields each result with its index in the input, and goes on past
    /// failures (each yielded as its error), to the end of the input.
    pub fn indexed(self) -> Indexed<'a, R> {
        Indexed(self)
    }
}

impl<R: DeserializeOwned + 'static> Iterator for Imap<'_, R> {
    type Item = Result<R>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        let (_, result) = self.next_indexed()?;
        if result.is_err() {
            // As Python's loop ends with the task's exception: the rest is
            // withdrawn now (and the claim's drop finds nothing more).
            self.failed = true;
            self.feeder = None;
            lock(&self.claim.inner).forget(self.claim.batch);
        }
        Some(result)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        if self.failed {
            return (0, Some(0));
        }
        // It may end at a failure: any result may be the last.
        let (known, most) = self.indexed_size_hint();
        (known.min(1), most)
    }
}

impl<R: DeserializeOwned + 'static> Iterator for Indexed<'_, R> {
    /// `(index in the input, result)`.
    type Item = (usize, Result<R>);

    fn next(&mut self) -> Option<Self::Item> {
        self.0.next_indexed()
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.0.indexed_size_hint()
    }
}

impl<R: DeserializeOwned + 'static> Imap<'_, R> {
    /// The next result and its index, failed or not.
    fn next_indexed(&mut self) -> Option<(usize, Result<R>)> {
        if let Some(failed) = self.feed() {
            // The input's item could not be sent: the iteration ends with
            // it, once what was sent before it is yielded.
            self.unsent = Some(failed);
        }
        if self.ready.is_empty() && self.yielded < self.submitted {
            self.take_answer();
        }
        if let Some(item) = self.ready.pop_front() {
            self.yielded += 1;
            return Some(item);
        }
        self.unsent.take().map(|(index, error)| (index, Err(error)))
    }

    fn indexed_size_hint(&self) -> (usize, Option<usize>) {
        let known = self.submitted - self.yielded.min(self.submitted) + self.ready.len();
        match self.feeder {
            None => (known, Some(known)),
            Some(_) => (known, None),
        }
    }
}

impl<R: DeserializeOwned + 'static> Imap<'_, R> {
    /// Waits for the next answer (in order, or the next to come) and
    /// decodes it into `ready`.
    fn take_answer(&mut self) {
        let mut inner = lock(&self.claim.inner);
        let want = self.next;
        let ordered = self.ordered;
        let ready = |b: &Batch| {
            if ordered {
                b.answers.contains_key(&want)
            } else {
                !b.completed.is_empty()
            }
        };
        if let Err(error) = inner.wait(self.claim.batch, None, ready) {
            self.ready.push_back((want, Err(error)));
            self.submitted = self.yielded + self.ready.len();
            self.feeder = None;
            return;
        }
        let Some(batch) = inner.batches.get_mut(&self.claim.batch) else {
            return;
        };
        if ordered {
            let Some(answer) = batch.answers.remove(&want) else {
                return;
            };
            drop(inner);
            self.next += answer.len();
            answer.decode(want, &mut self.ready);
        } else {
            // Every answer come so far, in one visit.
            let taken: Vec<(usize, Answer)> = batch
                .completed
                .drain(..)
                .filter_map(|start| batch.answers.remove(&start).map(|a| (start, a)))
                .collect();
            drop(inner);
            for (start, answer) in taken {
                answer.decode(start, &mut self.ready);
            }
        }
    }
}
