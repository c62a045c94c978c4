//! Verdicts: a check passes or fails with expected, got and a hint; a run's
//! checks make a [`RunReport`]; every run of every exercise makes a
//! [`Report`] with scores.

use std::fmt;

use crate::exercises::Exercise;

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

/// One check of one run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// Such as `output` or `processes`.
    pub name: &'static str,
    /// `None` when it passed.
    pub failure: Option<Failure>,
}

impl Check {
    /// A check that passed.
    pub fn pass(name: &'static str) -> Check {
        Check {
            name,
            failure: None,
        }
    }

    /// A check that failed.
    pub fn fail(name: &'static str, failure: Failure) -> Check {
        Check {
            name,
            failure: Some(failure),
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
}

impl RunReport {
    /// Whether every check passed.
    pub fn passed(&self) -> bool {
        self.checks.iter().all(|c| c.failure.is_none())
    }

    /// The failure of the check called `name`, if it failed.
    pub fn failure(&self, name: &str) -> Option<&Failure> {
        self.checks
            .iter()
            .find(|c| c.name == name)
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
        for check in &self.checks {
            match &check.failure {
                None => writeln!(f, "  pass  {}", check.name)?,
                Some(failure) => {
                    writeln!(f, "  FAIL  {}: {}", check.name, failure.problem)?;
                    writeln!(f, "        expected:")?;
                    write_block(f, &failure.expected)?;
                    writeln!(f, "        got:")?;
                    write_block(f, &failure.got)?;
                    writeln!(f, "        hint: {}", failure.hint)?;
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
    for line in text.lines() {
        writeln!(f, "          {line}")?;
    }
    Ok(())
}

/// The grade of one exercise: its runs and its score.
#[derive(Debug, Clone)]
pub struct ExerciseReport {
    /// The exercise's id.
    pub id: &'static str,
    /// Its package.
    pub package: &'static str,
    /// The points it is worth.
    pub points: u32,
    /// Each run's checks.
    pub runs: Vec<RunReport>,
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
            points: exercise.points,
            runs: vec![RunReport {
                exercise: exercise.id,
                command: "cargo build".to_owned(),
                checks: vec![Check::fail("build", failure)],
                notes: Vec::new(),
            }],
        }
    }

    /// Points earned: a share of the exercise's points equal to the share of
    /// checks passed, rounded down, so that full marks need every check.
    pub fn score(&self) -> u32 {
        let checks = self.runs.iter().flat_map(|r| &r.checks);
        let total = checks.clone().count() as u64;
        let passed = checks.filter(|c| c.failure.is_none()).count() as u64;
        if total == 0 {
            return 0;
        }
        u32::try_from(u64::from(self.points) * passed / total).expect("at most the points")
    }
}

/// The grade of a whole submission.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// One entry per exercise graded.
    pub exercises: Vec<ExerciseReport>,
}

impl Report {
    /// Whether every check of every exercise passed.
    pub fn passed(&self) -> bool {
        self.exercises
            .iter()
            .all(|e| e.runs.iter().all(RunReport::passed))
    }

    /// Points earned and points possible.
    pub fn score(&self) -> (u32, u32) {
        let earned = self.exercises.iter().map(ExerciseReport::score).sum();
        let possible = self.exercises.iter().map(|e| e.points).sum();
        (earned, possible)
    }
}

/// Points with at most two decimals, and none when they are whole.
fn points(value: f64) -> String {
    let text = format!("{value:.2}");
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

impl ExerciseReport {
    /// Each check by name, over every run: its share of the points (the
    /// exercise's points split evenly among all checks of all runs), the
    /// share earned, and whether it passed in every run.
    pub fn checks(&self) -> Vec<(&'static str, f64, f64, bool)> {
        let all: Vec<&Check> = self.runs.iter().flat_map(|r| &r.checks).collect();
        let each = f64::from(self.points) / all.len().max(1) as f64;
        let mut rows: Vec<(&'static str, f64, f64, bool)> = Vec::new();
        for check in all {
            let passed = check.failure.is_none();
            let earned = if passed { each } else { 0.0 };
            match rows.iter_mut().find(|(name, ..)| *name == check.name) {
                Some(row) => {
                    row.1 += each;
                    row.2 += earned;
                    row.3 &= passed;
                }
                None => rows.push((check.name, each, earned, passed)),
            }
        }
        rows
    }
}

fn verdict(passed: bool) -> &'static str {
    if passed { "pass" } else { "FAIL" }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{:<5} {:<26} {:>11}  verdict", "id", "check", "points")?;
        for exercise in &self.exercises {
            for (name, possible, earned, passed) in exercise.checks() {
                let shown = format!("{}/{}", points(earned), points(possible));
                writeln!(
                    f,
                    "{:<5} {name:<26} {shown:>11}  {}",
                    exercise.id,
                    verdict(passed)
                )?;
            }
            let passed = exercise.runs.iter().all(RunReport::passed);
            let shown = format!("{}/{}", exercise.score(), exercise.points);
            writeln!(
                f,
                "{:<5} {:<26} {shown:>11}  {}",
                exercise.id,
                format!("= {}", exercise.package),
                verdict(passed)
            )?;
        }
        let (earned, possible) = self.score();
        writeln!(f, "total {earned}/{possible}")?;
        for run in self.exercises.iter().flat_map(|e| &e.runs) {
            if !run.passed() || !run.notes.is_empty() {
                writeln!(f)?;
                write!(f, "{run}")?;
            }
        }
        Ok(())
    }
}
