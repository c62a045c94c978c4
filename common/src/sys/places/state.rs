//! The shared state under [`Places`](super::Places): its layout, the
//! robust mutex that guards it, and the journal that lets the next process
//! undo an operation a dead one left half done.

use std::os::fd::{BorrowedFd, OwnedFd};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering::SeqCst};
use std::time::Instant;

use super::super::futex;
use super::super::slots::Slots;
use crate::error::{Error, Result};

/// How many holders at once are tracked (and recovered if they die).
pub(crate) const HOLDERS: usize = 64;

const MUTEX_SLOTS: usize = std::mem::size_of::<libc::pthread_mutex_t>().div_ceil(8);
const GENERATION: usize = MUTEX_SLOTS;
const JOURNAL: usize = GENERATION + 1;
pub(super) const FREE: usize = JOURNAL + 1;
pub(super) const UNTRACKED: usize = FREE + 1;
pub(super) const ORPHANED: usize = UNTRACKED + 1;
/// How many sleep on the generation word now: a release wakes only when
/// someone sleeps (outside the journal: a count off by a dead sleeper only
/// costs a needless wake).
pub(super) const WAITERS: usize = LEN - 1;
/// The journal's saved values: free, untracked, orphaned, a holder slot's
/// index and its holder.
const SAVED: usize = ORPHANED + 1;
const SAVED_SLOT: usize = SAVED + 3;
const SAVED_HOLDER: usize = SAVED_SLOT + 1;
const FIRST_HOLDER: usize = SAVED_HOLDER + 1;
const LEN: usize = FIRST_HOLDER + HOLDERS + 1;

/// No holder slot saved in the journal.
const NO_SLOT: u64 = u64::MAX;

/// The shared state: see the module docs.
#[derive(Clone)]
pub(super) struct State {
    slots: Slots,
}

/// The state's mutex, held; unlocked when dropped.
pub(super) struct Held<'a> {
    state: &'a State,
}

impl Drop for Held<'_> {
    fn drop(&mut self) {
        // SAFETY: this thread locked the mutex (a `Held` exists only then),
        // and it lives as long as `self.state`.
        unsafe { libc::pthread_mutex_unlock(self.state.mutex()) };
    }
}

impl State {
    /// A new state, `free` places free.
    pub(super) fn new(free: usize) -> Result<State> {
        let state = State {
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
            let done = libc::pthread_mutex_init(state.mutex(), attr.as_ptr());
            libc::pthread_mutexattr_destroy(attr.as_mut_ptr());
            done
        };
        if done != 0 {
            return Err(Error::os(
                "pthread_mutex_init",
                std::io::Error::from_raw_os_error(done),
            ));
        }
        state.at(FREE).store(free as u64, SeqCst);
        state.at(SAVED_SLOT).store(NO_SLOT, SeqCst);
        Ok(state)
    }

    /// The state whose memory is `memory`, made by [`State::new`].
    pub(super) fn map(memory: OwnedFd) -> Result<State> {
        Ok(State {
            slots: Slots::map(memory, LEN)?,
        })
    }

    /// The memory, to send to a spawned child.
    pub(super) fn memory(&self) -> BorrowedFd<'_> {
        self.slots.memory()
    }

    fn mutex(&self) -> *mut libc::pthread_mutex_t {
        self.slots.raw(0).cast()
    }

    /// Word `slot` of the state.
    pub(super) fn at(&self, slot: usize) -> &AtomicU64 {
        self.slots.slot(slot)
    }

    /// The word waiters sleep on, bumped by every release.
    pub(super) fn generation(&self) -> &AtomicU32 {
        self.slots.word(GENERATION)
    }

    /// Holder slot `i`.
    pub(super) fn holder(&self, i: usize) -> &AtomicU64 {
        self.at(FIRST_HOLDER + i)
    }

    /// Locks the state, by `deadline` (`None`: however long it takes);
    /// `None` if the deadline passed. Undoes the half-done operation of a
    /// process that died holding it.
    pub(super) fn lock(&self, deadline: Option<Instant>) -> Result<Option<Held<'_>>> {
        let done = match deadline {
            None => {
                // SAFETY: the mutex was initialised by `new` and lives as
                // long as `self`.
                unsafe { libc::pthread_mutex_lock(self.mutex()) }
            }
            Some(deadline) => {
                let until = realtime(deadline);
                // SAFETY: as above, with a live timespec.
                unsafe { libc::pthread_mutex_timedlock(self.mutex(), &raw const until) }
            }
        };
        match done {
            0 => Ok(Some(Held { state: self })),
            libc::EOWNERDEAD => {
                let held = Held { state: self };
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
    pub(super) fn begin(&self, _held: &Held<'_>, slot: Option<usize>) {
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
    pub(super) fn commit(&self, _held: &Held<'_>, wake: bool) {
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
    pub(super) fn wake(&self) {
        if self.at(WAITERS).load(SeqCst) > 0 {
            futex::wake_all(self.generation());
        }
    }
}

/// `deadline` on the clock `pthread_mutex_timedlock` reads: now on that
/// clock plus what is left (saturating: a deadline years away waits for
/// years, it does not wrap).
fn realtime(deadline: Instant) -> libc::timespec {
    let left = deadline.saturating_duration_since(Instant::now());
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: writes the time into a live local.
    unsafe { libc::clock_gettime(libc::CLOCK_REALTIME, &raw mut now) };
    let nanos = now.tv_nsec + libc::c_long::from(left.subsec_nanos().cast_signed());
    let secs = libc::time_t::try_from(left.as_secs()).unwrap_or(libc::time_t::MAX / 2);
    libc::timespec {
        tv_sec: now
            .tv_sec
            .saturating_add(secs)
            .saturating_add(nanos / 1_000_000_000),
        tv_nsec: nanos % 1_000_000_000,
    }
}
