//! Where a submission keeps each exercise's sources.
//!
//! A submission is what a student hands in: a copy of the workspace (as a
//! GitHub repository is, or an upload of the whole folder), the same in one
//! folder (a zip of the folder), or loose files, one per exercise. For
//! each exercise the grader takes, at the submission's root or else in the
//! one folder under it that holds exercises:
//!
//! 1. `<package>/src/` (its `main.rs` and the modules beside it), or
//! 2. a loose `<id>.rs` or `<package>.rs` (`q6.rs`, `q6-four-processes.rs`),
//!    compiled as that exercise's `main.rs`.
//!
//! An exercise found in none of these places is graded as not started
//! (0 points), and the report names it with the layouts accepted.

use std::path::{Path, PathBuf};

use crate::exercises::Exercise;

/// The layouts a submission may have, in a sentence for reports.
pub const ACCEPTED: &str = "a submission is the workspace (q6-four-processes/src/main.rs and so \
                            on, at its root), the workspace in one folder \
                            (any-name/q6-four-processes/src/main.rs), or loose files, one per \
                            exercise (q6.rs or q6-four-processes.rs)";

/// One exercise's sources in a submission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Sources {
    /// The file compiled as the crate's root.
    pub(crate) main: PathBuf,
    /// The exercise's directory (`CARGO_MANIFEST_DIR` to the compiler).
    pub(crate) dir: PathBuf,
}

/// Where the submission at `submission` has its exercises: the directory
/// they are in (the submission, or the one folder under it that holds
/// them), `None` when no exercise of `exercises` is anywhere.
pub(crate) fn root(submission: &Path, exercises: &[&Exercise]) -> Option<PathBuf> {
    let holds = |dir: &Path| exercises.iter().filter(|e| find(dir, e).is_some()).count();
    if holds(submission) > 0 {
        return Some(submission.to_path_buf());
    }
    let mut folders: Vec<PathBuf> = std::fs::read_dir(submission)
        .ok()?
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .filter(|e| !e.file_name().to_string_lossy().starts_with(['.', '_']))
        .map(|e| e.path())
        .collect();
    folders.sort();
    // The folder with the most exercises; the first by name among equals.
    folders
        .into_iter()
        .map(|dir| (holds(&dir), dir))
        .filter(|(count, _)| *count > 0)
        .fold(
            None,
            |best: Option<(usize, PathBuf)>, (count, dir)| match best {
                Some((most, _)) if most >= count => best,
                _ => Some((count, dir)),
            },
        )
        .map(|(_, dir)| dir)
}

/// Where `exercise`'s sources are under `root`, as the module says.
pub(crate) fn find(root: &Path, exercise: &Exercise) -> Option<Sources> {
    let dir = root.join(exercise.package);
    let main = dir.join("src/main.rs");
    if main.is_file() {
        return Some(Sources { main, dir });
    }
    [exercise.id, exercise.package]
        .into_iter()
        .map(|name| root.join(format!("{name}.rs")))
        .find(|file| file.is_file())
        .map(|main| Sources {
            main,
            dir: root.to_path_buf(),
        })
}

/// Where the grader looked for `exercise`, for a report.
pub(crate) fn looked_for(exercise: &Exercise) -> String {
    format!(
        "none of {0}/src/main.rs, {1}.rs or {0}.rs, at the submission's root or in one folder",
        exercise.package, exercise.id
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exercises::{EXERCISES, find as exercise};

    fn all() -> Vec<&'static Exercise> {
        EXERCISES.iter().collect()
    }

    fn write(path: &Path) {
        std::fs::create_dir_all(path.parent().expect("a parent")).expect("mkdir");
        std::fs::write(path, "fn main() {}\n").expect("write");
    }

    #[test]
    fn the_workspace_at_the_root_or_in_one_folder() {
        let dir = tempfile::tempdir().expect("temp dir");
        let q6 = exercise("q6").expect("q6");
        assert_eq!(root(dir.path(), &all()), None);
        let inner = dir.path().join("handout-main");
        write(&inner.join("q6-four-processes/src/main.rs"));
        write(&dir.path().join("__MACOSX/q5-pool/src/main.rs"));
        assert_eq!(root(dir.path(), &all()), Some(inner.clone()));
        let found = find(&inner, q6).expect("found");
        assert_eq!(found.main, inner.join("q6-four-processes/src/main.rs"));
        write(&dir.path().join("q3-create-process/src/main.rs"));
        assert_eq!(root(dir.path(), &all()), Some(dir.path().to_path_buf()));
    }

    #[test]
    fn loose_files_by_id_or_package() {
        let dir = tempfile::tempdir().expect("temp dir");
        write(&dir.path().join("q6.rs"));
        write(&dir.path().join("q5-pool.rs"));
        assert_eq!(root(dir.path(), &all()), Some(dir.path().to_path_buf()));
        let q6 = find(dir.path(), exercise("q6").expect("q6")).expect("q6.rs");
        assert_eq!(q6.main, dir.path().join("q6.rs"));
        let q5 = find(dir.path(), exercise("q5").expect("q5")).expect("q5-pool.rs");
        assert_eq!(q5.main, dir.path().join("q5-pool.rs"));
        assert_eq!(find(dir.path(), exercise("q1").expect("q1")), None);
    }
}
