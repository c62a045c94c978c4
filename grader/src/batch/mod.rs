//! Grading a whole class: several submissions (each a student's copy of the
//! workspace), some at the same time, and a score summary of them all.
//!
//! Each submission is built from its exercises' sources against the
//! instructor's workspace ([`Instructor`](crate::Instructor)), or whole with
//! `--whole`, and graded as [`grade`](crate::grade()) grades one; an exercise that does not compile
//! scores 0 with the compiler's first error while the others are graded, a
//! submission where nothing could be built gets the verdict `build failed`,
//! and one that
//! cannot be graded at all (no `Cargo.toml`) gets `error`, so that one bad
//! submission never stops the others. Running several at once is safe: each
//! run has its own process group and check-in socket, and the evidence is
//! rendezvous, not timing, so a busy machine changes no verdict.
//!
//! ```no_run
//! use std::path::{Path, PathBuf};
//! let class = [PathBuf::from("alice"), PathBuf::from("bob")];
//! let instructor = grader::Instructor::prepare(Path::new("."))?;
//! let methods = [grader::StartMethod::Fork];
//! let graded = grader::batch::grade_all(&class, &[], &methods, 2, Some(&instructor), &|_| {})?;
//! let mut book = grader::batch::Gradebook::open(Path::new("marks"))?;
//! for submission in &graded {
//!     book.record(submission);
//! }
//! book.save()?;
//! # Ok::<(), grader::Error>(())
//! ```

use std::collections::BTreeSet;
use std::fmt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};

use common::StartMethod;

mod files;
mod gradebook;
mod verdict;

pub use files::{Formats, create_dir, write_json, write_platform_files, write_report};
pub use gradebook::{ExerciseMarks, Gradebook, Row};
pub use verdict::{Submission, Verdict};

use crate::error::Error;

/// Grades each submission directory in `paths` (the exercises in `only`, or
/// all, under each of `methods`), `jobs` at a time; calls `done` as each one
/// finishes. The result is in the order of `paths`.
pub fn grade_all(
    paths: &[PathBuf],
    only: &[String],
    methods: &[StartMethod],
    jobs: usize,
    instructor: Option<&crate::submission::Instructor>,
    done: &(dyn Fn(&Submission) + Sync),
) -> Result<Vec<Submission>, Error> {
    let possible = crate::exercises::chosen(only)?
        .iter()
        .map(|e| e.points)
        .sum();
    let names = names(paths);
    let next = AtomicUsize::new(0);
    let graded: Mutex<Vec<Option<Submission>>> =
        Mutex::new(std::iter::repeat_with(|| None).take(paths.len()).collect());
    std::thread::scope(|scope| {
        for _ in 0..jobs.clamp(1, paths.len().max(1)) {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(path) = paths.get(i) else { break };
                    let started = std::time::Instant::now();
                    let outcome = crate::submission::grade_as(
                        path,
                        only,
                        methods,
                        &crate::submission::Source::of(path, instructor),
                    )
                    .map_err(|e| e.to_string());
                    let submission = Submission {
                        name: names[i].clone(),
                        path: path.clone(),
                        possible,
                        outcome,
                        took: started.elapsed(),
                    };
                    done(&submission);
                    graded.lock().unwrap_or_else(PoisonError::into_inner)[i] = Some(submission);
                }
            });
        }
    });
    Ok(graded
        .into_inner()
        .unwrap_or_else(PoisonError::into_inner)
        .into_iter()
        .flatten()
        .collect())
}

/// A name for each path, unique among them and none of the gradebook's
/// own files: the directory's own name, with `-2`, `-3`... added to repeats
/// (and to `summary.csv` or `summary.json`).
fn names(paths: &[PathBuf]) -> Vec<String> {
    let mut taken: BTreeSet<String> = gradebook::FILES.iter().map(|f| (*f).to_owned()).collect();
    paths
        .iter()
        .map(|path| {
            let base = std::path::absolute(path)
                .ok()
                .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
                .unwrap_or_else(|| "submission".to_owned());
            let mut name = base.clone();
            let mut n = 1;
            while !taken.insert(name.clone()) {
                n += 1;
                name = format!("{base}-{n}");
            }
            name
        })
        .collect()
}

/// The submissions as a table: name, points, verdict, first thing wrong.
pub struct Table<'a>(pub &'a [Submission]);

impl fmt::Display for Table<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let width = self
            .0
            .iter()
            .map(|s| s.name.len())
            .max()
            .unwrap_or(0)
            .max(10);
        writeln!(
            f,
            "{:<width$} {:>7}  {:<12}  first problem",
            "submission", "points", "verdict"
        )?;
        for s in self.0 {
            let points = format!("{}/{}", s.score(), s.possible);
            writeln!(
                f,
                "{:<width$} {points:>7}  {:<12}  {}",
                s.name,
                s.verdict(),
                s.detail()
            )?;
        }
        let passed = self
            .0
            .iter()
            .filter(|s| s.verdict() == Verdict::Pass)
            .count();
        writeln!(f, "{passed} of {} passed every check", self.0.len())
    }
}

#[cfg(test)]
mod tests {
    use super::names;
    use std::path::PathBuf;

    #[test]
    fn names_are_unique_and_never_the_gradebook_s_files() {
        let paths: Vec<PathBuf> = ["a/alice", "b/alice", "c/summary.csv", "d/summary.json"]
            .into_iter()
            .map(PathBuf::from)
            .collect();
        assert_eq!(
            names(&paths),
            ["alice", "alice-2", "summary.csv-2", "summary.json-2"]
        );
    }
}
