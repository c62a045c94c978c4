//! `grader`: builds a workspace of exercises, runs each one and prints a
//! report. Exit code 0 when every check passed, 1 when one failed, 2 when
//! grading itself could not be done.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

/// Grade the multiprocessing exercises of a workspace.
#[derive(Parser)]
#[command(version, about)]
struct Args {
    /// The workspace to grade.
    #[arg(long, value_name = "DIR", default_value = ".")]
    workspace: PathBuf,

    /// Grade only these exercises (id such as q6, or package name).
    #[arg(value_name = "EXERCISE")]
    only: Vec<String>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    match grader::grade(&args.workspace, &args.only) {
        Ok(report) => {
            print!("{report}");
            if report.passed() { ExitCode::SUCCESS } else { ExitCode::FAILURE }
        }
        Err(error) => {
            eprintln!("grader: {error}");
            ExitCode::from(2)
        }
    }
}
