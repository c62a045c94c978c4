//! The report in the formats classroom platforms read. Every one is made
//! from the report as students may see it ([`redact::for_students`]): a
//! hidden run is told only as "a hidden check failed", and no path of the
//! grading machine shows. Every check is a test worth its share of its
//! exercise's points ([`points`](crate::points)), so a platform's total is
//! the report's, exactly.
//!
//! - [`classroom`]: GitHub Classroom's autograding result, version 1, as
//!   its command grader action produces it: an overall status,
//!   `max_score`, and one entry per check. Classroom's grading reporter
//!   counts a runner's tests as equal (its console shows the share of
//!   tests passed times the runner's `max_score`) but records the sum of
//!   their `score`s; checks are not all worth the same, so the reporter is
//!   given one runner per check ([`github_env`]), on which the two agree.
//! - [`gradescope`]: Gradescope's `results.json` (its autograder
//!   specification): a test per check with `score`, `max_score`, `status`
//!   and `output`, hidden checks shown `after_published`;
//!   [`gradescope_error`] when nothing could be graded.
//! - [`exercism`]: Exercism's `results.json`, version 3: one test per
//!   check, each exercise a task numbered by its place in the registry;
//!   `status: error` with the compiler's first error when nothing built.
//!
//! A test is one check of one run, named `id: command / check` (a hidden
//! run's command is `hidden run N`).

use std::fmt::Write as _;
use std::time::Duration;

use base64::Engine as _;
use serde::Serialize;

use crate::exercises;
use crate::points::Points;
use crate::redact;
use crate::report::{Allotted, CheckKind, ExerciseReport, Report};

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
        if f.expected.is_empty() && f.got.is_empty() {
            format!("{}\nhint: {}", f.problem, f.hint)
        } else {
            format!(
                "{}\nexpected:\n{}\ngot:\n{}\nhint: {}",
                f.problem, f.expected, f.got, f.hint
            )
        }
    })
}

fn status(passed: bool) -> &'static str {
    if passed { "pass" } else { "fail" }
}

fn earned(allotted: &Allotted<'_>) -> Points {
    if allotted.passed {
        allotted.points
    } else {
        Points::ZERO
    }
}

/// GitHub Classroom's autograding result, version 1.
#[derive(Debug, Serialize)]
pub struct Classroom {
    version: u32,
    status: &'static str,
    max_score: Points,
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
    score: Points,
    max_score: Points,
}

/// How much of a failure a Classroom test carries: the whole result of a
/// runner goes through an environment variable.
const CLASSROOM_MESSAGE: usize = 4000;

fn classroom_test(exercise: &ExerciseReport, allotted: &Allotted<'_>) -> ClassroomTest {
    ClassroomTest {
        name: test_name(exercise, allotted),
        status: status(allotted.passed),
        message: failure_message(allotted).map(|m| cut(&m, CLASSROOM_MESSAGE)),
        test_code: allotted.run.command.clone(),
        filename: String::new(),
        line_no: 0,
        score: earned(allotted),
        max_score: allotted.points,
    }
}

/// `text` cut to `limit` characters at most, saying so.
fn cut(text: &str, limit: usize) -> String {
    match text.char_indices().nth(limit) {
        None => text.to_owned(),
        Some((at, _)) => format!("{}... (cut)", &text[..at]),
    }
}

/// The report as one GitHub Classroom autograding result, version 1: a
/// test per check, whose `score`s add up to the points earned; `max_score`
/// is the points possible.
pub fn classroom(report: &Report) -> Classroom {
    let shown = redact::for_students(report);
    let mut tests = Vec::new();
    for exercise in &shown.exercises {
        for allotted in exercise.allotted() {
            tests.push(classroom_test(exercise, &allotted));
        }
    }
    Classroom {
        version: 1,
        status: status(shown.passed()),
        max_score: shown.score().1,
        tests,
    }
}

/// A short word for a check, for a runner's name.
fn slug(kind: CheckKind) -> &'static str {
    match kind {
        CheckKind::Build => "build",
        CheckKind::ExitStatus => "exit",
        CheckKind::Output => "output",
        CheckKind::Processes => "processes",
        CheckKind::Concurrency => "concurrency",
        CheckKind::Data => "data",
        CheckKind::NothingLeftBehind => "leftovers",
    }
}

