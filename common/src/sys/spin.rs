//! Spinning before sleeping: a process waiting for another to answer, to
//! let go of a lock or to fill a queue looks again and again for a short
//! while before it sleeps, because on a virtual machine sleeping costs far
//! more than the wait itself when the CPU goes idle meanwhile.
//!
//! # Why
//!
//! The hypervisor halts an idle virtual CPU, and waking a process there
//! takes tens of microseconds: a request and its answer between two
//! processes on two virtual CPUs took 30-47 us with both sleeping in
//! `read`, against 4-5 us with both looking again and again. Which of the
//! two a run got depended on where the scheduler put the processes, and
//! on whether other work kept the CPUs awake: rounds of a pipe or manager
//! workload swung by 5x-10x.
//!
//! # How
//!
//! Between looks a spinner calls `sched_yield` rather than looping: the
//! process it waits for may be waiting for this very CPU (sharing it, or
//! preempted while holding a lock), and yielding lets it run at once,
//! where busy looping would keep it out for the whole spin; with nothing
//! else to run, `sched_yield` returns at once and the CPU stays awake. A
//! spin lasts at most [`SPIN`].
//!
//! On a machine busy with other work, a yield may hand the CPU to that
//! work for a while, and the spinner is not woken ahead of it as a
//! sleeper would be when its answer comes. Ending the spin at the first
//! slow yield (and not spinning for a while after) was tried: on two
//! loaded virtual CPUs it changed round trips and the pipe and manager
//! workloads by nothing measurable, and slowed a queue's (14 ms against
//! 18-27 ms), whose waits then slept and woke for each value.

use std::time::{Duration, Instant};

/// How long a spin lasts at most: about what waking a process on an idle
/// virtual CPU costs.
pub(crate) const SPIN: Duration = Duration::from_micros(50);

/// A spin under way: see the module docs.
pub(crate) struct Spin {
    /// When it ends.
    until: Instant,
    /// Whether it has ended.
    over: bool,
}

impl Spin {
    /// A spin from now, ending after [`SPIN`] or at `deadline`, whichever
    /// comes first.
    pub(crate) fn new(deadline: Option<Instant>) -> Spin {
        let now = Instant::now();
        let spun = now + SPIN;
        let until = deadline.map_or(spun, |deadline| deadline.min(spun));
        Spin {
            until,
            over: now >= until,
        }
    }

    /// Pauses once (a `sched_yield`); `false` when the spin is over and the
    /// caller should sleep.
    pub(crate) fn pause(&mut self) -> bool {
        if self.over {
            return false;
        }
        // SAFETY: sched_yield takes nothing and touches no memory.
        unsafe { libc::sched_yield() };
        // One look at the clock a pause (the caller's look between pauses
        // is a system call; the clock, though cheap, was read twice).
        self.over = Instant::now() >= self.until;
        !self.over
    }
}

/// Spins while `busy` holds (see [`Spin`]), before a caller sleeps;
/// whether it stopped holding.
pub(crate) fn spin_while(mut busy: impl FnMut() -> bool) -> bool {
    let mut spin = Spin::new(None);
    loop {
        if !busy() {
            return true;
        }
        if !spin.pause() {
            return !busy();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spin_ends_by_its_length_or_its_deadline() {
        let start = Instant::now();
        let mut spin = Spin::new(None);
        while spin.pause() {}
        assert!(start.elapsed() >= SPIN);
        let mut spin = Spin::new(Some(Instant::now()));
        assert!(!spin.pause(), "a deadline already past leaves no spin");
        assert!(spin_while(|| false));
        assert!(!spin_while(|| true));
    }
}
