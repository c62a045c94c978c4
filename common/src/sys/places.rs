//! [`Places`]: a counting semaphore in shared memory that survives the
//! death of a holder, under every lock and semaphore of this crate.
//!
//! # Layout
//!
//! A memfd of 64-bit [`Slots`], mapped by every process holding a handle
//! (inherited by fork, sent to spawned children as a descriptor):
//!
//! - a robust, process-shared `pthread` mutex guarding everything else,
//!   held only for the few stores of one operation;
//! - the number of free places;
//! - a table of holders, each a pid and the start time of that process
//!   (so that a pid reused by a newer process is not mistaken for the
//!   holder);
//! - a generation word that every release bumps, which waiters sleep on
//!   (a futex), so that no waiter sleeps through a release.
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
//!   `/proc` entries (gone, a zombie, or a newer process under the same
//!   pid: dead), frees the place of each dead one, and counts it as
//!   orphaned; the next process to take a place learns that it inherited it
//!   from a dead holder ([`Taken::inherited`]), as `pthread` reports
//!   `EOWNERDEAD`.
//!
//! Only [`HOLDERS`] holders at once are tracked; places taken beyond them
//! are counted, and not recovered if their holder dies.

use std::os::fd::{BorrowedFd, OwnedFd};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering::SeqCst};

use std::time::{Duration, Instant};

use super::futex;
use super::slots::Slots;
use crate::error::{Error, Result};

/// How long a waiter sleeps between looks at whether a holder died.
pub(crate) const LIVENESS_TICK: Duration = Duration::from_millis(10);

/// How many holders at once are tracked (and recovered if they die).
pub(crate) const HOLDERS: usize = 64;

const MUTEX_SLOTS: usize = std::mem::size_of::<libc::pthread_mutex_t>().div_ceil(8);
const GENERATION: usize = MUTEX_SLOTS;
const JOURNAL: usize = GENERATION + 1;
const FREE: usize = JOURNAL + 1;
const UNTRACKED: usize = FREE + 1;
const ORPHANED: usize = UNTRACKED + 1;
/// How many sleep on the generation word now: a release wakes only when
/// someone sleeps (outside the journal: a count off by a dead sleeper only
/// costs a needless wake).
const WAITERS: usize = LEN - 1;
/// The journal's saved values: free, untracked, orphaned, a holder slot's
/// index and its holder.
const SAVED: usize = ORPHANED + 1;
const SAVED_SLOT: usize = SAVED + 3;
const SAVED_HOLDER: usize = SAVED_SLOT + 1;
const FIRST_HOLDER: usize = SAVED_HOLDER + 1;
const LEN: usize = FIRST_HOLDER + HOLDERS + 1;

/// No holder slot saved in the journal.
const NO_SLOT: u64 = u64::MAX;

/// A place taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Taken {
    /// Where the holder is recorded; `None` when the table was full.
    pub(crate) slot: Option<usize>,
    /// Whether the place was freed from a holder that died.
    pub(crate) inherited: bool,
}

/// A counting semaphore in shared memory: see the module docs.
pub(crate) struct Places {
    slots: Slots,
}

/// The state's mutex, held; unlocked when dropped.
struct Held<'a> {
    places: &'a Places,
}

impl Drop for Held<'_> {
    fn drop(&mut self) {
        // SAFETY: this thread locked the mutex (a `Held` exists only then),
        // and it lives as long as `self.places`.
        unsafe { libc::pthread_mutex_unlock(self.places.mutex()) };
    }
}

impl Places {
    /// New shared places, `free` of them free.
    pub(crate) fn new(free: usize) -> Result<Places> {
        let places = Places {
            slots: Slots::new(LEN)?,
        };
        let mut attr = std::mem::MaybeUninit::<libc::pthread_mutexattr_t>::uninit();
        // SAFETY: the attribute object is initialised before use and
        // destroyed after; the mutex lies in memory sized and aligned for it
        // (MUTEX_SLOTS slots of 8 bytes), zeroed, used by no one yet.
        let done = unsafe {
            libc::pthread_mutexattr_init(attr.as_mut_ptr());
            libc::pthread_mutexattr_setpshared(attr.as_mut_ptr(), libc::PTHREAD_PROCESS_SHARED);
            libc::pthread_mutexattr_setrobust(attr.as_mut_ptr(), libc::PTHREAD_MUTEX_ROBUST);
            let done = libc::pthread_mutex_init(places.mutex(), attr.as_ptr());
            libc::pthread_mutexattr_destroy(attr.as_mut_ptr());
            done
        };
        if done != 0 {
            return Err(Error::os(
                "pthread_mutex_init",
                std::io::Error::from_raw_os_error(done),
            ));
        }
        places.at(FREE).store(free as u64, SeqCst);
        places.at(SAVED_SLOT).store(NO_SLOT, SeqCst);
        Ok(places)
    }

