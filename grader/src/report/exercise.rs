//! The grade of one exercise: its runs, each check's share of its points,
//! and the rows of the report's table.

use crate::exercises::Exercise;
use crate::points::{self, Points};

use super::{Check, CheckKind, Failure, RunReport};

/// The problem of an exercise a submission does not have.
pub const NOT_FOUND: &str = "not found in the submission";

/// The grade of one exercise: its runs and its score.
#[derive(Debug, Clone)]
pub struct ExerciseReport {
    /// The exercise's id.
    pub id: &'static str,
    /// Its package.
    pub package: &'static str,
    /// Which question of which seed document it ports.
    pub ports: &'static str,
    /// The points it is worth.
    pub points: u32,
    /// Each run's checks.
    pub runs: Vec<RunReport>,
    /// How many checks this copy of the grader does not have: they are
    /// hidden from students and run when the instructor grades.
    pub withheld: usize,
}

impl ExerciseReport {
    /// The report of an exercise that could not be run because it was not
    /// built: one failed `build` check, `why` as its problem and `error`
    /// (the compiler's first error) as what was got.
    pub fn unbuilt(exercise: &'static Exercise, why: &str, error: &str) -> ExerciseReport {
        let failure = Failure {
            problem: why.to_owned(),
            expected: format!("cargo build builds the binary {}", exercise.package),
            got: error.to_owned(),
            hint: "run `cargo build` in the submission and fix the first error it shows".to_owned(),
        };
        ExerciseReport {
            id: exercise.id,
            package: exercise.package,
            ports: exercise.ports,
            points: exercise.points,
            runs: vec![RunReport {
                exercise: exercise.id,
                command: "cargo build".to_owned(),
                checks: vec![Check::fail(CheckKind::Build, failure)],
                notes: Vec::new(),
                not_started: None,
                hidden: false,
            }],
            withheld: 0,
        }
    }

    /// The report of an exercise a submission does not have: one failed
    /// `build` check, "not found in the submission" as its problem, where it was looked for
    /// as what was got, and the layouts `accepted` as what was expected.
    /// It scores 0, as one not started does.
    pub fn not_found(
        exercise: &'static Exercise,
        looked_for: &str,
        accepted: &str,
    ) -> ExerciseReport {
        let mut report = ExerciseReport::unbuilt(exercise, NOT_FOUND, looked_for);
        for run in &mut report.runs {
            run.command = "find the sources".to_owned();
        }
        for failure in report
            .runs
            .iter_mut()
            .flat_map(|r| &mut r.checks)
            .filter_map(|c| c.failure.as_mut())
        {
            failure.expected = accepted.to_owned();
            failure.hint = format!(
                "hand in {}'s src/main.rs in one of these layouts",
                exercise.package
            );
        }
        report
    }

    /// Whether this is the report of an exercise the submission does not
    /// have.
    pub fn is_not_found(&self) -> bool {
        matches!(self.runs.as_slice(), [run] if run.failure(CheckKind::Build.name()).is_some_and(|f| f.problem == NOT_FOUND))
    }

    /// Every check of every run, in order, with whether it passed and the
    /// points it is worth: the exercise's points shared equally among its
    /// checks, hidden ones included, as [`points::share`] says, so that
    /// every check is worth something and they add up to exactly the
    /// exercise's points.
    pub fn allotted(&self) -> Vec<Allotted<'_>> {
        let checks: Vec<(&RunReport, &Check)> = self
            .runs
            .iter()
            .flat_map(|run| run.checks.iter().map(move |check| (run, check)))
            .collect();
        let shares = points::share(self.points, checks.len());
        checks
            .into_iter()
            .zip(shares)
            .map(|((run, check), points)| Allotted {
                run,
                check,
                passed: run.check_passed(check),
                points,
            })
            .collect()
    }

    /// Points earned: the points of the checks that passed, so that full
    /// marks need every check.
    pub fn score(&self) -> Points {
        self.allotted()
            .iter()
            .filter(|a| a.passed)
            .map(|a| a.points)
            .sum()
    }

    /// Whether every check of every run passed.
    pub fn passed(&self) -> bool {
        self.runs.iter().all(RunReport::passed)
    }

    /// The first run that reached a `todo!` placeholder, if any.
    pub fn not_started(&self) -> Option<&str> {
        self.runs.iter().find_map(|r| r.not_started.as_deref())
    }
}

/// One check with its share of its exercise's points.
#[derive(Debug, Clone, Copy)]
pub struct Allotted<'a> {
    /// The run it belongs to.
    pub run: &'a RunReport,
    /// The check.
    pub check: &'a Check,
    /// Whether it passed (not when its run reached a placeholder).
    pub passed: bool,
    /// The points it is worth.
    pub points: Points,
}

impl ExerciseReport {
    /// Each check by name, over every run: the points it is worth, the points
    /// earned, and whether it passed in every run.
    pub fn checks(&self) -> Vec<CheckRow> {
        let mut rows: Vec<CheckRow> = Vec::new();
        for allotted in self.allotted() {
            let earned = if allotted.passed {
                allotted.points
            } else {
                Points::ZERO
            };
            match rows.iter_mut().find(|r| r.kind == allotted.check.kind) {
                Some(row) => {
                    row.possible += allotted.points;
                    row.earned += earned;
                    row.passed &= allotted.passed;
                }
                None => rows.push(CheckRow {
                    kind: allotted.check.kind,
                    possible: allotted.points,
                    earned,
                    passed: allotted.passed,
                }),
            }
        }
        rows
    }
}

/// One row of the report's table: a check over every run of an exercise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckRow {
    /// The check.
    pub kind: CheckKind,
    /// The points it is worth over every run.
    pub possible: Points,
    /// The points earned.
    pub earned: Points,
    /// Whether it passed in every run.
    pub passed: bool,
}
