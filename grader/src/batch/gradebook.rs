//! The class's marks: `summary.json` and `summary.csv`, a row per
//! submission, kept across gradings.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::files::{create_dir, write_json};
use super::verdict::{Submission, Verdict};
use crate::error::Error;
use crate::points::Points;

/// The gradebook's own files in its directory, which no submission's
/// directory of reports may be named.
pub const FILES: [&str; 2] = ["summary.json", "summary.csv"];

/// The points of one exercise in a gradebook row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExerciseMarks {
    /// Points earned.
    pub score: Points,
    /// Points possible.
    pub possible: u32,
    /// Each check by name: points earned and possible.
    pub checks: BTreeMap<String, (Points, Points)>,
}

/// One row of the gradebook: a submission.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Row {
    /// The submission's name (its directory's name).
    pub submission: String,
    /// Its directory.
    pub path: String,
    /// Points earned over every exercise graded.
    pub score: Points,
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
            detail: s.detail(),
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
        let path = dir.join(FILES[0]);
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
        write_json(&self.dir.join(FILES[0]), &self.rows)?;
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
        let csv_path = self.dir.join(FILES[1]);
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
                inert(&row.submission),
                inert(&row.path),
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
            record.push(inert(&row.detail));
            csv.write_record(&record).map_err(failed)?;
        }
        csv.flush()
            .map_err(|e| Error::io(format!("write {}", csv_path.display()), e))
    }
}

/// `text` as a spreadsheet cell that is never a formula: a leading `=`,
/// `+`, `-`, `@`, tab or carriage return (which spreadsheets take as the
/// start of a formula) gets a `'` before it, as OWASP advises.
pub fn inert(text: &str) -> String {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::inert;

    #[test]
    fn formulas_are_made_text() {
        assert_eq!(inert("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        for lead in ["+1", "-1", "@SUM(A1)", "\tx", "\rx"] {
            assert!(inert(lead).starts_with('\''), "{lead:?}");
        }
        assert_eq!(inert("alice"), "alice");
        assert_eq!(inert("/home/alice"), "/home/alice");
    }
}