    /// The places whose memory is `memory`, made by [`Places::new`].
    pub(crate) fn map(memory: OwnedFd) -> Result<Places> {
        Ok(Places {
            slots: Slots::map(memory, LEN)?,
        })
    }

    /// The memory, to send to a spawned child.
    pub(crate) fn memory(&self) -> BorrowedFd<'_> {
        self.slots.memory()
    }

    /// Another mapping of the same places.
    pub(crate) fn try_clone(&self) -> Result<Places> {
        let memory = self
            .memory()
            .try_clone_to_owned()
            .map_err(|e| Error::os("dup", e))?;
        Places::map(memory)
    }

    fn mutex(&self) -> *mut libc::pthread_mutex_t {
        self.slots.raw(0).cast()
    }

    fn at(&self, slot: usize) -> &AtomicU64 {
        self.slots.slot(slot)
    }

    fn generation(&self) -> &AtomicU32 {
        self.slots.word(GENERATION)
    }

    fn holder(&self, i: usize) -> &AtomicU64 {
        self.at(FIRST_HOLDER + i)
    }

    /// How many places are free now.
    pub(crate) fn free(&self) -> u64 {
        self.at(FREE).load(SeqCst)
    }

    /// Locks the state, by `deadline` (`None`: however long it takes);
    /// `None` if the deadline passed. Undoes the half-done operation of a
    /// process that died holding it.
    fn lock(&self, deadline: Option<Instant>) -> Result<Option<Held<'_>>> {
        let done = match deadline {
            None => {
                // SAFETY: the mutex was initialised by `new` and lives as
                // long as `self`.
                unsafe { libc::pthread_mutex_lock(self.mutex()) }
            }
            Some(deadline) => {
                let left = deadline.saturating_duration_since(Instant::now());
                let mut now = libc::timespec {
                    tv_sec: 0,
                    tv_nsec: 0,
                };
                // SAFETY: writes the time into a live local.
                unsafe { libc::clock_gettime(libc::CLOCK_REALTIME, &raw mut now) };
                let nanos = now.tv_nsec + libc::c_long::from(left.subsec_nanos().cast_signed());
                let until = libc::timespec {
                    tv_sec: now.tv_sec
                        + libc::time_t::try_from(left.as_secs()).unwrap_or(libc::time_t::MAX / 2)
                        + nanos / 1_000_000_000,
                    tv_nsec: nanos % 1_000_000_000,
                };
                // SAFETY: as above, with a live timespec.
                unsafe { libc::pthread_mutex_timedlock(self.mutex(), &raw const until) }
            }
        };
        match done {
            0 => Ok(Some(Held { places: self })),
            libc::EOWNERDEAD => {
                let held = Held { places: self };
                self.undo();
                // SAFETY: this thread holds the mutex (EOWNERDEAD locks it).
                unsafe { libc::pthread_mutex_consistent(self.mutex()) };
                Ok(Some(held))
            }
            libc::ETIMEDOUT => Ok(None),
            errno => Err(Error::os(
                "lock shared state",
                std::io::Error::from_raw_os_error(errno),
            )),
        }
    }

    /// Journals the values an operation may change: free, untracked,
    /// orphaned and holder slot `slot`.
    fn begin(&self, _held: &Held<'_>, slot: Option<usize>) {
        for i in 0..3 {
            self.at(SAVED + i)
                .store(self.at(FREE + i).load(SeqCst), SeqCst);
        }
        match slot {
            Some(i) => {
                self.at(SAVED_HOLDER)
                    .store(self.holder(i).load(SeqCst), SeqCst);
                self.at(SAVED_SLOT).store(i as u64, SeqCst);
            }
            None => self.at(SAVED_SLOT).store(NO_SLOT, SeqCst),
        }
        self.at(JOURNAL).store(1, SeqCst);
    }

    /// Ends the journalled operation, and wakes waiters if `wake`.
    fn commit(&self, _held: &Held<'_>, wake: bool) {
        self.at(JOURNAL).store(0, SeqCst);
        if wake {
            self.generation().fetch_add(1, SeqCst);
        }
    }

    /// Undoes the operation a dead process left half done.
    fn undo(&self) {
        if self.at(JOURNAL).load(SeqCst) == 0 {
            return;
        }
        for i in 0..3 {
            self.at(FREE + i)
                .store(self.at(SAVED + i).load(SeqCst), SeqCst);
        }
        let slot = self.at(SAVED_SLOT).load(SeqCst);
        if let Ok(i) = usize::try_from(slot)
            && i < HOLDERS
        {
            self.holder(i)
                .store(self.at(SAVED_HOLDER).load(SeqCst), SeqCst);
        }
        self.at(JOURNAL).store(0, SeqCst);
        self.generation().fetch_add(1, SeqCst);
    }

    /// Wakes every sleeper, if any sleeps.
    fn wake(&self) {
        if self.at(WAITERS).load(SeqCst) > 0 {
            futex::wake_all(self.generation());
        }
    }

    /// Takes a place, waiting at most `timeout` (`None`: however long it
    /// takes); `None` when none came in time.
    pub(crate) fn take(&self, timeout: Option<Duration>) -> Result<Option<Taken>> {
        let deadline = timeout.map(|t| Instant::now() + t);
        let me = holder_id();
        loop {
            let Some(held) = self.lock(deadline)? else {
                return Ok(None);
            };
            if self.at(FREE).load(SeqCst) > 0 {
                let slot = (0..HOLDERS).find(|&i| self.holder(i).load(SeqCst) == 0);
                self.begin(&held, slot);
                self.at(FREE).fetch_sub(1, SeqCst);
                match slot {
                    Some(i) => self.holder(i).store(me, SeqCst),
                    None => drop(self.at(UNTRACKED).fetch_add(1, SeqCst)),
                }
                let inherited = self.at(ORPHANED).load(SeqCst) > 0;
                if inherited {
                    self.at(ORPHANED).fetch_sub(1, SeqCst);
                }
                self.commit(&held, false);
                return Ok(Some(Taken { slot, inherited }));
            }
            let seen = self.generation().load(SeqCst);
            drop(held);
            let nap = match deadline {
                Some(deadline) => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return Ok(None);
                    }
                    left.min(LIVENESS_TICK)
                }
                None => LIVENESS_TICK,
            };
            self.at(WAITERS).fetch_add(1, SeqCst);
            let woken = futex::wait(self.generation(), seen, nap);
            self.at(WAITERS).fetch_sub(1, SeqCst);
            if !woken {
                self.free_the_dead(deadline)?;
            }
        }
    }

    /// Frees the place of every holder that died.
    fn free_the_dead(&self, deadline: Option<Instant>) -> Result<()> {
        let Some(held) = self.lock(deadline)? else {
            return Ok(());
        };
        let mut freed = false;
        for i in 0..HOLDERS {
            let holder = self.holder(i).load(SeqCst);
            if holder != 0 && !holder_alive(holder) {
                self.begin(&held, Some(i));
                self.holder(i).store(0, SeqCst);
                self.at(FREE).fetch_add(1, SeqCst);
                self.at(ORPHANED).fetch_add(1, SeqCst);
                self.commit(&held, true);
                freed = true;
            }
        }
        drop(held);
        if freed {
            self.wake();
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
        let held = self.lock(None)?.expect("no deadline");
        let slot = taken
            .slot
            .filter(|&i| self.holder(i).load(SeqCst) == holder_id());
        self.begin(&held, slot);
        match slot {
            Some(i) => self.holder(i).store(0, SeqCst),
            None => self.forget_one(),
        }
        if free {
            self.at(FREE).fetch_add(1, SeqCst);
        }
        self.commit(&held, free);
        drop(held);
        if free {
            self.wake();
        }
        Ok(())
    }

    /// An untracked holder fewer (under the mutex and a journal).
    fn forget_one(&self) {
        let untracked = self.at(UNTRACKED).load(SeqCst);
        self.at(UNTRACKED)
            .store(untracked.saturating_sub(1), SeqCst);
    }

    /// Frees a place without its guard, as Python's bare `release` does:
    /// for a lock, the one this process holds, else the one another process
    /// holds (Python lets any process release a lock); for a semaphore, one
    /// more free place. [`Error::ReleasedTooOften`] for a lock that is free,
    /// or a bounded semaphore with every place free.
    pub(crate) fn release(&self, how: Release) -> Result<()> {
        let held = self.lock(None)?.expect("no deadline");
        let me = holder_id();
        let holders = || (0..HOLDERS).filter(|&i| self.holder(i).load(SeqCst) != 0);
        let free = self.at(FREE).load(SeqCst);
        let mut slot = None;
        let mut untracked = false;
        match how {
            Release::Lock => {
                slot = holders().find(|&i| self.holder(i).load(SeqCst) == me);
                if slot.is_none() {
                    if free >= 1 {
                        return Err(Error::ReleasedTooOften);
                    }
                    if self.at(UNTRACKED).load(SeqCst) > 0 {
                        untracked = true;
                    } else {
                        slot = holders().next();
                    }
                }
            }
            Release::Semaphore { bound: Some(bound) } if free >= bound as u64 => {
                return Err(Error::ReleasedTooOften);
            }
            Release::Semaphore { .. } => {}
        }
        self.begin(&held, slot);
        if let Some(i) = slot {
            self.holder(i).store(0, SeqCst);
        } else if untracked {
            self.forget_one();
        }
        self.at(FREE).fetch_add(1, SeqCst);
        self.commit(&held, true);
        drop(held);
        self.wake();
        Ok(())
    }
}

