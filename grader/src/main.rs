//! `grader`: builds a workspace of exercises, runs each one and prints a
//! report. Exit code 0 when every check passed, 1 when one failed, 2 when
//! grading itself could not be done (a bad argument, a build that fails).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use grader::{Error, Report, StartMethod, exercises, formats};

/// Grade the multiprocessing exercises of a workspace.
#[derive(Parser)]
#[command(version, about, args_conflicts_with_subcommands = true)]
struct Args {
    #[command(subcommand)]
    command: Option<Command>,

    /// The workspace to grade.
    #[arg(long, value_name = "DIR", default_value = ".")]
    workspace: PathBuf,

    /// Grade this executable as the one exercise named, without building.
    #[arg(long, value_name = "PATH", requires = "only")]
    binary: Option<PathBuf>,

    /// Which start methods to grade under: each run is made once per method.
    #[arg(long, value_enum, default_value_t = Methods::Fork)]
    start_method: Methods,

    /// How to report: a table for people, or JSON for classroom tools.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,

    /// With --format json: where to write autograding.json (GitHub
    /// Classroom) and results.json (Exercism).
    #[arg(long, value_name = "DIR", default_value = ".")]
    out: PathBuf,

    /// Grade only these exercises (id such as q6, or package name).
    #[arg(value_name = "EXERCISE")]
    only: Vec<String>,
}

#[derive(Subcommand)]
enum Command {
    /// Add an exercise: a crate, a workspace member and a registry entry
    /// whose placeholder check fails until it is filled in.
    New {
        /// The package, q<number>-<words>, such as q7-shared-memory.
        package: String,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum Methods {
    /// fork only
    Fork,
    /// spawn only (exercises that are fork only are graded under fork)
    Spawn,
    /// every run under fork, then under spawn
    Both,
}

impl Methods {
    fn list(self) -> &'static [StartMethod] {
        match self {
            Methods::Fork => &[StartMethod::Fork],
            Methods::Spawn => &[StartMethod::Spawn],
            Methods::Both => &[StartMethod::Fork, StartMethod::Spawn],
        }
    }
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    /// A table of exercises and points, then every failure in full.
    Text,
    /// GitHub Classroom's autograding result (version 1) to
    /// OUT/autograding.json and Exercism's results.json (version 3) to
    /// OUT/results.json; the table still goes to stdout.
    Json,
}

fn grade(args: &Args) -> Result<Report, Error> {
    let Some(binary) = &args.binary else {
        return grader::grade(&args.workspace, &args.only, args.start_method.list());
    };
    let [name] = args.only.as_slice() else {
        return Err(Error::UnknownExercise(args.only.join(" ")));
    };
    let exercise = exercises::find(name).ok_or_else(|| Error::UnknownExercise(name.clone()))?;
    Ok(Report {
        exercises: vec![grader::grade_exercise_with(
            exercise,
            binary,
            args.start_method.list(),
        )?],
    })
}

fn write_json(path: &Path, value: &impl serde::Serialize) -> Result<(), String> {
    let text = serde_json::to_string_pretty(value).expect("plain data");
    std::fs::write(path, text + "\n").map_err(|e| format!("cannot write {}: {e}", path.display()))
}

fn main() -> ExitCode {
    let args = Args::parse();
    if let Some(Command::New { package }) = &args.command {
        return match grader::scaffold::new_exercise(&args.workspace, package) {
            Ok(written) => {
                for path in written {
                    println!("wrote {path}");
                }
                println!("now: cargo test (the placeholder check fails until you fill it in)");
                ExitCode::SUCCESS
            }
            Err(error) => {
                eprintln!("grader: {error}");
                ExitCode::from(2)
            }
        };
    }
    let graded = grade(&args);
    if let Format::Json = args.format {
        let written = match &graded {
            Ok(report) => write_json(
                &args.out.join("autograding.json"),
                &formats::classroom(report),
            )
            .and_then(|()| write_json(&args.out.join("results.json"), &formats::exercism(report))),
            Err(error) => write_json(
                &args.out.join("results.json"),
                &formats::exercism_error(&error.to_string()),
            ),
        };
        if let Err(why) = written {
            eprintln!("grader: {why}");
            return ExitCode::from(2);
        }
    }
    match graded {
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
