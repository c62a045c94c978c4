//! Grading a whole class: several submissions (each a student's copy of the
//! workspace), some at the same time, and a score summary of them all.
//!
//! Each submission is built from its exercises' sources against the
//! instructor's workspace ([`submission`](crate::submission)), or whole with
//! `--whole`, and graded as [`grade`](crate::grade) grades one; an exercise that does not compile
//! scores 0 with the compiler's first error while the others are graded, a
//! submission where nothing could be built gets the verdict `build failed`,
//! and one that
//! cannot be graded at all (no `Cargo.toml`) gets `error`, so that one bad
//! submission never stops the others. Running several at once is safe: each
//! run has its own process group and check-in socket, and the evidence is
//! rendezvous, not timing, so a busy machine changes no verdict.
//!
//! ```no_run
//! use std::path::{Path, PathBuf};
//! let class = [PathBuf::from("alice"), PathBuf::from("bob")];
//! let instructor = grader::submission::Instructor::prepare(Path::new("."))?;
//! let methods = [grader::StartMethod::Fork];
//! let graded = grader::batch::grade_all(&class, &[], &methods, 2, Some(&instructor), &|_| {})?;
//! let mut book = grader::batch::Gradebook::open(Path::new("marks"))?;
//! for submission in &graded {
//!     book.record(submission);
//! }
//! book.save()?;
//! # Ok::<(), grader::Error>(())
//! ```

use std::collections::BTreeSet;
use std::fmt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};

use serde::{Deserialize, Serialize};

mod files;
mod gradebook;

pub use files::{Formats, create_dir, write_json, write_platform_files, write_report};
pub use gradebook::{ExerciseMarks, Gradebook, Row};

use crate::error::Error;
use crate::report::{CheckKind, Report, RunReport};
use common::StartMethod;

/// One submission and how its grading went.
#[derive(Debug)]
pub struct Submission {
    /// A name for it, unique in the batch: its directory's name.
    pub name: String,
    /// Its directory.
    pub path: PathBuf,
    /// The points it could earn.
    pub possible: u32,
    /// Its report, or why it could not be graded.
    pub outcome: Result<Report, String>,
    /// How long building and grading it took.
    pub took: std::time::Duration,
}

/// How a submission's grading went, in a word.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Verdict {
    /// Every check passed.
    #[serde(rename = "pass")]
    Pass,
    /// Some check failed.
    #[serde(rename = "fail")]
    Fail,
    /// Nothing could be built, so nothing ran.
    #[serde(rename = "build failed")]
    BuildFailed,
    /// It could not be graded at all.
    #[serde(rename = "error")]
    Error,
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Verdict::Pass => "pass",
            Verdict::Fail => "fail",
            Verdict::BuildFailed => "build failed",
            Verdict::Error => "error",
        })
    }
}

impl Submission {
    /// Its verdict.
    pub fn verdict(&self) -> Verdict {
        match &self.outcome {
            Err(_) => Verdict::Error,
            Ok(report) if report.passed() => Verdict::Pass,
            Ok(report) if report.exercises.iter().all(|e| unbuilt(&e.runs)) => Verdict::BuildFailed,
            Ok(_) => Verdict::Fail,
        }
    }

    /// Points earned.
    pub fn score(&self) -> u32 {
        self.outcome.as_ref().map_or(0, |report| report.score().0)
    }

    /// The first thing wrong, in one line: a failed check, or the error.
    pub fn detail(&self) -> String {
        let report = match &self.outcome {
            Err(error) => return error.clone(),
            Ok(report) => report,
        };
        let whole = self.verdict() == Verdict::BuildFailed;
        let first = report.exercises.iter().find_map(|exercise| {
            exercise.runs.iter().find_map(|run| {
                run.checks.iter().find_map(|check| {
                    check.failure.as_ref().map(|f| {
                        let got = f.got.lines().next().unwrap_or_default();
                        match check.kind {
                            CheckKind::Build if whole => format!("{}: {got}", f.problem),
                            CheckKind::Build => format!("{}: {}: {got}", exercise.id, f.problem),
                            kind => format!("{}: {kind}: {}", exercise.id, f.problem),
                        }
                    })
                })
            })
        });
        first.unwrap_or_default()
    }

