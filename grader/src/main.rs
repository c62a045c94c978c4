//! `grader`: builds a workspace of exercises, runs each one and prints a
//! report. Exit code 0 when every check passed, 1 when one failed, 2 when
//! grading itself could not be done (a bad argument, a build that fails).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use grader::{Error, Report, exercises};

/// Grade the multiprocessing exercises of a workspace.
#[derive(Parser)]
#[command(version, about)]
struct Args {
    /// The workspace to grade.
    #[arg(long, value_name = "DIR", default_value = ".")]
    workspace: PathBuf,

    /// Grade this executable as the one exercise named, without building.
    #[arg(long, value_name = "PATH", requires = "only")]
    binary: Option<PathBuf>,

    /// Grade only these exercises (id such as q6, or package name).
    #[arg(value_name = "EXERCISE")]
    only: Vec<String>,
}

fn run(args: &Args) -> Result<Report, Error> {
    let Some(binary) = &args.binary else {
        return grader::grade(&args.workspace, &args.only);
    };
    let [name] = args.only.as_slice() else {
        return Err(Error::UnknownExercise(args.only.join(" ")));
    };
    let exercise = exercises::find(name).ok_or_else(|| Error::UnknownExercise(name.clone()))?;
    Ok(Report {
        exercises: vec![grader::grade_exercise(exercise, binary)?],
    })
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(report) => {
            print!("{report}");
            if report.passed() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(error) => {
            eprintln!("grader: {error}");
            ExitCode::from(2)
        }
    }
}
