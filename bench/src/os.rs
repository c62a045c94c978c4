//! The floor the benchmark measures against: a raw `fork`, below `common`.

use std::time::{Duration, Instant};

/// Forks a child that exits at once, and reaps it; how long that took.
pub fn raw_fork_join() -> Duration {
    let start = Instant::now();
    // SAFETY: the benchmark is single-threaded here (the grading section,
    // which starts threads, comes last), and the child only calls _exit.
    match unsafe { nix::unistd::fork() }.expect("fork") {
        nix::unistd::ForkResult::Child => {
            // SAFETY: ends the child at once, running nothing of the parent's.
            unsafe { libc::_exit(0) }
        }
        nix::unistd::ForkResult::Parent { child } => {
            nix::sys::wait::waitpid(child, None).expect("waitpid");
        }
    }
    start.elapsed()
}