    /// How many checks failed.
    pub fn failed_checks(&self) -> usize {
        self.outcome.as_ref().map_or(0, |report| {
            report
                .exercises
                .iter()
                .flat_map(|e| &e.runs)
                .flat_map(|r| &r.checks)
                .filter(|c| c.failure.is_some())
                .count()
        })
    }
}

fn unbuilt(runs: &[RunReport]) -> bool {
    matches!(runs, [run] if run.failure("build").is_some())
}

/// Grades each submission directory in `paths` (the exercises in `only`, or
/// all, under each of `methods`), `jobs` at a time; calls `done` as each one
/// finishes. The result is in the order of `paths`.
pub fn grade_all(
    paths: &[PathBuf],
    only: &[String],
    methods: &[StartMethod],
    jobs: usize,
    instructor: Option<&crate::submission::Instructor>,
    done: &(dyn Fn(&Submission) + Sync),
) -> Result<Vec<Submission>, Error> {
    let possible = crate::exercises::chosen(only)?
        .iter()
        .map(|e| e.points)
        .sum();
    let names = names(paths);
    let next = AtomicUsize::new(0);
    let graded: Mutex<Vec<Option<Submission>>> =
        Mutex::new(std::iter::repeat_with(|| None).take(paths.len()).collect());
    std::thread::scope(|scope| {
        for _ in 0..jobs.clamp(1, paths.len().max(1)) {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(path) = paths.get(i) else { break };
                    let started = std::time::Instant::now();
                    let outcome = crate::submission::grade_as(
                        path,
                        only,
                        methods,
                        &crate::submission::Source::of(path, instructor),
                    )
                    .map_err(|e| e.to_string());
                    let submission = Submission {
                        name: names[i].clone(),
                        path: path.clone(),
                        possible,
                        outcome,
                        took: started.elapsed(),
                    };
                    done(&submission);
                    graded.lock().unwrap_or_else(PoisonError::into_inner)[i] = Some(submission);
                }
            });
        }
    });
    Ok(graded
        .into_inner()
        .unwrap_or_else(PoisonError::into_inner)
        .into_iter()
        .flatten()
        .collect())
}

/// A name for each path, unique among them: the directory's own name, with
/// `-2`, `-3`... added to repeats.
fn names(paths: &[PathBuf]) -> Vec<String> {
    let mut taken = BTreeSet::new();
    paths
        .iter()
        .map(|path| {
            let base = std::path::absolute(path)
                .ok()
                .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
                .unwrap_or_else(|| "submission".to_owned());
            let mut name = base.clone();
            let mut n = 1;
            while !taken.insert(name.clone()) {
                n += 1;
                name = format!("{base}-{n}");
            }
            name
        })
        .collect()
}

/// The submissions as a table: name, points, verdict, first thing wrong.
pub struct Table<'a>(pub &'a [Submission]);

impl fmt::Display for Table<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let width = self
            .0
            .iter()
            .map(|s| s.name.len())
            .max()
            .unwrap_or(0)
            .max(10);
        writeln!(
            f,
            "{:<width$} {:>7}  {:<12}  first problem",
            "submission", "points", "verdict"
        )?;
        for s in self.0 {
            let points = format!("{}/{}", s.score(), s.possible);
            writeln!(
                f,
                "{:<width$} {points:>7}  {:<12}  {}",
                s.name,
                s.verdict(),
                s.detail()
            )?;
        }
        let passed = self
            .0
            .iter()
            .filter(|s| s.verdict() == Verdict::Pass)
            .count();
        writeln!(f, "{passed} of {} passed every check", self.0.len())
    }
}
