//! Section `grading`: the wall time to grade every exercise once built.

use std::path::Path;
use std::time::Instant;

use crate::table::Table;

/// Runs the section. It starts threads (the grader's), so it runs after
/// every section that forks.
pub(crate) fn run(table: &Table) {
    table.section("[grading] grading every exercise, after the build");
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("in the workspace");
    match grader::build(workspace) {
        Ok(binaries) => {
            let start = Instant::now();
            let mut passed = true;
            for exercise in grader::EXERCISES {
                let binary = binaries.get(exercise.package).expect("built");
                let report = grader::grade_exercise(exercise, binary).expect("graded");
                passed &= report.runs.iter().all(grader::RunReport::passed);
            }
            table.row(
                &format!(
                    "grade {} exercises ({})",
                    grader::EXERCISES.len(),
                    if passed { "all pass" } else { "SOME FAIL" }
                ),
                Some(start.elapsed().as_secs_f64()),
                "s (target < 3)",
            );
        }
        Err(error) => table.note(&format!("grading skipped: {error}")),
    }
}
