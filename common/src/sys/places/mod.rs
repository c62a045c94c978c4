//! [`Places`]: a counting semaphore in shared memory that survives the
//! death of a holder, under every [`Semaphore`](crate::Semaphore) (a
//! [`Lock`](crate::Lock) has one place, and a simpler word: see
//! `lock_word`).
//!
//! # Layout
//!
//! A memfd of 64-bit words (`state.rs`), mapped by every process holding a
//! handle (inherited by fork, sent to spawned children as a descriptor):
//!
//! - a robust, process-shared `pthread` mutex guarding everything else,
//!   held only for the few stores of one operation;
//! - the number of free places;
//! - a table of holders, each a [`Holder`] (a pid and the start time of
//!   that process, so that a pid reused by a newer process is not mistaken
//!   for the holder);
//! - a generation word that every release bumps, which waiters sleep on
//!   (a futex), so that no waiter sleeps through a release.
//!
//! With no other process in the way, taking and giving back a place makes
//! no system call: the mutex is taken and let go in user space, and this
//! process's identity is known without asking (see `holder`). A taker that
//! finds no place free spins a little before it sleeps.
//!
//! # When a holder dies
//!
//! Two deaths are handled, both without the dead process's help:
//!
//! - **Dead while changing the state** (inside the mutex): the kernel marks
//!   the robust mutex and the next process to lock it is told
//!   (`EOWNERDEAD`). Every operation writes a journal first (the values it
//!   is about to change) and clears it last, so the next process undoes a
//!   half-done operation: the dead process never returned from it.
//! - **Dead while holding a place**: a waiter that has waited a
//!   [`LIVENESS_TICK`] without being woken looks at the holders, by their
//!   `/proc` entries, frees the place of each dead one, and counts it as
//!   orphaned; the next process to take a place learns that it inherited it
//!   from a dead holder ([`Taken::inherited`]), as `pthread` reports
//!   `EOWNERDEAD`.
//!
//! Only [`HOLDERS`] holders at once are tracked; places taken beyond them
//! are counted, and not recovered if their holder dies.

mod state;

use std::os::fd::{BorrowedFd, OwnedFd};
use std::sync::atomic::Ordering::SeqCst;
use std::time::Instant;

use super::futex;
use super::holder::{self, Holder};
use super::lock_word::LIVENESS_TICK;
use crate::error::{Error, Result};
use state::{FREE, Held, ORPHANED, State, UNTRACKED, WAITERS};

pub(crate) use state::HOLDERS;

/// A place taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Taken {
    /// Where the holder is recorded; `None` when the table was full.
    pub(crate) slot: Option<usize>,
    /// Whether the place was freed from a holder that died.
    pub(crate) inherited: bool,
}

/// A counting semaphore in shared memory: see the module docs.
#[derive(Clone)]
pub(crate) struct Places {
    state: State,
}

impl Places {
    /// New shared places, `free` of them free.
    pub(crate) fn new(free: usize) -> Result<Places> {
        Ok(Places {
            state: State::new(free)?,
        })
    }

