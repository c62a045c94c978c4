//! Grading: one run, one exercise, a workspace, or a submission, each
//! built, observed and judged. The entry points that the command line, the
//! batch and the tests drive.

use std::path::{Path, PathBuf};

use crate::cargo::build;
use crate::error::Error;
use crate::exercises::{self, Exercise, Run};
use crate::judge::judge;
use crate::observe;
use crate::report::{ExerciseReport, Report, RunReport};
use crate::sandbox::BuildReport;
use common::StartMethod;

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
    let chosen = exercises::chosen(only)?;
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
                built: Vec::new(),
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
        built: binaries.limits.iter().map(BuildReport::describe).collect(),
    })
}

/// The executable `--binary` names, as a path: a bare name is a file in
/// the current directory, never a command looked up on `PATH`. Refused with
/// the operating system's reason when it is not an executable file.
pub fn executable(path: &Path) -> Result<PathBuf, Error> {
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
