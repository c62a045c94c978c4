//! The report in the formats classroom platforms read.
//!
//! - [`classroom`]: GitHub Classroom's autograding result, version 1, as
//!   its command grader action produces it and its grading reporter reads
//!   it: an overall status, `max_score`, and one entry per test with a
//!   whole-number `score`, so that the reporter's sum is exact.
//!   [`github_output`] is the step output line (`result=<base64>`) the
//!   reporter takes from `<STEP>_RESULTS`.
//! - [`gradescope`]: Gradescope's `results.json` (its autograder
//!   specification): a test per check with `score`, `max_score`, `status`
//!   and `output`, hidden checks shown `after_published`;
//!   [`gradescope_error`] when nothing could be graded.
//! - [`exercism`]: Exercism's `results.json`, version 3: one test per
//!   check, each exercise a task numbered by its place in the registry;
//!   `status: error` with the compiler's first error when nothing built.
//!
//! A test is one check of one run, named `id: command / check`, and is worth
//! that check's whole-number share of its exercise's points.

use std::time::Duration;

use base64::Engine as _;
use serde::Serialize;

use crate::exercises;
use crate::report::{Allotted, ExerciseReport, Report};

/// A test's name: which exercise, which run, which check.
fn test_name(exercise: &ExerciseReport, allotted: &Allotted<'_>) -> String {
    format!(
        "{}: {} / {}",
        exercise.id, allotted.run.command, allotted.check.kind
    )
}

/// Why a test failed, in one paragraph: the problem, expected, got, hint;
/// or that its run reached a placeholder.
fn failure_message(allotted: &Allotted<'_>) -> Option<String> {
    if let Some(todo) = &allotted.run.not_started {
        return Some(format!("not started: {todo}"));
    }
    allotted.check.failure.as_ref().map(|f| {
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
    filename: String,
    line_no: u32,
    score: u32,
    max_score: u32,
}

/// The report as GitHub Classroom's autograding result, version 1. Each
/// test's `score` is a whole number and they add up to the points earned;
/// `max_score` is the points possible.
pub fn classroom(report: &Report) -> Classroom {
    let mut tests = Vec::new();
    for exercise in &report.exercises {
        for allotted in exercise.allotted() {
            tests.push(ClassroomTest {
                name: test_name(exercise, &allotted),
                status: status(allotted.passed),
                message: failure_message(&allotted),
                test_code: allotted.run.command.clone(),
                filename: String::new(),
                line_no: 0,
                score: if allotted.passed { allotted.points } else { 0 },
                max_score: allotted.points,
            });
        }
    }
    Classroom {
        version: 1,
        status: status(report.passed()),
        max_score: report.score().1,
        tests,
    }
}

/// The line a GitHub Actions step appends to `$GITHUB_OUTPUT` to set its
/// output `result`: the classroom result as base64 JSON, which Classroom's
/// grading reporter decodes from the variable `<STEP ID>_RESULTS`.
pub fn github_output(report: &Report) -> String {
    let json = serde_json::to_string(&classroom(report)).expect("plain data");
    format!(
        "result={}",
        base64::engine::general_purpose::STANDARD.encode(json)
    )
}

/// The step output line for a submission that could not be graded at all:
/// status `error`, which the reporter shows as such.
pub fn github_error_output() -> String {
    let json = serde_json::to_string(&Classroom {
        version: 1,
        status: "error",
        max_score: 0,
        tests: Vec::new(),
    })
    .expect("plain data");
    format!(
        "result={}",
        base64::engine::general_purpose::STANDARD.encode(json)
    )
}

/// Gradescope's `results.json`.
#[derive(Debug, Serialize)]
pub struct Gradescope {
    score: u32,
    execution_time: f64,
    output: String,
    visibility: &'static str,
    stdout_visibility: &'static str,
    tests: Vec<GradescopeTest>,
}

#[derive(Debug, Serialize)]
struct GradescopeTest {
    name: String,
    number: String,
    score: u32,
    max_score: u32,
    status: &'static str,
    output: String,
    visibility: &'static str,
}

/// The report as Gradescope's `results.json`: the total score, how long
/// grading took, the text report as `output`, and a test per check.
/// Checks of hidden runs are shown only once grades are published.
pub fn gradescope(report: &Report, took: Duration) -> Gradescope {
    let mut tests = Vec::new();
    for exercise in &report.exercises {
        for (n, allotted) in (1..).zip(exercise.allotted()) {
            tests.push(GradescopeTest {
                name: test_name(exercise, &allotted),
                number: format!("{}.{n}", exercise.id),
                score: if allotted.passed { allotted.points } else { 0 },
                max_score: allotted.points,
                status: if allotted.passed { "passed" } else { "failed" },
                output: failure_message(&allotted).unwrap_or_default(),
                visibility: if allotted.run.hidden {
                    "after_published"
                } else {
                    "visible"
                },
            });
        }
    }
    Gradescope {
        score: report.score().0,
        execution_time: (took.as_secs_f64() * 100.0).round() / 100.0,
        output: crate::escape::control_chars(&report.to_string()),
        visibility: "visible",
        stdout_visibility: "hidden",
        tests,
    }
}

/// Gradescope's `results.json` for a submission that could not be graded
/// at all: no points, and why, with its control characters escaped (the
/// JSON itself is serde_json's, so any text is safe in it).
pub fn gradescope_error(message: &str) -> Gradescope {
    Gradescope {
        score: 0,
        execution_time: 0.0,
        output: crate::escape::control_chars(message),
        visibility: "visible",
        stdout_visibility: "hidden",
        tests: Vec::new(),
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

/// The report as Exercism's `results.json`, version 3. Each exercise is
/// the task numbered by its place in the registry (q1 is task 1), whichever
/// exercises were graded. When nothing was built the status is `error`
/// with the compiler's first error, as the specification asks.
pub fn exercism(report: &Report) -> Exercism {
    if let Some(error) = report.build_failed() {
        return exercism_error(&error);
    }
    let mut tests = Vec::new();
    for exercise in &report.exercises {
        let task_id = exercises::position(exercise.id).unwrap_or(0);
        for allotted in exercise.allotted() {
            tests.push(ExercismTest {
                name: test_name(exercise, &allotted),
                status: status(allotted.passed),
                message: failure_message(&allotted),
                test_code: allotted.run.command.clone(),
                task_id,
            });
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
/// all (not a workspace, or nothing built): status `error` and the reason.
pub fn exercism_error(message: &str) -> Exercism {
    Exercism {
        version: 3,
        status: "error",
        message: Some(message.to_owned()),
        tests: Vec::new(),
    }
}
