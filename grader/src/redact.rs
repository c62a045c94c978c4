//! What a student is shown of a report, on every platform (GitHub
//! Classroom's log and results, Gradescope's output and tests, Exercism's
//! file): the report with each hidden run told only as "a hidden check
//! failed", and no path of the grading machine.
//!
//! A hidden run's arguments, the output expected of it and what the
//! program printed under it would tell a student what the hidden checks
//! are; its checks still count, and their points show. The instructor's own
//! report (the terminal, `report.txt`, the gradebook, and Gradescope's
//! stdout, which students never see) keeps them in full.

use crate::report::{Failure, Report, RunReport};

/// What a failed hidden check says, in place of its problem.
pub const HIDDEN_FAILURE: &str = "a hidden check failed";

/// The hint of a failed hidden check.
const HIDDEN_HINT: &str = "hidden checks run the exercise with other arguments and sizes: a \
                           program that does what the exercise asks, rather than what the \
                           visible checks show, passes them";

/// The report as students may see it: each hidden run named `hidden run
/// N`, its failures told as [`HIDDEN_FAILURE`] with no expected or got
/// text, its notes left out; and every absolute path of this machine in
/// any text cut to its last part.
pub fn for_students(report: &Report) -> Report {
    let mut shown = report.clone();
    for exercise in &mut shown.exercises {
        let mut hidden = 0;
        for run in &mut exercise.runs {
            if run.hidden {
                hidden += 1;
                hide(run, hidden);
            }
            scrub_run(run);
        }
    }
    shown.unused = shown.unused.iter().map(|p| machine_paths(p)).collect();
    shown
}

fn hide(run: &mut RunReport, number: usize) {
    run.command = format!("hidden run {number}");
    run.notes.clear();
    for check in &mut run.checks {
        if check.failure.is_some() {
            check.failure = Some(Failure {
                problem: HIDDEN_FAILURE.to_owned(),
                expected: String::new(),
                got: String::new(),
                hint: HIDDEN_HINT.to_owned(),
            });
        }
    }
}

fn scrub_run(run: &mut RunReport) {
    for note in &mut run.notes {
        *note = machine_paths(note);
    }
    if let Some(todo) = &mut run.not_started {
        *todo = machine_paths(todo);
    }
    for failure in run.checks.iter_mut().filter_map(|c| c.failure.as_mut()) {
        for text in [
            &mut failure.problem,
            &mut failure.expected,
            &mut failure.got,
            &mut failure.hint,
        ] {
            *text = machine_paths(text);
        }
    }
}

/// `text` with each absolute path of two parts or more (`/tmp/x/main.rs`)
/// cut to `.../` and its last part (`.../main.rs`): where a file was on
/// the grading machine is no student's business, and names its accounts
/// and temporary directories. A URL's `//` is left alone.
pub fn machine_paths(text: &str) -> String {
    let is_path_char = |c: char| c.is_alphanumeric() || "._-+@~/".contains(c);
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    let mut previous: Option<char> = None;
    while let Some(c) = rest.chars().next() {
        let starts = c == '/'
            && !rest.starts_with("//")
            && previous.is_none_or(|p| p.is_whitespace() || "\"'`(<[{=:,".contains(p));
        if starts {
            let end = rest.find(|c: char| !is_path_char(c)).unwrap_or(rest.len());
            let path = &rest[..end];
            let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
            if parts.len() >= 2 {
                out.push_str(".../");
                out.push_str(parts.last().expect("two parts"));
                if path.ends_with('/') {
                    out.push('/');
                }
                previous = path.chars().last();
                rest = &rest[end..];
                continue;
            }
        }
        out.push(c);
        previous = Some(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::machine_paths;

    #[test]
    fn absolute_paths_are_cut_to_their_last_part() {
        assert_eq!(
            machine_paths("--> /tmp/grader-submission-x1/q6-four-processes/src/main.rs:3:5"),
            "--> .../main.rs:3:5"
        );
        assert_eq!(
            machine_paths("could not read \"/home/ann/work/q6\": gone"),
            "could not read \".../q6\": gone"
        );
        assert_eq!(
            machine_paths("(no log at /autograder/results/report.txt)"),
            "(no log at .../report.txt)"
        );
    }

    #[test]
    fn other_slashes_stay() {
        for text in [
            "see https://doc.rust-lang.org/std/index.html",
            "q6-four-processes/src/main.rs:3:5",
            "1/2 of the checks, and / alone, and /tmp",
            "a ratio 10/3",
        ] {
            assert_eq!(machine_paths(text), text);
        }
    }
}
