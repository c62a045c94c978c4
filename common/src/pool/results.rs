//! What a caller holds while work runs: [`AsyncResult`] (from
//! `apply_async`) and [`Imap`] (from `imap` and `imap_unordered`), each with
//! a [`Claim`] on its batch of results in the pool.

use super::answer::Answer;
use super::batch::Batch;
use super::job::Job;
use super::state_lock::{Shared, lock};
use crate::error::{Error, Result};
use serde::de::DeserializeOwned;
use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// The pending result of [`Pool::apply_async`](crate::Pool::apply_async)
/// or [`Pool::map_async`](crate::Pool::map_async), like Python's
/// `AsyncResult`.
///
/// It shares the pool: waiting on it drives the pool's work.
pub struct AsyncResult<R> {
    pub(super) claim: Claim,
    /// Whether its batch is done: every item answered (one item's call), or
    /// that or a failure (a map's).
    pub(super) done: fn(&Batch) -> bool,
    /// Its value, from its done batch.
    pub(super) finish: fn(Batch) -> Result<R>,
}

/// A handle's hold on its batch in the pool: dropping it forgets the batch,
/// so that results nobody will read are discarded.
pub(super) struct Claim {
    pub(super) inner: Shared,
    pub(super) batch: u64,
    /// Whether dropping the claim also withdraws the batch's queued work
    /// (an `imap` stopped early), or only its results (an `apply_async`
    /// dropped: the task still runs, as Python's does).
    pub(super) withdraw: bool,
}

impl Drop for Claim {
    fn drop(&mut self) {
        let mut inner = lock(&self.inner);
        if self.withdraw {
            inner.forget(self.batch);
        } else {
            inner.discard(self.batch);
        }
    }
}

impl<R: DeserializeOwned + 'static> AsyncResult<R> {
    /// Waits for the result, like `AsyncResult.get()`.
    ///
    /// ```
    /// fn square(n: i64) -> i64 {
    ///     n * n
    /// }
    ///
    /// let mut pool = common::Pool::new(1)?;
    /// assert_eq!(pool.apply_async(square, 5)?.get()?, 25);
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn get(self) -> Result<R> {
        self.fetch(None)
    }

    /// Waits at most `timeout`, like `AsyncResult.get(timeout)`:
    /// [`Error::Timeout`] if it is not ready by then (the handle is gone,
    /// and the result will be discarded).
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// fn forever(_: u32) -> u32 {
    ///     loop {
    ///         std::thread::park();
    ///     }
    /// }
    ///
    /// let mut pool = common::Pool::new(1)?;
    /// let stuck = pool.apply_async(forever, 0)?;
    /// assert!(matches!(stuck.get_timeout(Duration::from_millis(10)), Err(common::Error::Timeout(_))));
    /// pool.terminate();
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn get_timeout(self, timeout: Duration) -> Result<R> {
        self.fetch(Some(timeout))
    }

    pub(super) fn fetch(self, timeout: Option<Duration>) -> Result<R> {
        let mut inner = lock(&self.claim.inner);
        let deadline = timeout.map(|t| Instant::now() + t);
        inner.wait(self.claim.batch, deadline, self.done)?;
        if !inner
            .batches
            .get(&self.claim.batch)
            .is_none_or(|b| (self.done)(b))
        {
            return Err(Error::Timeout(timeout.unwrap_or_default()));
        }
        let batch = inner
            .batches
            .remove(&self.claim.batch)
            .ok_or(Error::NotReady)?;
        drop(inner);
        (self.finish)(batch)
    }
}

impl<R> AsyncResult<R> {
    /// Whether the result is ready, like `AsyncResult.ready()`.
    ///
    /// ```
    /// fn forever(_: u32) -> u32 {
    ///     loop {
    ///         std::thread::park();
    ///     }
    /// }
    ///
    /// let mut pool = common::Pool::new(1)?;
    /// let stuck = pool.apply_async(forever, 0)?;
    /// assert!(!stuck.ready());
    /// pool.terminate();
    /// assert!(stuck.ready(), "terminate fails what was unfinished");
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn ready(&self) -> bool {
        let mut inner = lock(&self.claim.inner);
        // A look at the pipes without waiting; its errors show in `get`.
        let _ = inner.step(Some(Instant::now()), None);
        inner
            .batches
            .get(&self.claim.batch)
            .is_none_or(|b| (self.done)(b))
    }

    /// Waits until the result is ready, without taking it, like
    /// `AsyncResult.wait()`.
    ///
    /// ```
    /// fn square(n: i64) -> i64 {
    ///     n * n
    /// }
    ///
    /// let mut pool = common::Pool::new(1)?;
    /// let result = pool.apply_async(square, 4)?;
    /// result.wait()?;
    /// assert!(result.ready());
    /// assert_eq!(result.get()?, 16);
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn wait(&self) -> Result<()> {
        self.wait_timeout(Duration::MAX).map(drop)
    }

    /// Waits at most `timeout` until the result is ready, like
    /// `AsyncResult.wait(timeout)`; returns whether it is.
    pub fn wait_timeout(&self, timeout: Duration) -> Result<bool> {
        let mut inner = lock(&self.claim.inner);
        let deadline = Instant::now().checked_add(timeout);
        inner.wait(self.claim.batch, deadline, self.done)?;
        Ok(inner
            .batches
            .get(&self.claim.batch)
            .is_none_or(|b| (self.done)(b)))
    }

    /// Whether it completed without failing, like
    /// `AsyncResult.successful()`; [`Error::NotReady`] before it is ready.
    ///
    /// ```
    /// fn forever(_: u32) -> u32 {
    ///     loop {
    ///         std::thread::park();
    ///     }
    /// }
    ///
    /// let mut pool = common::Pool::new(1)?;
    /// let stuck = pool.apply_async(forever, 0)?;
    /// assert!(matches!(stuck.successful(), Err(common::Error::NotReady)));
    /// pool.terminate();
    /// assert!(!stuck.successful()?);
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn successful(&self) -> Result<bool> {
        if !self.ready() {
            return Err(Error::NotReady);
        }
        let inner = lock(&self.claim.inner);
        Ok(inner
            .batches
            .get(&self.claim.batch)
            .is_some_and(|b| !b.failed))
    }
}

/// Makes an `imap`'s next job from its input, as the iteration needs it;
/// `None` once the input is exhausted.
pub(super) type Feeder<'a> = Box<dyn FnMut() -> Option<Result<Job>> + Send + 'a>;

/// The iterator of [`Pool::imap`](crate::Pool::imap) and
/// [`Pool::imap_unordered`](crate::Pool::imap_unordered).
///
/// It reads its input as it goes: at most a few jobs per worker are sent
/// ahead of the results taken, so an endless input works (with `take`) in
/// bounded memory. It shares the pool: each `next` drives the pool's work
/// until a result is there, and the pool's driver moves the jobs sent ahead
/// meanwhile. Dropping it early discards the results still to come.
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
}

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

impl<R: DeserializeOwned + 'static> Iterator for Imap<'_, R> {
    /// `(index in the input, result)`.
    type Item = (usize, Result<R>);

    fn next(&mut self) -> Option<Self::Item> {
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

    fn size_hint(&self) -> (usize, Option<usize>) {
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
