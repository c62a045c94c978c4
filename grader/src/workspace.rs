//! The grader's own workspace: the one it was built from, the
//! instructor's (or a student's copy, where the student runs the grader at
//! home). It is graded whole, and built where cargo builds it
//! ([`cargo`](crate::cargo)); a student's submission is graded from its
//! exercises' sources ([`submission`](crate::submission)).

use std::path::{Path, PathBuf};

/// The workspace the grader was built from: the instructor's.
pub fn instructor_workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the grader lives inside its workspace")
        .to_path_buf()
}

/// Whether `path` is the grader's own workspace, which is graded whole,
/// with cargo, as it is.
pub fn is_own_workspace(path: &Path) -> bool {
    let canonical = |p: &Path| std::fs::canonicalize(p).ok();
    canonical(path).is_some_and(|p| Some(p) == canonical(&instructor_workspace()))
}
