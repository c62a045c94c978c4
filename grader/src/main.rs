//! `grader`: builds a workspace of exercises (or each of several
//! submissions), runs each exercise and prints a report. Exit code 0 when
//! every check passed, 1 when one failed (a submission that does not build
//! fails), 2 when grading itself could not be done (a bad argument, a
//! directory that is not a workspace). With `--format github` it exits 0
//! whenever it graded, so that the workflow's reporter step always runs.
//!
//! The command line is [`cli`]; the work is the `grader` library's.

use std::process::ExitCode;

mod cli;

fn main() -> ExitCode {
    cli::run(&cli::Args::parse_checked())
}