/// What a bare release frees: see [`Places::release`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Release {
    /// A lock's: the place held, by this process or another.
    Lock,
    /// A semaphore's: one more free place, up to `bound` free places (a
    /// semaphore's places held through guards stay their holders'; a kept
    /// one was spent).
    Semaphore { bound: Option<usize> },
}

impl serde::Serialize for Places {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        crate::crossing::serialize(&self.memory(), serializer)
    }
}

impl<'de> serde::Deserialize<'de> for Places {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Places, D::Error> {
        let memory: OwnedFd = crate::crossing::deserialize(deserializer)?;
        Places::map(memory).map_err(serde::de::Error::custom)
    }
}

impl std::fmt::Debug for Places {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Places")
            .field("free", &self.free())
            .finish()
    }
}

/// This process as a holder: its pid in the high half, the low 32 bits of
/// its start time (in clock ticks since boot) in the low half.
///
/// Read from `/proc` once per process (a forked child, with a new pid,
/// reads its own).
pub(crate) fn holder_id() -> u64 {
    static CACHED: AtomicU64 = AtomicU64::new(0);
    let pid = std::process::id();
    let cached = CACHED.load(SeqCst);
    if cached >> 32 == u64::from(pid) {
        return cached;
    }
    let id = (u64::from(pid) << 32) | start_time(pid).unwrap_or(0) & 0xffff_ffff;
    CACHED.store(id, SeqCst);
    id
}

