//! Synchronization that processes share, like Python's
//! `multiprocessing.Lock`, `RLock`, `Semaphore`, `BoundedSemaphore`,
//! `Condition`, `Event` and `Barrier`, one type per file.
//!
//! All of them live in shared memory (a memfd: inherited by a forked child,
//! sent to a spawned one as a descriptor, see `crossing`), and sleep on
//! futexes there. A lock is one word naming its holder (`sys::lock_word`),
//! a semaphore a count of places with a table of holders (`sys::places`):
//! a holder that dies, even by SIGKILL in the middle of an operation, does
//! not keep its lock or place, and the next to take it learns so
//! ([`LockGuard::previous_holder_died`]). With no other process in the way,
//! acquiring and releasing either makes no system call.

mod barrier;
mod condition;
mod event;
mod guard;
mod lock;
mod rlock;
mod semaphore;

pub use barrier::Barrier;
pub use condition::{Condition, ConditionGuard};
pub use event::Event;
pub use guard::LockGuard;
pub use lock::Lock;
pub use rlock::{RLock, RLockGuard};
pub use semaphore::{BoundedSemaphore, Semaphore};
