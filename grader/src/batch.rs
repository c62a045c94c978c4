//! Grading a whole class: several submissions (each a student's copy of the
//! workspace), some at the same time, and a score summary of them all.
//!
//! Each submission is built in its own directory and graded as
//! [`grade`](crate::grade) grades one; an exercise that does not compile
//! scores 0 with the compiler's first error while the others are graded, a
//! submission where nothing could be built gets the verdict `build failed`,
//! and one that
//! cannot be graded at all (no `Cargo.toml`) gets `error`, so that one bad
//! submission never stops the others. Running several at once is safe: each
//! run has its own process group and check-in socket, and the evidence is
//! rendezvous, not timing, so a busy machine changes no verdict.
//!
//! ```no_run
//! use std::path::PathBuf;
//! let class = [PathBuf::from("alice"), PathBuf::from("bob")];
//! let graded = grader::batch::grade_all(&class, &[], &[grader::StartMethod::Fork], 2, &|_| {})?;
//! grader::batch::write_summary(std::path::Path::new("."), &graded)?;
//! # Ok::<(), grader::Error>(())
//! ```

use std::collections::BTreeSet;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};

use serde::Serialize;

use crate::error::Error;
use crate::report::{Report, RunReport};
use crate::{StartMethod, formats};

/// One submission and how its grading went.
#[derive(Debug)]
pub struct Submission {
    /// A name for it, unique in the batch: its directory's name.
    pub name: String,
    /// Its directory.
    pub path: PathBuf,
    /// The points it could earn.
    pub possible: u32,
    /// Its report, or why it could not be graded.
    pub outcome: Result<Report, String>,
}

impl Submission {
    /// `pass`, `fail`, `build failed` (nothing could run) or `error`.
    pub fn verdict(&self) -> &'static str {
        match &self.outcome {
            Err(_) => "error",
            Ok(report) if report.passed() => "pass",
            Ok(report) if report.exercises.iter().all(|e| unbuilt(&e.runs)) => "build failed",
            Ok(_) => "fail",
        }
    }

    /// Points earned.
    pub fn score(&self) -> u32 {
        self.outcome.as_ref().map_or(0, |report| report.score().0)
    }

    /// The first thing wrong, in one line: a failed check, or the error.
    pub fn detail(&self) -> String {
        let report = match &self.outcome {
            Err(error) => return error.clone(),
            Ok(report) => report,
        };
        let whole = self.verdict() == "build failed";
        let first = report.exercises.iter().find_map(|exercise| {
            exercise.runs.iter().find_map(|run| {
                run.checks.iter().find_map(|check| {
                    check.failure.as_ref().map(|f| {
                        let got = f.got.lines().next().unwrap_or_default();
                        match check.name {
                            "build" if whole => format!("{}: {got}", f.problem),
                            "build" => format!("{}: {}: {got}", exercise.id, f.problem),
                            name => format!("{}: {name}: {}", exercise.id, f.problem),
                        }
                    })
                })
            })
        });
        first.unwrap_or_default()
    }

    /// How many checks failed.
    pub fn failed_checks(&self) -> usize {
        self.outcome.as_ref().map_or(0, |report| {
            report
                .exercises
                .iter()
                .flat_map(|e| &e.runs)
                .flat_map(|r| &r.checks)
                .filter(|c| c.failure.is_some())
                .count()
        })
    }
}

fn unbuilt(runs: &[RunReport]) -> bool {
    matches!(runs, [run] if run.failure("build").is_some())
}

/// Grades each submission directory in `paths` (the exercises in `only`, or
/// all, under each of `methods`), `jobs` at a time; calls `done` as each one
/// finishes. The result is in the order of `paths`.
pub fn grade_all(
    paths: &[PathBuf],
    only: &[String],
    methods: &[StartMethod],
    jobs: usize,
    done: &(dyn Fn(&Submission) + Sync),
) -> Result<Vec<Submission>, Error> {
    let possible = crate::choose(only)?.iter().map(|e| e.points).sum();
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
                    let submission = Submission {
                        name: names[i].clone(),
                        path: path.clone(),
                        possible,
                        outcome: crate::grade(path, only, methods).map_err(|e| e.to_string()),
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

/// A name for each path, unique among them: the directory's own name, with
/// `-2`, `-3`... added to repeats.
fn names(paths: &[PathBuf]) -> Vec<String> {
    let mut taken = BTreeSet::new();
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

/// One line of the score summary.
#[derive(Debug, Serialize)]
struct Row<'a> {
    submission: &'a str,
    path: String,
    score: u32,
    possible: u32,
    verdict: &'static str,
    failed_checks: usize,
    detail: String,
}

fn rows(submissions: &[Submission]) -> Vec<Row<'_>> {
    submissions
        .iter()
        .map(|s| Row {
            submission: &s.name,
            path: s.path.display().to_string(),
            score: s.score(),
            possible: s.possible,
            verdict: s.verdict(),
            failed_checks: s.failed_checks(),
            detail: s.detail(),
        })
        .collect()
}

/// Writes `summary.csv` and `summary.json` into `dir` (made if need be): one row per
/// submission with its score, points possible, verdict, number of failed
/// checks and the first thing wrong.
pub fn write_summary(dir: &Path, submissions: &[Submission]) -> Result<(), Error> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(format!("create {}", dir.display()), e))?;
    let rows = rows(submissions);
    let csv_path = dir.join("summary.csv");
    let mut csv = csv::Writer::from_path(&csv_path)
        .map_err(|e| Error::io(format!("write {}", csv_path.display()), e.into()))?;
    for row in &rows {
        csv.serialize(row)
            .map_err(|e| Error::io(format!("write {}", csv_path.display()), e.into()))?;
    }
    csv.flush()
        .map_err(|e| Error::io(format!("write {}", csv_path.display()), e))?;
    write_json(&dir.join("summary.json"), &rows)
}

/// Writes each submission's full report into `dir/<name>/`: `report.txt`,
/// and with `json`, GitHub Classroom's `autograding.json` and Exercism's
/// `results.json`.
pub fn write_reports(dir: &Path, submissions: &[Submission], json: bool) -> Result<(), Error> {
    for submission in submissions {
        let own = dir.join(&submission.name);
        std::fs::create_dir_all(&own)
            .map_err(|e| Error::io(format!("create {}", own.display()), e))?;
        let text = match &submission.outcome {
            Ok(report) => report.to_string(),
            Err(error) => format!("not graded: {error}\n"),
        };
        let path = own.join("report.txt");
        std::fs::write(&path, text)
            .map_err(|e| Error::io(format!("write {}", path.display()), e))?;
        if json {
            match &submission.outcome {
                Ok(report) => {
                    write_json(&own.join("autograding.json"), &formats::classroom(report))?;
                    write_json(&own.join("results.json"), &formats::exercism(report))?;
                }
                Err(error) => {
                    write_json(&own.join("results.json"), &formats::exercism_error(error))?
                }
            }
        }
    }
    Ok(())
}

/// Writes `value` as pretty JSON to `path`.
pub fn write_json(path: &Path, value: &impl Serialize) -> Result<(), Error> {
    let text =
        serde_json::to_string_pretty(value).map_err(|e| Error::io("render JSON", e.into()))?;
    std::fs::write(path, text + "\n").map_err(|e| Error::io(format!("write {}", path.display()), e))
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
        let passed = self.0.iter().filter(|s| s.verdict() == "pass").count();
        writeln!(f, "{passed} of {} passed every check", self.0.len())
    }
}