/// Whether the process recorded as `holder` still runs: its pid exists, is
/// not a zombie, and started when the holder did.
fn holder_alive(holder: u64) -> bool {
    let pid = u32::try_from(holder >> 32).unwrap_or(0);
    match stat(pid) {
        Some((state, start)) => {
            !matches!(state, 'Z' | 'X' | 'x') && start & 0xffff_ffff == holder & 0xffff_ffff
        }
        None => false,
    }
}

fn start_time(pid: u32) -> Option<u64> {
    stat(pid).map(|(_, start)| start)
}

/// The state letter and start time of `pid`, from `/proc/PID/stat`.
fn stat(pid: u32) -> Option<(char, u64)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The name (field 2) may hold spaces and parentheses: fields after the
    // last ')' are plain. State is field 3, the start time field 22.
    let rest = text.rsplit_once(')')?.1;
    let mut fields = rest.split_whitespace();
    let state = fields.next()?.chars().next()?;
    let start = fields.nth(18)?.parse().ok()?;
    Some((state, start))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A robust mutex reports `EOWNERDEAD` when its owning *thread* ends
    /// holding it, as when a process dies: a thread stands in for a
    /// process killed half-way through taking a place.
    #[test]
    fn an_operation_left_half_done_is_undone() {
        let places = Places::new(1).expect("places");
        let theirs = places.try_clone().expect("dup");
        std::thread::spawn(move || {
            let held = theirs.lock(None).expect("lock").expect("no deadline");
            theirs.begin(&held, Some(0));
            theirs.at(FREE).fetch_sub(1, SeqCst);
            // Dies here: free is 0, no holder recorded, the mutex held. (The
            // mapping stays, as a dying process's does until its robust
            // mutexes are marked.)
            std::mem::forget(held);
            std::mem::forget(theirs);
        })
        .join()
        .expect("the thread ends");
        let taken = places
            .take(Some(Duration::from_secs(5)))
            .expect("took")
            .expect("the place was given back by the undo");
        assert!(!taken.inherited, "nobody held it");
        assert_eq!(places.free(), 0);
        assert!(places.take(Some(Duration::ZERO)).expect("tried").is_none());
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
        // Above any pid_max (2^22): no such process.
        places.holder(slot).store((1u64 << 23) << 32, SeqCst);
        let again = places
            .take(Some(Duration::from_secs(5)))
            .expect("took")
            .expect("the dead holder's place");
        assert!(again.inherited);
        assert!(places.take(Some(Duration::ZERO)).expect("tried").is_none());
    }
}
