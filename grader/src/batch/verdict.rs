//! One submission of a class and how its grading went: its verdict,
//! score and first problem.

use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::points::Points;
use crate::report::{CheckKind, Report, RunReport};

/// The most bytes of a submission's first problem a gradebook cell (or
/// the class's table) holds.
pub const DETAIL_CAP: usize = 1 << 10;

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
    pub fn score(&self) -> Points {
        self.outcome
            .as_ref()
            .map_or(Points::ZERO, |report| report.score().0)
    }

    /// The first thing wrong, in one line of at most 1 KiB (`DETAIL_CAP`)
    /// (with a note of how much was cut), control characters escaped, as
    /// the report says it: the `todo!` an exercise reached, a failed check,
    /// or the error.
    pub fn detail(&self) -> String {
        let detail = crate::escape::control_chars(&self.first_problem());
        crate::escape::capped(&detail, DETAIL_CAP).replace('\n', " ")
    }

    /// The first thing wrong: the `todo!` an exercise reached, a failed
    /// check, or the error.
    fn first_problem(&self) -> String {
        let report = match &self.outcome {
            Err(error) => return error.clone(),
            Ok(report) => report,
        };
        let whole = self.verdict() == Verdict::BuildFailed;
        let first = report.exercises.iter().find_map(|exercise| {
            // As the report's table says it: a run that reached a
            // placeholder failed every check because it was not started.
            if let Some(todo) = exercise.not_started() {
                let todo = todo.lines().next().unwrap_or_default();
                return Some(format!("{}: TODO {todo}", exercise.id));
            }
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
