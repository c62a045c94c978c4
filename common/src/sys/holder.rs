//! [`Holder`]: a process as the holder of a lock or of a semaphore's place,
//! known to itself without a system call, and judged alive or dead by
//! others through `/proc`.
//!
//! # Who a holder is
//!
//! A pid alone is not enough: once a holder dies, the kernel may give its
//! pid to a newer process, which must not be taken for the holder. So a
//! holder is its pid and the start time of its process (clock ticks since
//! boot, `/proc/PID/stat` field 22), packed in a word: the pid in the low
//! 32 bits (a pid is below 2^22, so the top bits of that half are free for
//! a lock's flags), the low 32 bits of the start time in the high ones.
//!
//! # Known without a system call
//!
//! A lock asks who this process is on every acquire and release, so the
//! answer is kept, and must be forgotten in a child of a fork, which is
//! someone else. It is kept in a word every child finds zeroed (see
//! `wiped`), so a child finds no answer and works its own out once (one
//! read of `/proc/self/stat`). Where the kernel cannot zero it, the answer
//! is checked against `getpid` on every use instead.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use super::this_process;
use super::wiped::{self, Wiped};

/// A process as a holder: see the module docs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Holder(u64);

impl Holder {
    /// No holder.
    #[cfg(test)]
    pub(crate) const NONE: Holder = Holder(0);

    /// The holder recorded as `word` (by [`Holder::word`]).
    pub(crate) fn from_word(word: u64) -> Holder {
        Holder(word)
    }

    /// This holder as a word to record.
    pub(crate) fn word(self) -> u64 {
        self.0
    }

    fn pid(self) -> u32 {
        (self.0 & 0xffff_ffff) as u32
    }

    /// Whether the process recorded as this holder still runs: its pid
    /// exists, is not a zombie, and started when the holder did.
    pub(crate) fn is_alive(self) -> bool {
        match stat(self.pid()) {
            Some((state, start)) => {
                !matches!(state, 'Z' | 'X' | 'x') && start & 0xffff_ffff == self.0 >> 32
            }
            None => false,
        }
    }
}

/// This process as a holder.
pub(crate) fn me() -> Holder {
    match wiped::word(Wiped::Holder) {
        Some(cell) => match cell.load(Relaxed) {
            0 => {
                let me = look_up(this_process::pid());
                cell.store(me.0, Relaxed);
                me
            }
            known => Holder(known),
        },
        None => checked_by_pid(),
    }
}

/// The slow way, on a kernel without `MADV_WIPEONFORK`: kept with the pid
/// it was for, and checked against `getpid` each time.
fn checked_by_pid() -> Holder {
    static KEPT: AtomicU64 = AtomicU64::new(0);
    let pid = std::process::id();
    let kept = Holder(KEPT.load(Relaxed));
    if kept.pid() == pid {
        return kept;
    }
    let me = look_up(pid);
    KEPT.store(me.0, Relaxed);
    me
}

/// Process `pid` (this one) as a holder, from `/proc`.
fn look_up(pid: u32) -> Holder {
    let start = stat(pid).map_or(0, |(_, start)| start);
    Holder(u64::from(pid) | (start & 0xffff_ffff) << 32)
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

/// A holder no process can be: its pid is above any `pid_max` (2^22).
#[cfg(test)]
pub(crate) const DEAD: Holder = Holder(1 << 23);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_alive_and_a_made_up_one_is_not() {
        assert_eq!(me().pid(), std::process::id());
        assert!(me().is_alive());
        assert!(!DEAD.is_alive());
        // The same pid with another start time: a newer process, not us.
        assert!(!Holder(me().0 ^ (1 << 32)).is_alive());
    }

    #[test]
    fn the_answer_is_kept() {
        assert_eq!(me(), me());
        assert_eq!(me(), look_up(std::process::id()));
    }
}
