//! The grader's own tests. Every one builds the workspace once (shared) and
//! runs binaries through the grader, which kills and reaps whatever they
//! leave; none of them forks this multi-threaded test process.

// BEGIN INSTRUCTOR
/// Several submissions graded at once, with summaries.
mod batch;
// END INSTRUCTOR
// BEGIN INSTRUCTOR
/// A class graded from what the students wrote, whatever their settings.
mod class;
// END INSTRUCTOR
// BEGIN INSTRUCTOR
/// The README's paths and figures, against the code.
mod docs;
// END INSTRUCTOR
// BEGIN INSTRUCTOR
/// Golden reports of the wrong solutions.
mod golden;
// END INSTRUCTOR
// BEGIN INSTRUCTOR
/// The handout: regions, a red start, the watch loop, full marks, Gradescope.
mod handout;
// END INSTRUCTOR
// BEGIN INSTRUCTOR
/// Hostile submissions: floods, escapes, crashes, odd bytes, stdin.
mod hostile;
// END INSTRUCTOR
// BEGIN INSTRUCTOR
/// What ptrace reports, and grading without it.
mod kernel_evidence;
// END INSTRUCTOR
/// The reference solutions pass every check of every exercise.
mod reference;
/// The registry and the workspace agree.
mod registry;
// BEGIN INSTRUCTOR
/// The JSON reports for GitHub Classroom and Exercism.
mod report_formats;
// END INSTRUCTOR
// BEGIN INSTRUCTOR
/// Hostile and careless submissions against each verdict: ordering,
/// concurrency, authorship, the deadline, what is left behind.
mod verdicts;
// END INSTRUCTOR
// BEGIN INSTRUCTOR
/// Deliberately wrong solutions fail with the right messages.
mod wrong_solutions;
// END INSTRUCTOR

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

/// The workspace's binaries and examples, built once for all tests.
fn binaries() -> &'static Binaries {
    static BUILT: OnceLock<Binaries> = OnceLock::new();
    BUILT.get_or_init(|| grader::build(&workspace()).unwrap_or_else(|e| panic!("{e}")))
}