/// The report as Classroom's grading reporter reads it: one runner per
/// check, named `<id>run<N><check>` (letters and digits, as the reporter
/// asks), each an autograding result with that one test and its points as
/// `max_score`. The reporter's console total (per runner, the share of
/// tests passed times `max_score`) is then the sum of the `score`s it
/// records, which is the report's total.
pub fn classroom_runners(report: &Report) -> Vec<(String, Classroom)> {
    let shown = redact::for_students(report);
    let mut runners = Vec::new();
    for exercise in &shown.exercises {
        let allotted = exercise.allotted();
        for (number, run) in (1..).zip(&exercise.runs) {
            for a in allotted.iter().filter(|a| std::ptr::eq(a.run, run)) {
                let name = format!("{}run{number}{}", exercise.id, slug(a.check.kind));
                let name: String = name.chars().filter(char::is_ascii_alphanumeric).collect();
                runners.push((
                    name,
                    Classroom {
                        version: 1,
                        status: status(a.passed),
                        max_score: a.points,
                        tests: vec![classroom_test(exercise, a)],
                    },
                ));
            }
        }
    }
    runners
}

/// The environment variable through which the runners' names reach the
/// reporter's `runners` input (`${{ env.GRADER_RUNNERS }}`).
pub const RUNNERS_ENV: &str = "GRADER_RUNNERS";

/// Lines for `$GITHUB_ENV`: [`RUNNERS_ENV`] with the runners' names, and
/// for each runner `<NAME>_RESULTS` with its result as base64 JSON, which
/// is where the reporter reads it.
fn env_lines(runners: &[(String, Classroom)]) -> String {
    let names: Vec<&str> = runners.iter().map(|(name, _)| name.as_str()).collect();
    let mut lines = format!("{RUNNERS_ENV}={}\n", names.join(","));
    for (name, result) in runners {
        let json = serde_json::to_string(result).expect("plain data");
        let encoded = base64::engine::general_purpose::STANDARD.encode(json);
        let _ = writeln!(lines, "{}_RESULTS={encoded}", name.to_uppercase());
    }
    lines
}

/// What a GitHub Actions step appends to `$GITHUB_ENV` for Classroom's
/// grading reporter: the runners of [`classroom_runners`].
pub fn github_env(report: &Report) -> String {
    env_lines(&classroom_runners(report))
}

/// The `$GITHUB_ENV` lines for a submission that could not be graded at
/// all: one runner, `grader`, with status `error`, no points of
/// `possible`, and why, so that the reporter shows an explicit 0.
pub fn github_env_error(message: &str, possible: Points) -> String {
    let message = redact::machine_paths(&crate::escape::control_chars(message));
    let result = Classroom {
        version: 1,
        status: "error",
        max_score: possible,
        tests: vec![ClassroomTest {
            name: "grading".to_owned(),
            status: "error",
            message: Some(cut(&message, CLASSROOM_MESSAGE)),
            test_code: String::new(),
            filename: String::new(),
            line_no: 0,
            score: Points::ZERO,
            max_score: possible,
        }],
    };
    env_lines(&[("grader".to_owned(), result)])
}

/// Gradescope's `results.json`.
#[derive(Debug, Serialize)]
pub struct Gradescope {
    score: Points,
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
    score: Points,
    max_score: Points,
    status: &'static str,
    output: String,
    visibility: &'static str,
}

/// The report as Gradescope's `results.json`: the total score, how long
/// grading took, the report as students may see it as `output`, and a
/// test per check. Checks of hidden runs are shown only once grades are
/// published, and then only as passed or "a hidden check failed"; the
/// full report is for `run_autograder`'s stdout, which Gradescope shows
/// instructors only (`stdout_visibility: hidden`).
pub fn gradescope(report: &Report, took: Duration) -> Gradescope {
    let shown = redact::for_students(report);
    let mut tests = Vec::new();
    for exercise in &shown.exercises {
        for (n, allotted) in (1..).zip(exercise.allotted()) {
            tests.push(GradescopeTest {
                name: test_name(exercise, &allotted),
                number: format!("{}.{n}", exercise.id),
                score: earned(&allotted),
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
        score: shown.score().0,
        execution_time: (took.as_secs_f64() * 100.0).round() / 100.0,
        output: crate::escape::control_chars(&shown.to_string()),
        visibility: "visible",
        stdout_visibility: "hidden",
        tests,
    }
}

/// Gradescope's `results.json` for a submission that could not be graded
/// at all: no points, and why, with its control characters escaped and
/// machine paths cut (the JSON itself is serde_json's, so any text is
/// safe in it).
pub fn gradescope_error(message: &str) -> Gradescope {
    Gradescope {
        score: Points::ZERO,
        execution_time: 0.0,
        output: redact::machine_paths(&crate::escape::control_chars(message)),
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
    let shown = redact::for_students(report);
    if let Some(error) = shown.build_failed() {
        return exercism_error(&error);
    }
    let mut tests = Vec::new();
    for exercise in &shown.exercises {
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
        status: status(shown.passed()),
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
        message: Some(redact::machine_paths(message)),
        tests: Vec::new(),
    }
}
