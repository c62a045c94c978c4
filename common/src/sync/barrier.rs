//! [`Barrier`]: a meeting point for a fixed number of processes, like
//! `multiprocessing.Barrier(parties)`.

use std::sync::atomic::Ordering::SeqCst;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::condition::{Condition, ConditionGuard};
use crate::error::{Error, Result};
use crate::sys::Slots;

/// A meeting point for a fixed number of processes, like
/// `multiprocessing.Barrier(parties)`: each [`wait`](Barrier::wait) returns
/// once `parties` processes are waiting, and the barrier can be used again.
///
/// It is a [`Condition`] and two shared words (the state and how many
/// wait), run as Python's `threading.Barrier` runs: a round fills, then
/// drains; a party that times out breaks it for everyone; [`abort`] breaks
/// it and [`reset`] mends it. No `action` (a closure cannot cross to a
/// spawned child): the party whose [`wait`] returns 0 can do it.
///
/// [`abort`]: Barrier::abort
/// [`reset`]: Barrier::reset
/// [`wait`]: Barrier::wait
///
/// ```
/// use common::{Barrier, Process};
///
/// fn meet(barrier: Barrier) {
///     barrier.wait().expect("the others come");
/// }
///
/// let barrier = Barrier::new(3)?;
/// let mut others = Vec::new();
/// for _ in 0..2 {
///     let mut process = Process::with_args(meet, barrier.try_clone()?);
///     process.start()?;
///     others.push(process);
/// }
/// let index = barrier.wait()?; // returns once both children wait too
/// assert!(index < 3);
/// for process in &others {
///     process.join()?;
/// }
/// # Ok::<(), common::Error>(())
/// ```
#[derive(Debug, Serialize, Deserialize)]
pub struct Barrier {
    parties: usize,
    condition: Condition,
    /// The state, then how many are in `wait`.
    words: Slots,
}

const STATE: usize = 0;
const COUNT: usize = 1;

/// The barrier's states, as Python numbers them in spirit.
const FILLING: u64 = 0;
const DRAINING: u64 = 1;
const RESETTING: u64 = 2;
const BROKEN: u64 = 3;

impl Barrier {
    /// A barrier for `parties` processes (at least one).
    ///
    /// ```
    /// let alone = common::Barrier::new(1)?;
    /// alone.wait()?; // one party: returns at once
    /// alone.wait()?; // and again
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn new(parties: usize) -> Result<Barrier> {
        Ok(Barrier {
            parties: parties.max(1),
            condition: Condition::new()?,
            words: Slots::new(2)?,
        })
    }

    /// Another handle to the same barrier, to give to another process.
    ///
    /// ```
    /// let b = common::Barrier::new(1)?;
    /// b.try_clone()?.wait()?;
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn try_clone(&self) -> Result<Barrier> {
        Ok(Barrier {
            parties: self.parties,
            condition: self.condition.try_clone()?,
            words: self.words.try_clone()?,
        })
    }

    /// How many processes must wait for the barrier to open, like
    /// `barrier.parties`.
    ///
    /// ```
    /// assert_eq!(common::Barrier::new(4)?.parties(), 4);
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn parties(&self) -> usize {
        self.parties
    }

    /// How many are waiting in the current round, like
    /// `barrier.n_waiting`.
    ///
    /// ```
    /// assert_eq!(common::Barrier::new(2)?.n_waiting(), 0);
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn n_waiting(&self) -> usize {
        if self.state() == FILLING {
            usize::try_from(self.words.get(COUNT)).unwrap_or(0)
        } else {
            0
        }
    }

    /// Whether the barrier is broken, like `barrier.broken`.
    ///
    /// ```
    /// let b = common::Barrier::new(2)?;
    /// b.abort()?;
    /// assert!(b.broken());
    /// b.reset()?;
    /// assert!(!b.broken());
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn broken(&self) -> bool {
        self.state() == BROKEN
    }

    /// Waits until `parties` processes are waiting, like `barrier.wait()`;
    /// returns this party's index in the round, `0..parties` (one of them
    /// gets 0).
    ///
    /// # Errors
    ///
    /// [`Error::BrokenBarrier`] when the barrier is or becomes broken
    /// (aborted, reset, or another party's wait timed out).
    pub fn wait(&self) -> Result<usize> {
        self.wait_within(None)
    }

    /// As [`wait`](Barrier::wait), for at most `timeout`: a wait that times
    /// out breaks the barrier and is [`Error::BrokenBarrier`], like
    /// `barrier.wait(timeout)`.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let b = common::Barrier::new(2)?;
    /// assert!(b.wait_timeout(Duration::from_millis(5)).is_err());
    /// assert!(b.broken());
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn wait_timeout(&self, timeout: Duration) -> Result<usize> {
        self.wait_within(Some(timeout))
    }

    /// Breaks the barrier: every waiter, and every later wait, is
    /// [`Error::BrokenBarrier`] until [`reset`](Barrier::reset), like
    /// `barrier.abort()`.
    pub fn abort(&self) -> Result<()> {
        let guard = self.condition.acquire()?;
        self.break_it(&guard);
        Ok(())
    }

    /// Returns the barrier to its first state; parties waiting now get
    /// [`Error::BrokenBarrier`], like `barrier.reset()`.
    pub fn reset(&self) -> Result<()> {
        let guard = self.condition.acquire()?;
        if self.words.get(COUNT) > 0 {
            if matches!(self.state(), FILLING | BROKEN) {
                self.set_state(RESETTING);
            }
        } else {
            self.set_state(FILLING);
        }
        guard.notify_all();
        Ok(())
    }

    fn state(&self) -> u64 {
        self.words.slot(STATE).load(SeqCst)
    }

    fn set_state(&self, state: u64) {
        self.words.slot(STATE).store(state, SeqCst);
    }

    fn break_it(&self, guard: &ConditionGuard<'_>) {
        self.set_state(BROKEN);
        guard.notify_all();
    }

    fn wait_within(&self, timeout: Option<Duration>) -> Result<usize> {
        let mut guard = self.condition.acquire()?;
        // A round still draining or resetting finishes first.
        guard.wait_for(|| !matches!(self.state(), DRAINING | RESETTING), None)?;
        if self.state() == BROKEN {
            return Err(Error::BrokenBarrier);
        }
        let index = usize::try_from(self.words.add(COUNT, 1)).unwrap_or(0);
        let outcome = if index + 1 == self.parties {
            // The last to come opens the barrier.
            self.set_state(DRAINING);
            guard.notify_all();
            Ok(index)
        } else {
            let opened = guard.wait_for(|| self.state() != FILLING, timeout)?;
            if !opened {
                self.break_it(&guard);
                Err(Error::BrokenBarrier)
            } else if matches!(self.state(), BROKEN | RESETTING) {
                Err(Error::BrokenBarrier)
            } else {
                Ok(index)
            }
        };
        // The last to leave a draining or resetting round starts the next.
        if self.words.add(COUNT, u64::MAX) == 1 && matches!(self.state(), DRAINING | RESETTING) {
            self.set_state(FILLING);
            guard.notify_all();
        }
        outcome
    }
}
