//! Grading a whole class: several submissions (each a student's copy of the
//! workspace), some at the same time, and a score summary of them all.
//!
//! Each submission is built from its exercises' sources against the
//! instructor's workspace ([`submission`](crate::submission)), or whole with
//! `--whole`, and graded as [`grade`](crate::grade) grades one; an exercise that does not compile
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
//! let instructor = grader::submission::Instructor::prepare(Path::new("."))?;
//! let methods = [grader::StartMethod::Fork];
//! let graded = grader::batch::grade_all(&class, &[], &methods, 2, Some(&instructor), &|_| {})?;
//! let mut book = grader::batch::Gradebook::open(Path::new("marks"))?;
//! for submission in &graded {
//!     book.record(submission);
//! }
//! book.save()?;
//! # Ok::<(), grader::Error>(())
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};

use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::report::{CheckKind, Report, RunReport};
use common::StartMethod;

use crate::formats;

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
    /// How long building and grading it took.
    pub took: std::time::Duration,
}

/// How a submission's grading went, in a word.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Verdict {
    /// Every check passed.
    #[serde(rename = "pass")]
    Pass,
    /// Some check failed.
    #[serde(rename = "fail")]
    Fail,
    /// Nothing could be built, so nothing ran.
    #[serde(rename = "build failed")]
    BuildFailed,
    /// It could not be graded at all.
    #[serde(rename = "error")]
    Error,
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Verdict::Pass => "pass",
            Verdict::Fail => "fail",
            Verdict::BuildFailed => "build failed",
            Verdict::Error => "error",
        })
    }
}

