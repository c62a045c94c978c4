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

use std::path::Path;

pub use common::StartMethod;

pub use cargo::{Binaries, build};
pub use error::Error;
pub use exercises::{EXERCISES, Exercise, Run};
pub use judge::judge;
pub use report::{
    Allotted, Check, CheckKind, CheckRow, ExerciseReport, Failure, Report, RunReport,
};

/// Runs `binary` as `run` of `exercise` and judges it.
pub fn grade_run(
    exercise: &'static Exercise,
    run: &Run,
    binary: &Path,
) -> Result<RunReport, Error> {
    let seen = observe::observe(binary, run)?;
    Ok(judge(exercise, run, &seen))
}

/// Runs every run of `exercise` with `binary`, under the start method
/// `COMMON_START_METHOD` names (fork by default).
pub fn grade_exercise(exercise: &'static Exercise, binary: &Path) -> Result<ExerciseReport, Error> {
    let method = common::get_start_method().map_err(|e| Error::StartMethod(e.to_string()))?;
    grade_exercise_with(exercise, binary, &[method])
}

/// Runs every run of `exercise` with `binary` under each of `methods`.
pub fn grade_exercise_with(
    exercise: &'static Exercise,
    binary: &Path,
    methods: &[StartMethod],
) -> Result<ExerciseReport, Error> {
    let mut runs = Vec::new();
    for &method in methods {
        for mut run in (exercise.runs)() {
            run.start_method = method;
            runs.push(grade_run(exercise, &run, binary)?);
        }
    }
    Ok(ExerciseReport {
        id: exercise.id,
        package: exercise.package,
        ports: exercise.ports,
        points: exercise.points,
        runs,
        withheld: exercises::withheld(exercise.id),
    })
}

/// Builds the workspace at `workspace` and grades the exercises named in
/// `only` (ids or packages), or all of them when `only` is empty, under each
/// of `methods`.
///
/// A workspace that does not build, or lacks an exercise's package, is
/// graded, not refused: each exercise concerned gets a failed `build` check
/// whose `got` is the compiler's first error (its own, when it is the
/// exercise that does not compile); the others are graded as usual.
pub fn grade(workspace: &Path, only: &[String], methods: &[StartMethod]) -> Result<Report, Error> {
    let chosen = choose(only)?;
    if !workspace.join("Cargo.toml").is_file() {
        return Err(Error::NotAWorkspace(workspace.display().to_string()));
    }
    let binaries = match build(workspace) {
        Ok(binaries) => binaries,
        Err(Error::Build { first_error, .. }) => {
            let exercises = chosen
                .into_iter()
                .map(|exercise| {
                    ExerciseReport::unbuilt(exercise, "the workspace did not build", &first_error)
                })
                .collect();
            return Ok(Report {
                exercises,
                unused: Vec::new(),
            });
        }
        Err(error) => return Err(error),
    };
    let exercises = chosen
        .into_iter()
        .map(|exercise| match binaries.get(exercise.package) {
            Ok(binary) => grade_exercise_with(exercise, binary, methods),
            Err(missing) => Ok(match binaries.compile_error(exercise.package) {
                Some((true, error)) => {
                    ExerciseReport::unbuilt(exercise, "the exercise did not compile", error)
                }
                Some((false, error)) => {
                    ExerciseReport::unbuilt(exercise, "the workspace did not build", error)
                }
                None => ExerciseReport::unbuilt(
                    exercise,
                    "the exercise's binary was not built",
                    &missing.to_string(),
                ),
            }),
        })
        .collect::<Result<_, _>>()?;
    Ok(Report {
        exercises,
        unused: Vec::new(),
    })
}

/// The executable `--binary` names, as a path: a bare name is a file in
/// the current directory, never a command looked up on `PATH`. Refused with
/// the operating system's reason when it is not an executable file.
pub fn executable(path: &Path) -> Result<std::path::PathBuf, Error> {
    use std::os::unix::fs::PermissionsExt;
    let refuse = |source| Error::NotExecutable {
        path: path.display().to_string(),
        source,
    };
    let path = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir().map_err(refuse)?.join(path)
    };
    let meta = std::fs::metadata(&path).map_err(refuse)?;
    if !meta.is_file() {
        return Err(refuse(std::io::Error::other("not a regular file")));
    }
    if meta.permissions().mode() & 0o111 == 0 {
        return Err(refuse(std::io::Error::from(
            std::io::ErrorKind::PermissionDenied,
        )));
    }
    Ok(path)
}

/// How a path is graded.
#[derive(Debug)]
pub enum Source<'a> {
    /// The whole workspace, built with cargo as it is: the grader's own
    /// workspace, or any with `--whole`.
    Whole,
    /// Only the exercises' sources, built against the instructor's
    /// workspace ([`submission`]).
    Exercises(&'a submission::Instructor),
}

/// Grades the submission at `path` as `source` says.
pub fn grade_as(
    path: &Path,
    only: &[String],
    methods: &[StartMethod],
    source: &Source<'_>,
) -> Result<Report, Error> {
    match source {
        Source::Whole => grade(path, only, methods),
        Source::Exercises(instructor) => instructor.grade(path, only, methods),
    }
}

/// The exercises named in `only`, or all of them when it is empty.
fn choose(only: &[String]) -> Result<Vec<&'static Exercise>, Error> {
    if only.is_empty() {
        return Ok(EXERCISES.iter().collect());
    }
    only.iter()
        .map(|name| exercises::find(name).ok_or_else(|| Error::UnknownExercise(name.clone())))
        .collect()
}
