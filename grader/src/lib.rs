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
//! - **exit status**: exit code 0 within the run's timeout (kept by a clock
//!   of its own, from the sandbox's launch: every wait of the grader ends
//!   by the timeout plus 0.9 s, whatever the program does, and judging
//!   takes tens of milliseconds);
//! - **output**: the expected lines, as a set where processes race, with the
//!   main process's final lines last and in order, written after the
//!   children ended (and were joined, where the run asks for it), each
//!   written whole (by the kernel's record of the write) by the process
//!   meant to print it, and every byte read from stdout accounted for by
//!   such a write;
//! - **processes**: the expected number of child processes checked in, each
//!   with a distinct pid (from `SO_PEERCRED`) whose parent (from `/proc`) is
//!   the main process the grader started, each one the kernel reported the
//!   run creating (`ptrace`), and none sharing the main process's memory;
//! - **concurrency**, where asked: all of them alive at the same time, shown
//!   by holding each at a rendezvous and seeing them all waiting there at
//!   one moment, rather than by timing;
//! - **nothing left behind**: no process of the run outlives the main
//!   process (a process is running while any of its threads is).
//!
//! # The engine
//!
//! A workspace is built with cargo ([`build`]), so a stale binary is never
//! graded; a student's submission is compiled from its exercises' sources
//! against the instructor's build ([`Instructor`]). Each run is then
//! observed ([`observe`](mod@observe): in a sandbox of its own, traced by
//! `ptrace`, its processes held at a rendezvous), judged into checks
//! ([`judge()`]), and reported ([`Report`], with [`points`](mod@points):
//! every check worth its exact share). [`grade()`],
//! [`grade_as`], [`grade_exercise`] and [`grade_run`] are the entry points,
//! from a whole workspace down to one run of one binary.
//!
//! # The sandbox
//!
//! Every run, and every compile of a student's exercise, has a sandbox of
//! its own, as root or as an ordinary user (a user namespace first): PID,
//! mount, network, IPC, UTS and cgroup namespaces, a new root, an
//! unprivileged uid, a seccomp filter, caps by [`cgroup`] or rlimits.
//! [`Layers`] says what one had; [`observe::probe`] what a run has here;
//! [`SandboxPolicy`] what must be had before anything is graded.
//!
//! # A class, and the platforms
//!
//! [`batch`](mod@batch) grades several submissions at once into a
//! gradebook; [`formats`](mod@formats) writes what GitHub Classroom,
//! Gradescope and Exercism read, from the report as students may see it
//! ([`redact`](mod@redact): hidden runs told without detail).
//!
//! # Authoring
//!
//! [`author`](mod@author) makes things for people, apart from the engine:
//! a new exercise, the students' handout, the grading kit the platforms
//! grade with, Gradescope's autograder, and the student's `watch` loop.
//!
//! # The command line
//!
//! The `grader` binary's `cli` module parses arguments and calls these; it
//! holds no grading of its own.
//!
//! # Settings
//!
//! The grader reads a few environment variables: [`PTRACE_ENV`] and
//! [`SANDBOX_ENV`] turn tracing and the namespaces off, [`MEMORY_ENV`] and
//! [`BUILD_MEMORY_ENV`] set the memory caps of a run and of a build, and
//! [`BUILD_TIMEOUT_ENV`] bounds a build.

pub mod author;
pub mod batch;
mod cargo;
mod ending;
mod error;
mod escape;
pub mod exercises;
pub mod expect;
pub mod formats;
mod grade;
mod judge;
pub mod observe;
pub mod points;
pub mod procfs;
pub mod redact;
mod report;
#[expect(
    unsafe_code,
    reason = "clone, mount, seccomp: the OS boundary of a run"
)]
mod sandbox;
mod submission;
#[expect(unsafe_code, reason = "ptrace: the OS boundary of a run's evidence")]
mod trace;
mod workspace;

pub use common::StartMethod;

pub use cargo::{BUILD_TIMEOUT_ENV, Binaries, build};
pub use error::Error;
pub use exercises::{EXERCISES, Exercise};
pub use expect::{Fact, Order, Parsed, Role, Run};
pub use grade::{executable, grade, grade_exercise, grade_exercise_with, grade_run};
pub use judge::judge;
pub use points::Points;
pub use report::{
    Allotted, Check, CheckKind, CheckRow, ExerciseReport, Failure, Report, RunReport,
};
pub use sandbox::cgroup;
pub use sandbox::{
    BUILD_MEMORY_ENV, BuildReport, Cap, Identity, Layers, MEMORY_ENV, Policy as SandboxPolicy,
    SANDBOX_ENV, probe_build,
};
pub use submission::{Changed, Instructor, Source, grade_as};
pub use trace::PTRACE_ENV;
pub use workspace::{instructor_workspace, is_own_workspace};
