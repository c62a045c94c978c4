//! [`Barrier`]: a meeting point for a fixed number of processes, like
//! `multiprocessing.Barrier(parties)`.

use std::sync::atomic::Ordering::SeqCst;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::condition::{Condition, ConditionGuard};
use crate::error::{Error, Result};
use crate::sys::holder::{self, Holder};
use crate::sys::{Slots, deadline_in};

/// A meeting point for a fixed number of processes, like
/// `multiprocessing.Barrier(parties)`: each [`wait`](Barrier::wait) returns
/// once `parties` processes are waiting, and the barrier can be used again.
///
/// It is a [`Condition`] and shared words (the state, and who is in
/// `wait`), run as Python's `threading.Barrier` runs: a round fills, then
/// drains; a party that times out breaks it for everyone; [`abort`] breaks
/// it and [`reset`] mends it. No `action` (a closure cannot cross to a
/// spawned child): the party whose [`wait`] returns 0 can do it.
///
/// Unlike Python's, a party that dies in `wait` (killed, say) breaks the
/// barrier rather than leaving the others waiting for good: each party in
/// `wait` is recorded by its process (up to [`Barrier::TRACKED`] at once),
/// and waiters look every [`Barrier::DEATH_TICK`] whether one has died, as
/// does the
/// last to come before it opens a round. A round never opens with a dead
/// member; the others get [`Error::BrokenBarrier`], and a timed wait ends
/// by its deadline whatever becomes of the others.
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
///     let mut process = Process::with_args(meet, barrier.clone());
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
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Barrier {
    parties: usize,
    condition: Condition,
    /// The state, how many are in `wait` beyond the tracked ones, then one
    /// word per party in `wait`: its process (a `Holder`), or 0.
    words: Slots,
}

const STATE: usize = 0;
const UNTRACKED: usize = 1;
const FIRST_PARTY: usize = 2;

/// Where a party in `wait` is recorded.
#[derive(Debug, Clone, Copy)]
enum Arrival {
    Slot(usize),
    Untracked,
}

/// The barrier's states, as Python numbers them in spirit.
const FILLING: u64 = 0;
const DRAINING: u64 = 1;
const RESETTING: u64 = 2;
const BROKEN: u64 = 3;

impl Barrier {
    /// How many parties in `wait` at once are recorded, and so found if
    /// they die; those beyond are counted only.
    pub const TRACKED: usize = 64;

