//! Grades the exercises by running their binaries and watching, through the
//! kernel, what they do.
//!
//! ```no_run
//! let report = grader::grade(std::path::Path::new("."), &[], &[grader::StartMethod::Fork])?;
//! print!("{report}");
//! assert!(report.passed());
//! # Ok::<(), grader::Error>(())
//! ```
//!
//! # What is checked
//!
//! Each exercise in the registry ([`EXERCISES`]) has runs: arguments and what
//! a correct program does with them. For each run the grader checks:
//!
//! - **exit status**: exit code 0 within the run's timeout;
//! - **output**: the expected lines, as a set where processes race, with the
//!   main process's final lines last and in order;
//! - **processes**: the expected number of child processes checked in, each
//!   with a distinct pid (from `SO_PEERCRED`) whose parent (from `/proc`) is
//!   the main process the grader started, and each one the kernel reported
//!   the run creating ([`trace`](mod@trace), `ptrace`);
//! - **concurrency**, where asked: all of them alive at the same time, shown
//!   by holding each at a rendezvous rather than by timing;
//! - **nothing left behind**: no process of the run's group outlives the
//!   main process.
//!
//! [`observe`](mod@observe) tells how the evidence is gathered, and
//! [`batch`](mod@batch) how a whole class is graded at once.
//!
//! # Building
//!
//! [`build`] compiles the workspace's binaries through cargo before grading,
//! so a stale binary is never graded (see [`cargo`](mod@cargo)).

pub mod author;
pub mod batch;
pub mod cargo;
mod ending;
mod error;
mod escape;
pub mod exercises;
pub mod formats;
mod grade;
mod judge;
pub mod observe;
pub mod procfs;
mod report;
#[expect(
    unsafe_code,
    reason = "clone, mount, seccomp: the OS boundary of a run"
)]
pub mod sandbox;
pub mod submission;
#[expect(unsafe_code, reason = "ptrace: the OS boundary of a run's evidence")]
pub mod trace;
mod workspace;

pub use common::StartMethod;

pub use cargo::{Binaries, build};
pub use error::Error;
pub use exercises::{EXERCISES, Exercise, Run};
pub use grade::{executable, grade, grade_exercise, grade_exercise_with, grade_run};
pub use judge::judge;
pub use report::{
    Allotted, Check, CheckKind, CheckRow, ExerciseReport, Failure, Report, RunReport,
};
pub use submission::{Instructor, Source, grade_as};
pub use workspace::{instructor_workspace, is_own_workspace};