    /// The memory, to send to a spawned child.
    pub(crate) fn memory(&self) -> BorrowedFd<'_> {
        self.state.memory()
    }

    /// How many places are free now.
    pub(crate) fn free(&self) -> u64 {
        self.state.at(FREE).load(SeqCst)
    }

    /// Takes a place by `deadline` (`None`: however long it takes); `None`
    /// when none came in time.
    pub(crate) fn take(&self, deadline: Option<Instant>) -> Result<Option<Taken>> {
        let me = holder::me().word();
        let mut spun = false;
        loop {
            let Some(held) = self.state.lock(deadline)? else {
                return Ok(None);
            };
            if self.free() > 0 {
                return Ok(Some(self.take_free(&held, me)));
            }
            let seen = self.state.generation().load(SeqCst);
            drop(held);
            let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
            if left.is_some_and(|left| left.is_zero()) {
                return Ok(None);
            }
            if !spun {
                // A place given back soon is taken without sleeping.
                spun = true;
                if super::spin::spin_while(|| self.free() == 0) {
                    continue;
                }
            }
            let nap = left.map_or(LIVENESS_TICK, |left| left.min(LIVENESS_TICK));
            self.state.at(WAITERS).fetch_add(1, SeqCst);
            let woken = futex::wait(self.state.generation(), seen, nap);
            self.state.at(WAITERS).fetch_sub(1, SeqCst);
            if !woken {
                self.free_the_dead(deadline)?;
            }
        }
    }

    /// Takes one of the free places for `me`, under the mutex.
    fn take_free(&self, held: &Held<'_>, me: u64) -> Taken {
        let state = &self.state;
        let slot = (0..HOLDERS).find(|&i| state.holder(i).load(SeqCst) == 0);
        state.begin(held, slot);
        state.at(FREE).fetch_sub(1, SeqCst);
        match slot {
            Some(i) => state.holder(i).store(me, SeqCst),
            None => drop(state.at(UNTRACKED).fetch_add(1, SeqCst)),
        }
        let inherited = state.at(ORPHANED).load(SeqCst) > 0;
        if inherited {
            state.at(ORPHANED).fetch_sub(1, SeqCst);
        }
        state.commit(held, false);
        Taken { slot, inherited }
    }

    /// Frees the place of every holder that died.
    fn free_the_dead(&self, deadline: Option<Instant>) -> Result<()> {
        let state = &self.state;
        let Some(held) = state.lock(deadline)? else {
            return Ok(());
        };
        let mut freed = false;
        for i in 0..HOLDERS {
            let holder = state.holder(i).load(SeqCst);
            if holder != 0 && !Holder::from_word(holder).is_alive() {
                state.begin(&held, Some(i));
                state.holder(i).store(0, SeqCst);
                state.at(FREE).fetch_add(1, SeqCst);
                state.at(ORPHANED).fetch_add(1, SeqCst);
                state.commit(&held, true);
                freed = true;
            }
        }
        drop(held);
        if freed {
            state.wake();
        }
        Ok(())
    }

    /// Gives back the place taken as `taken`.
    pub(crate) fn give(&self, taken: Taken) -> Result<()> {
        self.let_go(taken, true)
    }

    /// Keeps the place taken as `taken` out of circulation for good, with
    /// no holder: a bounded queue's place, which passes to the value put,
    /// comes back only by a release, not by its taker's death.
    pub(crate) fn spend(&self, taken: Taken) -> Result<()> {
        self.let_go(taken, false)
    }

    /// Clears the record of `taken`'s holder, and frees the place if
    /// `free`.
    fn let_go(&self, taken: Taken, free: bool) -> Result<()> {
        let state = &self.state;
        let held = state.lock(None)?.expect("no deadline");
        let me = holder::me().word();
        let slot = taken.slot.filter(|&i| state.holder(i).load(SeqCst) == me);
        state.begin(&held, slot);
        match slot {
            Some(i) => state.holder(i).store(0, SeqCst),
            None => {
                let untracked = state.at(UNTRACKED).load(SeqCst);
                state
                    .at(UNTRACKED)
                    .store(untracked.saturating_sub(1), SeqCst);
            }
        }
        if free {
            state.at(FREE).fetch_add(1, SeqCst);
        }
        state.commit(&held, free);
        drop(held);
        if free {
            state.wake();
        }
        Ok(())
    }

    /// One more free place, without a guard, as Python's bare
    /// `sem.release()` does (a place held through a guard stays its
    /// holder's; a kept one was spent). [`Error::ReleasedTooOften`] when
    /// `bound` places are free already (a bounded semaphore).
    pub(crate) fn release(&self, bound: Option<usize>) -> Result<()> {
        let state = &self.state;
        let held = state.lock(None)?.expect("no deadline");
        if bound.is_some_and(|bound| self.free() >= bound as u64) {
            return Err(Error::ReleasedTooOften);
        }
        state.begin(&held, None);
        state.at(FREE).fetch_add(1, SeqCst);
        state.commit(&held, true);
        drop(held);
        state.wake();
        Ok(())
    }
}

impl serde::Serialize for Places {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        crate::crossing::serialize(&self.memory(), serializer)
    }
}

impl<'de> serde::Deserialize<'de> for Places {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Places, D::Error> {
        let memory: OwnedFd = crate::crossing::deserialize(deserializer)?;
        let state = State::map(memory).map_err(serde::de::Error::custom)?;
        Ok(Places { state })
    }
}

impl std::fmt::Debug for Places {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Places")
            .field("free", &self.free())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sys::deadline_in;
    use std::time::Duration;

    /// A robust mutex reports `EOWNERDEAD` when its owning *thread* ends
    /// holding it, as when a process dies: a thread stands in for a
    /// process killed half-way through taking a place.
    #[test]
    fn an_operation_left_half_done_is_undone() {
        let places = Places::new(1).expect("places");
        let theirs = places.clone();
        std::thread::spawn(move || {
            let held = theirs.state.lock(None).expect("lock").expect("no deadline");
            theirs.state.begin(&held, Some(0));
            theirs.state.at(FREE).fetch_sub(1, SeqCst);
            // Dies here: free is 0, no holder recorded, the mutex held. (The
            // mapping stays, as a dying process's does until its robust
            // mutexes are marked.)
            std::mem::forget(held);
            std::mem::forget(theirs);
        })
        .join()
        .expect("the thread ends");
        let taken = places
            .take(deadline_in(Duration::from_secs(5)))
            .expect("took")
            .expect("the place was given back by the undo");
        assert!(!taken.inherited, "nobody held it");
        assert_eq!(places.free(), 0);
        assert!(places.take(Some(Instant::now())).expect("tried").is_none());
        places.give(taken).expect("give");
        assert_eq!(places.free(), 1);
    }

    /// A holder recorded under a pid no process can have is dead: a waiter
    /// frees its place and is told it inherited it.
    #[test]
    fn a_dead_holders_place_is_freed_for_a_waiter() {
        let places = Places::new(1).expect("places");
        let taken = places.take(None).expect("took").expect("no deadline");
        let slot = taken.slot.expect("recorded");
        places.state.holder(slot).store(holder::DEAD.word(), SeqCst);
        let again = places
            .take(deadline_in(Duration::from_secs(5)))
            .expect("took")
            .expect("the dead holder's place");
        assert!(again.inherited);
        assert!(places.take(Some(Instant::now())).expect("tried").is_none());
    }

    #[test]
    fn a_timeout_too_long_for_the_clock_is_no_deadline() {
        assert_eq!(deadline_in(Duration::MAX), None);
        assert!(deadline_in(Duration::from_secs(1)).is_some());
        let places = Places::new(1).expect("places");
        assert!(
            places
                .take(deadline_in(Duration::MAX))
                .expect("took")
                .is_some()
        );
    }
}
