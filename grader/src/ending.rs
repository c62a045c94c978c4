//! How a process ended: by the kernel's report, or stopped by the grader.

use std::time::Duration;

/// How a process ended, or a run: the one type for it in the grader. The
/// tracer reports its processes as `Exited` or `Signaled`; a run may also
/// have been stopped by the grader, at its timeout or its process limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// The main process exited with this code.
    Exited(i32),
    /// The main process was killed by this signal.
    Signaled(i32),
    /// The run outlived its timeout and its processes were killed.
    TimedOut(Duration),
    /// The run tried to create more than this many processes and was
    /// killed.
    TooManyProcesses(usize),
}
