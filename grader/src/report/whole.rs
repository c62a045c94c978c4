//! The grade of a whole submission, and its table as the report prints it.

use std::fmt;

use super::{CheckKind, ExerciseReport, Failure, NOT_FOUND};
use crate::escape;
use crate::points::Points;

/// The grade of a whole submission.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// One entry per exercise graded.
    pub exercises: Vec<ExerciseReport>,
    /// Files the submission changed outside its exercises' sources, which
    /// were not used to grade it.
    pub unused: Vec<String>,
    /// How it was built: which limits each build had.
    pub built: Vec<String>,
}

impl Report {
    /// Whether every check of every exercise passed.
    pub fn passed(&self) -> bool {
        self.exercises.iter().all(ExerciseReport::passed)
    }

    /// When nothing could be built: the first build failure's error.
    pub fn build_failed(&self) -> Option<String> {
        fn unbuilt(e: &ExerciseReport) -> Option<&Failure> {
            e.runs
                .iter()
                .flat_map(|r| &r.checks)
                .find(|c| c.kind == CheckKind::Build)
                .and_then(|c| c.failure.as_ref())
        }
        if self.exercises.is_empty() || !self.exercises.iter().all(|e| unbuilt(e).is_some()) {
            return None;
        }
        self.exercises
            .first()
            .and_then(unbuilt)
            .map(|f| format!("{}: {}", f.problem, f.got))
    }

    /// Points earned and points possible.
    pub fn score(&self) -> (Points, Points) {
        let earned = self.exercises.iter().map(ExerciseReport::score).sum();
        let possible = self.exercises.iter().map(|e| Points::whole(e.points)).sum();
        (earned, possible)
    }
}

fn verdict(passed: bool) -> &'static str {
    if passed { "pass" } else { "FAIL" }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write_table(f)?;
        self.write_notes(f)?;
        self.write_runs(f)
    }
}

impl Report {
    /// A row per check of each exercise (one for an exercise not started
    /// or not found), then the total.
    fn write_table(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Wide enough for the longest share (`2.15625/2.15625`).
        let width = self
            .exercises
            .iter()
            .flat_map(ExerciseReport::checks)
            .map(|row| format!("{}/{}", row.earned, row.possible).len())
            .max()
            .unwrap_or(0)
            .max(11);
        writeln!(
            f,
            "{:<5} {:<26} {:>width$}  verdict",
            "id", "check", "points"
        )?;
        for exercise in &self.exercises {
            let short = if let Some(todo) = exercise.not_started() {
                Some(("TODO", first_line(todo)))
            } else if exercise.is_not_found() {
                Some(("MISSING", NOT_FOUND))
            } else {
                None
            };
            if let Some((word, why)) = short {
                let shown = format!("0/{}", exercise.points);
                writeln!(
                    f,
                    "{:<5} {:<26} {shown:>width$}  {word}  {}",
                    exercise.id,
                    format!("= {}", exercise.package),
                    escape::control_chars(why)
                )?;
                continue;
            }
            for row in exercise.checks() {
                let shown = format!("{}/{}", row.earned, row.possible);
                writeln!(
                    f,
                    "{:<5} {:<26} {shown:>width$}  {}",
                    exercise.id,
                    row.kind.name(),
                    verdict(row.passed)
                )?;
            }
            let shown = format!("{}/{}", exercise.score(), exercise.points);
            writeln!(
                f,
                "{:<5} {:<26} {shown:>width$}  {}",
                exercise.id,
                format!("= {}", exercise.package),
                verdict(exercise.passed())
            )?;
        }
        let (earned, possible) = self.score();
        writeln!(f, "total {earned}/{possible}")?;
        Ok(())
    }

    /// What the submission changed outside its exercises, which exercises
    /// were not found, how it was built, and how many checks are hidden.
    fn write_notes(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.unused.is_empty() {
            let shown: Vec<String> = self
                .unused
                .iter()
                .take(20)
                .map(|p| escape::control_chars(p))
                .collect();
            let more = self.unused.len().saturating_sub(shown.len());
            writeln!(
                f,
                "changed outside the exercises, not used: {}{}",
                shown.join(", "),
                if more > 0 {
                    format!(" and {more} more")
                } else {
                    String::new()
                }
            )?;
            if self.unused.iter().any(|p| p.starts_with(".github/")) {
                writeln!(
                    f,
                    "a GitHub workflow was changed: the points GitHub Classroom recorded for this \
                     copy may not come from the instructor's grading"
                )?;
            }
        }
        let missing: Vec<&ExerciseReport> =
            self.exercises.iter().filter(|e| e.is_not_found()).collect();
        if let Some(first) = missing.first() {
            let ids: Vec<&str> = missing.iter().map(|e| e.id).collect();
            let accepted = first
                .runs
                .iter()
                .flat_map(|r| &r.checks)
                .find_map(|c| c.failure.as_ref())
                .map_or("", |f| f.expected.as_str());
            writeln!(f, "{NOT_FOUND}: {} ({accepted})", ids.join(", "))?;
        }
        for built in &self.built {
            writeln!(f, "build: {built}")?;
        }
        let withheld: usize = self.exercises.iter().map(|e| e.withheld).sum();
        if withheld > 0 {
            writeln!(
                f,
                "{withheld} hidden checks will also run when your work is graded"
            )?;
        }
        Ok(())
    }

    /// Each run that failed or has a note, in full.
    fn write_runs(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for exercise in &self.exercises {
            if exercise.not_started().is_some() || exercise.is_not_found() {
                continue;
            }
            let mut told = false;
            for run in &exercise.runs {
                if !run.passed() || !run.notes.is_empty() {
                    writeln!(f)?;
                    if !std::mem::replace(&mut told, true) {
                        writeln!(f, "{} ports {}", exercise.id, exercise.ports)?;
                    }
                    write!(f, "{run}")?;
                }
            }
        }
        Ok(())
    }
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or_default()
}
