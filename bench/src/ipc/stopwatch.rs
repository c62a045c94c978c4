//! A workload's clock: the wall time it took, and the CPU time the
//! parent process (every thread of it, not its children) spent meanwhile.
//! Where the parent's own share of the work is most of it (`map_strings`
//! decodes every result), its CPU time is a floor under its wall time
//! that no overlap with the children can lower.

use std::time::{Duration, Instant};

use nix::time::{ClockId, clock_gettime};

/// Started at the beginning of a workload's timed part.
pub(super) struct Stopwatch {
    wall: Instant,
    cpu: Duration,
}

/// What a [`Stopwatch`] read at the end, in seconds.
pub(super) struct Lap {
    pub(super) seconds: f64,
    pub(super) parent_cpu: f64,
}

impl Stopwatch {
    pub(super) fn start() -> Stopwatch {
        Stopwatch {
            wall: Instant::now(),
            cpu: process_cpu(),
        }
    }

    pub(super) fn lap(&self) -> Lap {
        Lap {
            seconds: self.wall.elapsed().as_secs_f64(),
            parent_cpu: process_cpu().saturating_sub(self.cpu).as_secs_f64(),
        }
    }
}

/// This process's CPU time so far (zero if the clock cannot be read, which
/// Linux never refuses).
fn process_cpu() -> Duration {
    clock_gettime(ClockId::CLOCK_PROCESS_CPUTIME_ID).map_or(Duration::ZERO, Duration::from)
}
