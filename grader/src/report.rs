//! Verdicts: a check passes or fails with expected, got and a hint; a run's
//! checks make a [`RunReport`]; every run of every exercise makes a
//! [`Report`] with scores.

use std::fmt;

use crate::escape;
use crate::exercises::Exercise;
use crate::points::{self, Points};

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

/// The problem of an exercise a submission does not have.
pub const NOT_FOUND: &str = "not found in the submission";

/// The grade of one exercise: its runs and its score.
#[derive(Debug, Clone)]
pub struct ExerciseReport {
    /// The exercise's id.
    pub id: &'static str,
    /// Its package.
    pub package: &'static str,
    /// Which question of which seed document it ports.
    pub ports: &'static str,
    /// The points it is worth.
    pub points: u32,
    /// Each run's checks.
    pub runs: Vec<RunReport>,
    /// How many checks this copy of the grader does not have: they are
    /// hidden from students and run when the instructor grades.
    pub withheld: usize,
}

impl ExerciseReport {
    /// The report of an exercise that could not be run because it was not
    /// built: one failed `build` check, `why` as its problem and `error`
    /// (the compiler's first error) as what was got.
    pub fn unbuilt(exercise: &'static Exercise, why: &str, error: &str) -> ExerciseReport {
        let failure = Failure {
            problem: why.to_owned(),
            expected: format!("cargo build builds the binary {}", exercise.package),
            got: error.to_owned(),
            hint: "run `cargo build` in the submission and fix the first error it shows".to_owned(),
        };
        ExerciseReport {
            id: exercise.id,
            package: exercise.package,
            ports: exercise.ports,
            points: exercise.points,
            runs: vec![RunReport {
                exercise: exercise.id,
                command: "cargo build".to_owned(),
                checks: vec![Check::fail(CheckKind::Build, failure)],
                notes: Vec::new(),
                not_started: None,
                hidden: false,
            }],
            withheld: 0,
        }
    }

    /// The report of an exercise a submission does not have: one failed
    /// `build` check, "not found in the submission" as its problem, where it was looked for
    /// as what was got, and the layouts `accepted` as what was expected.
    /// It scores 0, as one not started does.
    pub fn not_found(
        exercise: &'static Exercise,
        looked_for: &str,
        accepted: &str,
    ) -> ExerciseReport {
        let mut report = ExerciseReport::unbuilt(exercise, NOT_FOUND, looked_for);
        for run in &mut report.runs {
            run.command = "find the sources".to_owned();
        }
        for failure in report
            .runs
            .iter_mut()
            .flat_map(|r| &mut r.checks)
            .filter_map(|c| c.failure.as_mut())
        {
            failure.expected = accepted.to_owned();
            failure.hint = format!(
                "hand in {}'s src/main.rs in one of these layouts",
                exercise.package
            );
        }
        report
    }

    /// Whether this is the report of an exercise the submission does not
    /// have.
    pub fn is_not_found(&self) -> bool {
        matches!(self.runs.as_slice(), [run] if run.failure(CheckKind::Build.name()).is_some_and(|f| f.problem == NOT_FOUND))
    }

    /// Every check of every run, in order, with whether it passed and the
    /// points it is worth: the exercise's points shared equally among its
    /// checks, hidden ones included, as [`points::share`] says, so that
    /// every check is worth something and they add up to exactly the
    /// exercise's points.
    pub fn allotted(&self) -> Vec<Allotted<'_>> {
        let checks: Vec<(&RunReport, &Check)> = self
            .runs
            .iter()
            .flat_map(|run| run.checks.iter().map(move |check| (run, check)))
            .collect();
        let shares = points::share(self.points, checks.len());
        checks
            .into_iter()
            .zip(shares)
            .map(|((run, check), points)| Allotted {
                run,
                check,
                passed: run.check_passed(check),
                points,
            })
            .collect()
    }

    /// Points earned: the points of the checks that passed, so that full
    /// marks need every check.
    pub fn score(&self) -> Points {
        self.allotted()
            .iter()
            .filter(|a| a.passed)
            .map(|a| a.points)
            .sum()
    }

    /// Whether every check of every run passed.
    pub fn passed(&self) -> bool {
        self.runs.iter().all(RunReport::passed)
    }

    /// The first run that reached a `todo!` placeholder, if any.
    pub fn not_started(&self) -> Option<&str> {
        self.runs.iter().find_map(|r| r.not_started.as_deref())
    }
}

/// One check with its share of its exercise's points.
#[derive(Debug, Clone, Copy)]
pub struct Allotted<'a> {
    /// The run it belongs to.
    pub run: &'a RunReport,
    /// The check.
    pub check: &'a Check,
    /// Whether it passed (not when its run reached a placeholder).
    pub passed: bool,
    /// The points it is worth.
    pub points: Points,
}

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

impl ExerciseReport {
    /// Each check by name, over every run: the points it is worth, the points
    /// earned, and whether it passed in every run.
    pub fn checks(&self) -> Vec<CheckRow> {
        let mut rows: Vec<CheckRow> = Vec::new();
        for allotted in self.allotted() {
            let earned = if allotted.passed {
                allotted.points
            } else {
                Points::ZERO
            };
            match rows.iter_mut().find(|r| r.kind == allotted.check.kind) {
                Some(row) => {
                    row.possible += allotted.points;
                    row.earned += earned;
                    row.passed &= allotted.passed;
                }
                None => rows.push(CheckRow {
                    kind: allotted.check.kind,
                    possible: allotted.points,
                    earned,
                    passed: allotted.passed,
                }),
            }
        }
        rows
    }
}

/// One row of the report's table: a check over every run of an exercise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckRow {
    /// The check.
    pub kind: CheckKind,
    /// The points it is worth over every run.
    pub possible: Points,
    /// The points earned.
    pub earned: Points,
    /// Whether it passed in every run.
    pub passed: bool,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
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