impl Submission {
    /// Its verdict.
    pub fn verdict(&self) -> Verdict {
        match &self.outcome {
            Err(_) => Verdict::Error,
            Ok(report) if report.passed() => Verdict::Pass,
            Ok(report) if report.exercises.iter().all(|e| unbuilt(&e.runs)) => Verdict::BuildFailed,
            Ok(_) => Verdict::Fail,
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
        let whole = self.verdict() == Verdict::BuildFailed;
        let first = report.exercises.iter().find_map(|exercise| {
            exercise.runs.iter().find_map(|run| {
                run.checks.iter().find_map(|check| {
                    check.failure.as_ref().map(|f| {
                        let got = f.got.lines().next().unwrap_or_default();
                        match check.kind {
                            CheckKind::Build if whole => format!("{}: {got}", f.problem),
                            CheckKind::Build => format!("{}: {}: {got}", exercise.id, f.problem),
                            kind => format!("{}: {kind}: {}", exercise.id, f.problem),
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

/// The points of one exercise in a gradebook row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExerciseMarks {
    /// Points earned.
    pub score: u32,
    /// Points possible.
    pub possible: u32,
    /// Each check by name: points earned and possible.
    pub checks: BTreeMap<String, (u32, u32)>,
}

/// One row of the gradebook: a submission.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Row {
    /// The submission's name (its directory's name).
    pub submission: String,
    /// Its directory.
    pub path: String,
    /// Points earned over every exercise graded.
    pub score: u32,
    /// Points possible.
    pub possible: u32,
    /// How its grading went.
    pub verdict: Verdict,
    /// How many checks failed.
    pub failed_checks: usize,
    /// Each exercise graded, by id.
    pub exercises: BTreeMap<String, ExerciseMarks>,
    /// The first thing wrong, in one line.
    pub detail: String,
}

impl Row {
    fn of(s: &Submission) -> Row {
        let exercises = s.outcome.as_ref().map_or_else(
            |_| BTreeMap::new(),
            |report| {
                report
                    .exercises
                    .iter()
                    .map(|e| {
                        let checks = e
                            .checks()
                            .into_iter()
                            .map(|row| (row.kind.name().to_owned(), (row.earned, row.possible)))
                            .collect();
                        let marks = ExerciseMarks {
                            score: e.score(),
                            possible: e.points,
                            checks,
                        };
                        (e.id.to_owned(), marks)
                    })
                    .collect()
            },
        );
        Row {
            submission: s.name.clone(),
            path: s.path.display().to_string(),
            score: s.score(),
            possible: s.possible,
            verdict: s.verdict(),
            failed_checks: s.failed_checks(),
            exercises,
            detail: crate::escape::control_chars(&s.detail()),
        }
    }
}

/// The class's marks: `summary.json` (a row per submission, with each
/// exercise's checks) and `summary.csv` (a row per submission, a column per
/// exercise) in one directory. Grading into a directory that has them
/// updates the rows of the submissions graded again and keeps the others.
#[derive(Debug)]
pub struct Gradebook {
    dir: PathBuf,
    rows: Vec<Row>,
}

impl Gradebook {
    /// The gradebook in `dir` (made if missing), with the rows it already
    /// has.
    pub fn open(dir: &Path) -> Result<Gradebook, Error> {
        create_dir(dir)?;
        let path = dir.join("summary.json");
        let rows = match std::fs::read_to_string(&path) {
            Ok(text) => serde_json::from_str(&text).map_err(|e| {
                Error::io(
                    format!(
                        "read {} (not a gradebook this grader wrote)",
                        path.display()
                    ),
                    e.into(),
                )
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(Error::io(format!("read {}", path.display()), e)),
        };
        Ok(Gradebook {
            dir: dir.to_path_buf(),
            rows,
        })
    }

    /// Puts the submission's row in, in place of its earlier one.
    pub fn record(&mut self, submission: &Submission) {
        let row = Row::of(submission);
        match self
            .rows
            .iter_mut()
            .find(|r| r.submission == row.submission)
        {
            Some(old) => *old = row,
            None => self.rows.push(row),
        }
        self.rows.sort_by(|a, b| a.submission.cmp(&b.submission));
    }

    /// The rows, by submission name.
    pub fn rows(&self) -> &[Row] {
        &self.rows
    }

    /// Writes `summary.json` and `summary.csv`.
    pub fn save(&self) -> Result<(), Error> {
        write_json(&self.dir.join("summary.json"), &self.rows)?;
        let ids: BTreeSet<&str> = self
            .rows
            .iter()
            .flat_map(|r| r.exercises.keys().map(String::as_str))
            .collect();
        // Registry order, then any id this registry no longer has.
        let mut columns: Vec<&str> = crate::exercises::EXERCISES
            .iter()
            .map(|e| e.id)
            .filter(|id| ids.contains(id))
            .collect();
        let unknown: Vec<&str> = ids
            .iter()
            .copied()
            .filter(|id| !columns.contains(id))
            .collect();
        columns.extend(unknown);
        let csv_path = self.dir.join("summary.csv");
        let failed = |e: csv::Error| Error::io(format!("write {}", csv_path.display()), e.into());
        let mut csv = csv::Writer::from_path(&csv_path).map_err(failed)?;
        let mut header = vec![
            "submission",
            "path",
            "score",
            "possible",
            "verdict",
            "failed_checks",
        ];
        header.extend(&columns);
        header.push("detail");
        csv.write_record(&header).map_err(failed)?;
        for row in &self.rows {
            let mut record = vec![
                row.submission.clone(),
                row.path.clone(),
                row.score.to_string(),
                row.possible.to_string(),
                row.verdict.to_string(),
                row.failed_checks.to_string(),
            ];
            record.extend(columns.iter().map(|id| {
                row.exercises
                    .get(*id)
                    .map_or_else(String::new, |m| m.score.to_string())
            }));
            record.push(row.detail.clone());
            csv.write_record(&record).map_err(failed)?;
        }
        csv.flush()
            .map_err(|e| Error::io(format!("write {}", csv_path.display()), e))
    }
}

/// Which platform files [`write_report`] writes beside `report.txt`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Formats {
    /// GitHub Classroom's `autograding.json` and Exercism's `results.json`.
    pub json: bool,
    /// Gradescope's `results.json`.
    pub gradescope: bool,
}

/// Makes directory `dir` (and its parents) if missing.
pub fn create_dir(dir: &Path) -> Result<(), Error> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(format!("create {}", dir.display()), e))
}

/// Writes the submission's full report into `dir/<name>/`: `report.txt`,
/// and the platform files `formats` asks for.
pub fn write_report(dir: &Path, submission: &Submission, formats: Formats) -> Result<(), Error> {
    let own = dir.join(&submission.name);
    create_dir(&own)?;
    let text = match &submission.outcome {
        Ok(report) => report.to_string(),
        Err(error) => format!("not graded: {error}\n"),
    };
    let path = own.join("report.txt");
    std::fs::write(&path, text).map_err(|e| Error::io(format!("write {}", path.display()), e))?;
    let outcome = submission.outcome.as_ref().map_err(String::as_str);
    write_platform_files(&own, outcome, formats, submission.took)
}

/// Writes into `dir` the platform files `formats` asks for, of a report
/// (or of why there is none) that took `took` to make: one submission's
/// or each of a class's.
pub fn write_platform_files(
    dir: &Path,
    outcome: Result<&Report, &str>,
    formats: Formats,
    took: std::time::Duration,
) -> Result<(), Error> {
    match outcome {
        Ok(report) => {
            if formats.json {
                write_json(&dir.join("autograding.json"), &formats::classroom(report))?;
                write_json(&dir.join("results.json"), &formats::exercism(report))?;
            }
            if formats.gradescope {
                write_json(
                    &dir.join("results.json"),
                    &formats::gradescope(report, took),
                )?;
            }
        }
        Err(error) if formats.json => {
            write_json(&dir.join("results.json"), &formats::exercism_error(error))?;
        }
        Err(_) => {}
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
        let passed = self
            .0
            .iter()
            .filter(|s| s.verdict() == Verdict::Pass)
            .count();
        writeln!(f, "{passed} of {} passed every check", self.0.len())
    }
}
