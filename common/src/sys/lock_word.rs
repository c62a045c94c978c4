//! [`LockWord`]: a lock in shared memory that survives the death of its
//! holder, under every [`Lock`](crate::Lock) and [`RLock`](crate::RLock).
//!
//! # The word
//!
//! One 64-bit word of shared memory ([`Slots`]) holds the whole state: the
//! holder ([`Holder`]: its pid and start time), or nothing when the lock is
//! free, and two flags in bits a pid never uses:
//!
//! - `WAITERS`: someone sleeps on the word (or is about to), so whoever
//!   lets go must wake one;
//! - `ORPHANED`: the lock was freed from a holder that died, so the next
//!   taker is told ([`LockWord::take`] returns `Some(true)`), as `pthread`
//!   reports `EOWNERDEAD`.
//!
//! Taking is one compare-and-swap from free to this process; giving back is
//! one from this process to free. So the word is never half changed, and a
//! process killed at any instruction leaves it either free or held by that
//! process; and neither step makes a system call (this process's identity
//! is known without one: see `holder`) unless someone sleeps.
//!
//! # Waiting
//!
//! A taker that finds the lock held spins a little (the holder, on another
//! core, may be about to let go), then sets `WAITERS` and sleeps on the
//! word's low half, where the holder's pid and the flags lie (a futex).
//! Whoever lets go clears the word and wakes one sleeper, which takes the
//! lock keeping `WAITERS` set: it cannot know whether others still sleep,
//! and a needless wake costs less than a lost one.
//!
//! # When a holder dies
//!
//! Nobody wakes the sleepers then. A sleeper wakes by itself every
//! [`LIVENESS_TICK`]; if the word has not changed meanwhile, it looks at
//! the holder's `/proc` entry (gone, a zombie, or a newer process under the
//! same pid: dead) and, if dead, swaps the word from that holder to free
//! and `ORPHANED`, and takes it in its next look.

use std::sync::atomic::AtomicU64;
use std::sync::atomic::Ordering::{Acquire, Relaxed, Release};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::futex;
use super::holder::{self, Holder};
use super::slots::Slots;
use crate::error::{Error, Result};

/// How long a sleeper sleeps between looks at whether a holder died.
pub(crate) const LIVENESS_TICK: Duration = Duration::from_millis(10);

/// Someone sleeps on the word: see the module docs.
const WAITERS: u64 = 1 << 31;
/// The lock was freed from a dead holder: see the module docs.
const ORPHANED: u64 = 1 << 30;
const FLAGS: u64 = WAITERS | ORPHANED;

/// The futex is the word's low half, where the flags and the pid are.
const _: () = assert!(cfg!(target_endian = "little"));

/// A lock whose holder is a process: see the module docs. The words after
/// the lock's own are its user's ([`LockWord::extra`]).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct LockWord {
    slots: Slots,
}

impl LockWord {
    /// A new lock, free, with `extra` more words for its user, all 0.
    pub(crate) fn new(extra: usize) -> Result<LockWord> {
        Ok(LockWord {
            slots: Slots::named(crate::layout::Memory::Lock, 1 + extra)?,
        })
    }

    /// Extra word `i` (from 0), shared as the lock is.
    pub(crate) fn extra(&self, i: usize) -> &AtomicU64 {
        self.slots.slot(1 + i)
    }

    fn word(&self) -> &AtomicU64 {
        self.slots.slot(0)
    }

    /// The holder now ([`Holder::NONE`] when free).
    pub(crate) fn holder(&self) -> Holder {
        Holder::from_word(self.word().load(Acquire) & !FLAGS)
    }

    /// Takes the lock by `deadline` (`None`: however long it takes):
    /// whether it came from a holder that died, or `None` if the deadline
    /// passed first.
    pub(crate) fn take(&self, deadline: Option<Instant>) -> Option<bool> {
        let me = holder::me().word();
        if let Some(orphaned) = self.try_take(me, 0) {
            return Some(orphaned);
        }
        if deadline.is_some_and(|deadline| Instant::now() >= deadline) {
            return None;
        }
        let mut taken = None;
        if super::spin::spin_while(|| {
            taken = self.try_take(me, 0);
            taken.is_none()
        }) {
            return taken;
        }
        self.sleep_until_taken(me, deadline)
    }

    /// One try at taking the lock for `me`, adding the flags `keep`:
    /// whether it came from a dead holder, or `None` if it is held.
    fn try_take(&self, me: u64, keep: u64) -> Option<bool> {
        let seen = self.word().load(Relaxed);
        if seen & !FLAGS != 0 {
            return None;
        }
        self.word()
            .compare_exchange(seen, me | (seen & WAITERS) | keep, Acquire, Relaxed)
            .ok()
            .map(|_| seen & ORPHANED != 0)
    }

