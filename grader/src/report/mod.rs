//! Verdicts: a check passes or fails with expected, got and a hint; a run's
//! checks make a [`RunReport`]; every run of every exercise makes a
//! [`Report`] with scores.

use std::fmt;

use crate::escape;

/// The most bytes of one block of a failure (what was expected, what was
/// got: a run's output, say) a report shows; the rest is cut, with a line
/// saying how much.
pub const BLOCK_CAP: usize = 64 << 10;

/// The most bytes of a failure's one-line problem a report shows, and of
/// each of its parts (a problem lists its parts with `; `, some quoting a
/// line of the program's output).
pub const PROBLEM_CAP: usize = 4 << 10;
const PART_CAP: usize = 512;

/// Why a check failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// What is wrong, in one line.
    pub problem: String,
    /// What a correct solution does.
    pub expected: String,
    /// What this one did.
    pub got: String,
    /// What to look at to fix it.
    pub hint: String,
}

/// What a check looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CheckKind {
    /// The exercise's binary was built.
    Build,
    /// Exit code 0 within the timeout.
    ExitStatus,
    /// The expected lines (or facts), from the processes meant to print them.
    Output,
    /// The expected child processes, made with `common`, of the main process.
    Processes,
    /// The child processes that did the work were alive at once.
    Concurrency,
    /// The data the run's facts name crossed between its processes.
    Data,
    /// No process outlived the main process.
    NothingLeftBehind,
}

impl CheckKind {
    /// The check's name, as reports show it.
    pub fn name(self) -> &'static str {
        match self {
            CheckKind::Build => "build",
            CheckKind::ExitStatus => "exit status",
            CheckKind::Output => "output",
            CheckKind::Processes => "processes",
            CheckKind::Concurrency => "concurrency",
            CheckKind::Data => "data",
            CheckKind::NothingLeftBehind => "nothing left behind",
        }
    }
}

impl fmt::Display for CheckKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One check of one run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// What it looks at.
    pub kind: CheckKind,
    /// `None` when it passed.
    pub failure: Option<Failure>,
}

impl Check {
    /// A check that passed.
    pub fn pass(kind: CheckKind) -> Check {
        Check {
            kind,
            failure: None,
        }
    }

    /// A check that failed.
    pub fn fail(kind: CheckKind, failure: Failure) -> Check {
        Check {
            kind,
            failure: Some(failure),
        }
    }

    /// Cuts what its failure shows to the report's caps (64 KiB a block,
    /// 4 KiB a problem): a program that prints megabytes gets a report of
    /// kilobytes, which says how much was cut.
    pub fn cap(&mut self) {
        if let Some(failure) = &mut self.failure {
            let parts: Vec<String> = failure
                .problem
                .split("; ")
                .map(|part| escape::capped(part, PART_CAP).replace('\n', " "))
                .collect();
            failure.problem = escape::capped(&parts.join("; "), PROBLEM_CAP).replace('\n', " ");
            failure.expected = escape::capped(&failure.expected, BLOCK_CAP);
            failure.got = escape::capped(&failure.got, BLOCK_CAP);
        }
    }
}

/// The checks of one run of one exercise.
#[derive(Debug, Clone)]
pub struct RunReport {
    /// The exercise's id.
    pub exercise: &'static str,
    /// The command line that was run.
    pub command: String,
    /// The checks, in the order they were made.
    pub checks: Vec<Check>,
    /// What the grader could not see, which makes its evidence weaker.
    pub notes: Vec<String>,
    /// Set when the program reached a `todo!` placeholder: where, and its
    /// message. Every check of the run then counts as failed, and the report
    /// says so in one line instead of listing them.
    pub not_started: Option<String>,
    /// Whether the run is hidden from students: graded by the instructor's
    /// copy of the grader only.
    pub hidden: bool,
}

impl RunReport {
    /// Whether every check passed.
    pub fn passed(&self) -> bool {
        self.not_started.is_none() && self.checks.iter().all(|c| c.failure.is_none())
    }

    /// Whether check `check` of this run passed: not when the run reached a
    /// placeholder.
    pub fn check_passed(&self, check: &Check) -> bool {
        self.not_started.is_none() && check.failure.is_none()
    }

    /// The failure of the check called `name`, if it failed.
    pub fn failure(&self, name: &str) -> Option<&Failure> {
        self.checks
            .iter()
            .find(|c| c.kind.name() == name)
            .and_then(|c| c.failure.as_ref())
    }

    /// `Ok` when every check passed; else the report, to print.
    pub fn try_pass(&self) -> Result<(), String> {
        if self.passed() {
            Ok(())
        } else {
            Err(self.to_string())
        }
    }

    /// Panics with the report unless every check passed.
    #[track_caller]
    pub fn assert_pass(&self) {
        if let Err(report) = self.try_pass() {
            panic!("\n{report}");
        }
    }
}

impl fmt::Display for RunReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}: {}", self.exercise, self.command)?;
        if let Some(todo) = &self.not_started {
            return writeln!(f, "  TODO  not started: {}", escape::control_chars(todo));
        }
        for check in &self.checks {
            match &check.failure {
                None => writeln!(f, "  pass  {}", check.kind)?,
                Some(failure) => {
                    writeln!(
                        f,
                        "  FAIL  {}: {}",
                        check.kind,
                        escape::control_chars(&failure.problem)
                    )?;
                    // A hidden check, as students see it, has neither.
                    if !(failure.expected.is_empty() && failure.got.is_empty()) {
                        writeln!(f, "        expected:")?;
                        write_block(f, &failure.expected)?;
                        writeln!(f, "        got:")?;
                        write_block(f, &failure.got)?;
                    }
                    writeln!(f, "        hint: {}", escape::control_chars(&failure.hint))?;
                }
            }
        }
        for note in &self.notes {
            writeln!(f, "  note  {note}")?;
        }
        Ok(())
    }
}

fn write_block(f: &mut fmt::Formatter<'_>, text: &str) -> fmt::Result {
    if text.is_empty() {
        return writeln!(f, "          (nothing)");
    }
    for line in escape::control_chars(text).lines() {
        writeln!(f, "          {line}")?;
    }
    Ok(())
}

mod exercise;
mod whole;

pub use exercise::{Allotted, CheckRow, ExerciseReport, NOT_FOUND};
pub use whole::Report;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_is_capped_part_by_part_and_says_how_much_was_cut() {
        let huge = "x".repeat(1 << 20);
        let mut check = Check::fail(
            CheckKind::Output,
            Failure {
                problem: format!("`{huge}` is unexpected; printed 5 bytes too many"),
                expected: "a line".to_owned(),
                got: huge.clone(),
                hint: "print less".to_owned(),
            },
        );
        check.cap();
        let failure = check.failure.expect("failed");
        assert!(
            failure.problem.len() < PART_CAP + 100,
            "{}",
            failure.problem.len()
        );
        assert!(
            failure.problem.ends_with("; printed 5 bytes too many"),
            "every part kept"
        );
        assert!(failure.problem.contains("more bytes cut"));
        assert!(!failure.problem.contains('\n'), "one line");
        assert!(failure.got.len() < BLOCK_CAP + 100);
        assert!(failure.got.ends_with(&format!(
            "({} more bytes cut; {BLOCK_CAP} are shown)",
            (1 << 20) - BLOCK_CAP
        )));
        assert_eq!(failure.expected, "a line");
    }
}
