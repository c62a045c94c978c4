//! What is written for each submission: its report, and the files of the
//! classroom platforms.

use std::path::Path;

use serde::Serialize;

use super::verdict::Submission;
use crate::error::Error;
use crate::formats;
use crate::report::Report;

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
        Err(error) => {
            if formats.json {
                write_json(&dir.join("results.json"), &formats::exercism_error(error))?;
            }
            if formats.gradescope {
                write_json(&dir.join("results.json"), &formats::gradescope_error(error))?;
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