    /// Sleeps on the word until the lock is taken, or `deadline`.
    fn sleep_until_taken(&self, me: u64, deadline: Option<Instant>) -> Option<bool> {
        loop {
            // A sleeper that takes it keeps WAITERS: others may sleep still.
            if let Some(orphaned) = self.try_take(me, WAITERS) {
                return Some(orphaned);
            }
            let seen = self.word().load(Relaxed);
            if seen & !FLAGS == 0 {
                continue;
            }
            let nap = match deadline {
                Some(deadline) => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        self.pass_on();
                        return None;
                    }
                    left.min(LIVENESS_TICK)
                }
                None => LIVENESS_TICK,
            };
            let asleep = seen | WAITERS;
            if seen != asleep
                && self
                    .word()
                    .compare_exchange(seen, asleep, Relaxed, Relaxed)
                    .is_err()
            {
                continue;
            }
            let woken = futex::wait(self.futex(), asleep as u32, nap);
            if !woken && self.word().load(Relaxed) == asleep {
                self.free_if_dead(asleep);
            }
        }
    }

    /// Frees the lock if it is still `seen` and its holder has died.
    fn free_if_dead(&self, seen: u64) {
        if !Holder::from_word(seen & !FLAGS).is_alive() {
            // Fails only if the word changed meanwhile: then it is not the
            // dead holder's any more.
            let _ =
                self.word()
                    .compare_exchange(seen, ORPHANED | (seen & WAITERS), Release, Relaxed);
        }
    }

    /// A sleeper giving up at its deadline may have been the one a release
    /// woke: if the lock is free, the wake-up passes to another sleeper.
    fn pass_on(&self) {
        if self.word().load(Relaxed) & !FLAGS == 0 {
            futex::wake(self.futex(), 1);
        }
    }

    /// Gives the lock back if this process holds it, waking a sleeper;
    /// whether it did (a lock released meanwhile by another process, as
    /// Python allows, is not this process's to give).
    pub(crate) fn give(&self) -> bool {
        let me = holder::me().word();
        self.free_when(|holder| holder == me)
    }

    /// Frees the lock whoever holds it, as Python's `lock.release()` may
    /// from any process; [`Error::ReleasedTooOften`] if it is free.
    pub(crate) fn release(&self) -> Result<()> {
        if self.free_when(|holder| holder != 0) {
            Ok(())
        } else {
            Err(Error::ReleasedTooOften)
        }
    }

    /// Frees the lock if its holder passes `ours`, waking a sleeper;
    /// whether it did.
    fn free_when(&self, ours: impl Fn(u64) -> bool) -> bool {
        let mut seen = self.word().load(Relaxed);
        loop {
            if !ours(seen & !FLAGS) {
                return false;
            }
            match self.word().compare_exchange_weak(seen, 0, Release, Relaxed) {
                Ok(_) => {
                    if seen & WAITERS != 0 {
                        futex::wake(self.futex(), 1);
                    }
                    return true;
                }
                Err(now) => seen = now,
            }
        }
    }

    /// The word's low half, which sleepers sleep on.
    fn futex(&self) -> &std::sync::atomic::AtomicU32 {
        self.slots.word(0)
    }

    /// Records `holder` as the holder, as a process that then died would
    /// have left it.
    #[cfg(test)]
    fn set_holder(&self, holder: Holder) {
        self.word().store(holder.word(), Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn taken_once_until_given_back() {
        let lock = LockWord::new(0).expect("lock");
        assert_eq!(lock.take(None), Some(false));
        assert_eq!(lock.holder(), holder::me());
        assert_eq!(lock.take(Some(Instant::now())), None, "held");
        assert!(lock.give());
        assert!(!lock.give(), "given back already");
        assert_eq!(lock.holder(), Holder::NONE);
        assert!(matches!(lock.release(), Err(Error::ReleasedTooOften)));
    }

    #[test]
    fn a_dead_holders_lock_is_freed_for_a_waiter_who_is_told() {
        let lock = LockWord::new(0).expect("lock");
        lock.set_holder(holder::DEAD);
        let took = lock.take(Some(Instant::now() + Duration::from_secs(5)));
        assert_eq!(took, Some(true), "taken, and told the holder died");
        assert!(lock.give());
        assert_eq!(lock.take(None), Some(false), "told once only");
    }

    #[test]
    fn a_waiter_is_woken_by_the_release_and_a_timed_one_gives_up() {
        let lock = LockWord::new(0).expect("lock");
        let theirs = lock.clone();
        assert_eq!(lock.take(None), Some(false));
        let soon = Instant::now() + Duration::from_millis(30);
        assert_eq!(theirs.take(Some(soon)), None);
        assert!(
            Instant::now() >= soon,
            "gave up no sooner than its deadline"
        );
        // A thread of this process is this process: it waits as another
        // process would, and the release wakes it.
        let waiter = std::thread::spawn(move || theirs.take(None));
        std::thread::sleep(Duration::from_millis(20));
        lock.release().expect("held");
        assert_eq!(waiter.join().expect("the waiter ends"), Some(false));
    }
}
