//! The grader's own tests (the instructor's: the handout leaves them out).
//! Every one builds the workspace once (shared) and runs binaries through
//! the grader, which kills and reaps whatever they leave; none of them
//! forks this multi-threaded test process. That every reference solution
//! passes every check is `exercises.rs`, the test a student runs too.

/// Several submissions graded at once, with summaries.
mod batch;
/// A class graded from what the students wrote, whatever their settings.
mod class;
/// Submissions that attack the compiler: host files, the registry, the
/// instructor's variables, a link to the reference.
mod compile_attacks;
/// The README's paths and figures, against the code.
mod docs;
/// Golden reports of the wrong solutions.
mod golden;
/// The handout: regions, a red start, the watch loop, full marks, Gradescope.
mod handout;
/// Hostile submissions: floods, escapes, crashes, odd bytes, stdin.
mod hostile;
/// What ptrace reports, and grading without it.
mod kernel_evidence;
/// The reference solutions pass every check, again and again, under spawn.
mod reference;
/// The registry and the workspace agree.
mod registry;
/// The JSON reports for GitHub Classroom and Exercism.
mod report_formats;
/// How long a verdict may take, for the tests that time one.
mod timing;
/// Hostile and careless submissions against each verdict: ordering,
/// concurrency, authorship, the deadline, what is left behind.
mod verdicts;
/// Deliberately wrong solutions fail with the right messages.
mod wrong_solutions;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use grader::Binaries;

/// The workspace this crate belongs to.
fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the grader lives inside the workspace")
        .to_path_buf()
}

// BEGIN INSTRUCTOR
/// Grades `submissions` as a class, their q6 only, two at a time, into the
/// gradebook at `out`, with `grader`'s settings (its environment); checks
/// that some failed (exit code 1) and returns what it printed.
fn grade_q6_class(mut grader: assert_cmd::Command, out: &Path, submissions: &[&Path]) -> String {
    let output = grader
        .args(["--exercise", "q6", "--jobs", "2", "--out"])
        .arg(out)
        .args(submissions)
        .output()
        .expect("runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stdout}{stderr}");
    stdout + &stderr
}

/// The report of submission `name` in the gradebook at `out`.
fn class_report(out: &Path, name: &str) -> String {
    std::fs::read_to_string(out.join(name).join("report.txt")).expect("a report")
}
// END INSTRUCTOR

/// How many times a check that must hold every time is tried:
/// `GRADER_TRIALS` if set (to measure a bound, e.g. 1000), else `default`.
fn trials(default: usize) -> usize {
    std::env::var("GRADER_TRIALS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(default)
}

/// The workspace's binaries and examples, built once for all tests.
fn binaries() -> &'static Binaries {
    static BUILT: OnceLock<Binaries> = OnceLock::new();
    BUILT.get_or_init(|| grader::build(&workspace()).unwrap_or_else(|e| panic!("{e}")))
}