    /// How often a party in `wait` looks whether another has died.
    pub const DEATH_TICK: Duration = Duration::from_millis(50);

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
            words: Slots::new(FIRST_PARTY + Barrier::TRACKED)?,
        })
    }

    /// Another handle to the same barrier: the same as [`Clone`], which
    /// cannot fail (kept for code written before it).
    pub fn try_clone(&self) -> Result<Barrier> {
        Ok(self.clone())
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
            self.count()
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
    /// (aborted, reset, another party's wait timed out, or a party died in
    /// `wait`).
    pub fn wait(&self) -> Result<usize> {
        self.wait_within(None)
    }

    /// As [`wait`](Barrier::wait), for at most `timeout`: a wait that times
    /// out breaks the barrier and is [`Error::BrokenBarrier`], like
    /// `barrier.wait(timeout)`. It ends by its deadline (give or take a
    /// process that holds the barrier's lock), whatever the other parties
    /// do or become; a timeout too long for the clock waits without end.
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
        if self.count() > 0 {
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

    fn party(&self, i: usize) -> &std::sync::atomic::AtomicU64 {
        self.words.slot(FIRST_PARTY + i)
    }

    /// How many parties are in `wait`.
    fn count(&self) -> usize {
        let tracked = (0..Barrier::TRACKED)
            .filter(|&i| self.party(i).load(SeqCst) != 0)
            .count();
        tracked + usize::try_from(self.words.get(UNTRACKED)).unwrap_or(0)
    }

    /// Records this process as a party in `wait` (under the lock).
    fn arrive(&self) -> Arrival {
        let me = holder::me().word();
        match (0..Barrier::TRACKED).find(|&i| self.party(i).load(SeqCst) == 0) {
            Some(i) => {
                self.party(i).store(me, SeqCst);
                Arrival::Slot(i)
            }
            None => {
                self.words.add(UNTRACKED, 1);
                Arrival::Untracked
            }
        }
    }

    /// Clears the record of a party leaving `wait` (under the lock). A
    /// record cleared already was a party found dead meanwhile: nothing to
    /// do (this process is not dead, but a thread of it that shares its
    /// name may be; either way the record is gone).
    fn leave(&self, arrival: Arrival) {
        match arrival {
            Arrival::Slot(i) => self.party(i).store(0, SeqCst),
            Arrival::Untracked => {
                let untracked = self.words.get(UNTRACKED);
                self.words.set(UNTRACKED, untracked.saturating_sub(1));
            }
        }
    }

    /// Clears the record of every party that died in `wait` (under the
    /// lock); whether there was one. A round still filling cannot open
    /// with a dead member: it is broken.
    fn bury_the_dead(&self, guard: &ConditionGuard<'_>) -> bool {
        let mut found = false;
        for i in 0..Barrier::TRACKED {
            let party = self.party(i).load(SeqCst);
            if party != 0 && !Holder::from_word(party).is_alive() {
                self.party(i).store(0, SeqCst);
                found = true;
            }
        }
        if found {
            if self.state() == FILLING {
                self.set_state(BROKEN);
            }
            self.settle();
            guard.notify_all();
        }
        found
    }

    /// A round that drained or reset with nobody left in it starts the
    /// next (under the lock): the last to leave does this, unless it died
    /// first.
    fn settle(&self) {
        if self.count() == 0 && matches!(self.state(), DRAINING | RESETTING) {
            self.set_state(FILLING);
        }
    }

    fn break_it(&self, guard: &ConditionGuard<'_>) {
        self.set_state(BROKEN);
        guard.notify_all();
    }

    fn wait_within(&self, timeout: Option<Duration>) -> Result<usize> {
        let deadline = timeout.and_then(deadline_in);
        let mut guard = self.condition.acquire()?;
        if guard.previous_holder_died() {
            // It may have died half way through a wait of its own.
            self.bury_the_dead(&guard);
        }
        // A round still draining or resetting finishes first.
        let settled = || !matches!(self.state(), DRAINING | RESETTING);
        if !self.sleep_until(&mut guard, settled, deadline)? {
            self.break_it(&guard);
            return Err(Error::BrokenBarrier);
        }
        if self.state() == BROKEN {
            return Err(Error::BrokenBarrier);
        }
        let index = self.count();
        let arrival = self.arrive();
        let outcome = if index + 1 >= self.parties {
            // The last to come opens the barrier, unless a party died in
            // `wait` meanwhile.
            if self.bury_the_dead(&guard) {
                Err(Error::BrokenBarrier)
            } else {
                self.set_state(DRAINING);
                guard.notify_all();
                Ok(index)
            }
        } else {
            let opened = || self.state() != FILLING;
            if !self.sleep_until(&mut guard, opened, deadline)? {
                self.break_it(&guard);
                Err(Error::BrokenBarrier)
            } else if matches!(self.state(), BROKEN | RESETTING) {
                Err(Error::BrokenBarrier)
            } else {
                Ok(index)
            }
        };
        self.leave(arrival);
        // The last to leave a draining or resetting round starts the next.
        if matches!(self.state(), DRAINING | RESETTING) && self.count() == 0 {
            self.settle();
            guard.notify_all();
        }
        outcome
    }

    /// Waits (the lock let go meanwhile) until `ready` holds or `deadline`
    /// passes, looking every [`Barrier::DEATH_TICK`] for parties that died; whether
    /// `ready` held.
    fn sleep_until(
        &self,
        guard: &mut ConditionGuard<'_>,
        ready: impl Fn() -> bool,
        deadline: Option<Instant>,
    ) -> Result<bool> {
        loop {
            if ready() {
                return Ok(true);
            }
            let nap = match deadline {
                Some(deadline) => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return Ok(false);
                    }
                    left.min(Barrier::DEATH_TICK)
                }
                None => Barrier::DEATH_TICK,
            };
            if !guard.wait_timeout(nap)? || guard.previous_holder_died() {
                self.bury_the_dead(guard);
            }
        }
    }
}
