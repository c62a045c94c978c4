//! The report in the formats classroom tools read.
//!
//! - [`classroom`]: GitHub Classroom's autograding result, version 1: an
//!   overall status, `max_score`, and one entry per test with its own
//!   `score`, as its grading reporter reads them.
//! - [`exercism`]: Exercism's `results.json`, version 3: one test per check,
//!   each tied to its exercise as a task.
//!
//! A test is one check of one run, named `id: command / check`.

use serde::Serialize;

use crate::report::{Check, ExerciseReport, Report};

/// A test's name: which exercise, which run, which check.
fn test_name(exercise: &ExerciseReport, command: &str, check: &Check) -> String {
    format!("{}: {command} / {}", exercise.id, check.name)
}

/// A failure in one paragraph: the problem, expected, got, hint.
fn failure_message(check: &Check) -> Option<String> {
    check.failure.as_ref().map(|f| {
        format!(
            "{}\nexpected:\n{}\ngot:\n{}\nhint: {}",
            f.problem, f.expected, f.got, f.hint
        )
    })
}

fn status(passed: bool) -> &'static str {
    if passed { "pass" } else { "fail" }
}

/// GitHub Classroom's autograding result.
#[derive(Debug, Serialize)]
pub struct Classroom {
    version: u32,
    status: &'static str,
    max_score: u32,
    tests: Vec<ClassroomTest>,
}

#[derive(Debug, Serialize)]
struct ClassroomTest {
    name: String,
    status: &'static str,
    message: Option<String>,
    test_code: String,
    score: f64,
    max_score: f64,
}

/// The report as GitHub Classroom's autograding result, version 1. Each
/// exercise's points are shared equally among its checks.
pub fn classroom(report: &Report) -> Classroom {
    let mut tests = Vec::new();
    for exercise in &report.exercises {
        let checks = exercise
            .runs
            .iter()
            .map(|r| r.checks.len())
            .sum::<usize>()
            .max(1);
        let share = f64::from(exercise.points) / checks as f64;
        for run in &exercise.runs {
            for check in &run.checks {
                let passed = check.failure.is_none();
                tests.push(ClassroomTest {
                    name: test_name(exercise, &run.command, check),
                    status: status(passed),
                    message: failure_message(check),
                    test_code: run.command.clone(),
                    score: if passed { share } else { 0.0 },
                    max_score: share,
                });
            }
        }
    }
    Classroom {
        version: 1,
        status: status(report.passed()),
        max_score: report.score().1,
        tests,
    }
}

/// Exercism's `results.json`.
#[derive(Debug, Serialize)]
pub struct Exercism {
    version: u32,
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<String>,
    tests: Vec<ExercismTest>,
}

#[derive(Debug, Serialize)]
struct ExercismTest {
    name: String,
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<String>,
    test_code: String,
    task_id: usize,
}

/// The report as Exercism's `results.json`, version 3; exercise `n` (in
/// registry order, from 1) is task `n`.
pub fn exercism(report: &Report) -> Exercism {
    let mut tests = Vec::new();
    for (task, exercise) in report.exercises.iter().enumerate() {
        for run in &exercise.runs {
            for check in &run.checks {
                tests.push(ExercismTest {
                    name: test_name(exercise, &run.command, check),
                    status: status(check.failure.is_none()),
                    message: failure_message(check),
                    test_code: run.command.clone(),
                    task_id: task + 1,
                });
            }
        }
    }
    Exercism {
        version: 3,
        status: status(report.passed()),
        message: None,
        tests,
    }
}

/// Exercism's `results.json` for a submission that could not be graded at
/// all (not a workspace, say): status `error` and the reason.
pub fn exercism_error(message: &str) -> Exercism {
    Exercism {
        version: 3,
        status: "error",
        message: Some(message.to_owned()),
        tests: Vec::new(),
    }
}
