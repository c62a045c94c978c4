//! `cargo test` as a student reads it: the workspace is built and every
//! exercise graded, each on one line (pass, TODO with the `todo!` it
//! reached, or the first thing wrong), then how many pass. Every exercise
//! is graded even when one fails, and nothing a program prints (its
//! panics included) reaches the screen: the grader captures it.
//!
//! A test of its own (`harness = false`), so that the lines are the
//! report's and not libtest's. It fails (exit code 1) unless every
//! exercise passes every check, which is how the instructor's workspace
//! checks its reference solutions too. A filter (`cargo test q6`) grades
//! the exercises whose id or package contains it; `--list` lists them.

use std::process::ExitCode;

use grader::{EXERCISES, Exercise, ExerciseReport};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let filters: Vec<&str> = args
        .iter()
        .filter(|a| !a.starts_with('-'))
        .map(String::as_str)
        .collect();
    let chosen: Vec<&Exercise> = EXERCISES
        .iter()
        .filter(|e| {
            filters.is_empty()
                || filters
                    .iter()
                    .any(|f| e.id.contains(f) || e.package.contains(f))
        })
        .collect();
    if args.iter().any(|a| a == "--list") {
        for exercise in &chosen {
            println!("{}: test", exercise.id);
        }
        return ExitCode::SUCCESS;
    }
    if chosen.is_empty() {
        return ExitCode::SUCCESS;
    }
    let workspace = grader::instructor_workspace();
    let only: Vec<String> = chosen.iter().map(|e| e.id.to_owned()).collect();
    let method = match common::get_start_method() {
        Ok(method) => method,
        Err(error) => return fail(&error.to_string()),
    };
    let report = match grader::grade(&workspace, &only, &[method]) {
        Ok(report) => report,
        Err(error) => return fail(&error.to_string()),
    };
    println!();
    for exercise in &report.exercises {
        println!("{}", line(exercise));
    }
    let passing = report.exercises.iter().filter(|e| e.passed()).count();
    let (earned, possible) = report.score();
    let withheld: usize = report.exercises.iter().map(|e| e.withheld).sum();
    print!(
        "{passing} of {} exercises pass, {earned}/{possible} points",
        report.exercises.len()
    );
    if withheld > 0 {
        print!("; {withheld} hidden checks will also run when your work is graded");
    }
    println!();
    if report.passed() {
        println!();
        ExitCode::SUCCESS
    } else {
        println!("`cargo run -p grader` shows each failure in full, with a hint\n");
        ExitCode::FAILURE
    }
}

/// An exercise in one line: its id, its verdict and points, and the first
/// thing wrong.
fn line(exercise: &ExerciseReport) -> String {
    let points = format!("{}/{}", exercise.score(), exercise.points);
    let head = format!("{:<4} {:<24}", exercise.id, exercise.package);
    if exercise.passed() {
        return format!("{head} pass  {points}");
    }
    if let Some(todo) = exercise.not_started() {
        let todo = todo.lines().next().unwrap_or_default();
        return format!("{head} TODO  {points}  {todo}");
    }
    let first = exercise.runs.iter().find_map(|run| {
        run.checks.iter().find_map(|check| {
            check
                .failure
                .as_ref()
                .map(|f| format!("{}: {}: {}", run.command, check.kind, f.problem))
        })
    });
    let first = first.unwrap_or_default();
    let first = first.lines().next().unwrap_or_default();
    format!("{head} FAIL  {points}  {first}")
}

/// Grading could not be done at all: why, and a failed test.
fn fail(why: &str) -> ExitCode {
    println!("\ncould not grade: {why}\n");
    ExitCode::FAILURE
}
