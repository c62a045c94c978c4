//! `grader`: builds a workspace of exercises (or each of several
//! submissions), runs each exercise and prints a report. Exit code 0 when
//! every check passed, 1 when one failed (a submission that does not build
//! fails), 2 when grading itself could not be done (a bad argument, a
//! directory that is not a workspace).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use grader::{Error, Report, StartMethod, batch, exercises, formats};
use indicatif::{ProgressBar, ProgressStyle};

/// Grade the multiprocessing exercises of a workspace, or of a whole class
/// of submissions (each a student's copy of the workspace).
#[derive(Parser)]
#[command(
    version,
    about,
    args_conflicts_with_subcommands = true,
    after_help = "Environment: GRADER_BUILD_TIMEOUT=SECONDS bounds each build (default 600); \
                  GRADER_PTRACE=off grades without kernel tracing."
)]
struct Args {
    #[command(subcommand)]
    command: Option<Command>,

    /// The submissions to grade: workspace directories. With more than one,
    /// or with --jobs, each gets a line in a summary and its own report
    /// under --out.
    #[arg(value_name = "PATH", default_value = ".")]
    paths: Vec<PathBuf>,

    /// Grade only this exercise (id such as q6, or package name); repeat
    /// for several.
    #[arg(short = 'e', long = "exercise", value_name = "ID")]
    only: Vec<String>,

    /// Grade this executable as the one --exercise named, without building.
    #[arg(long, value_name = "FILE", requires = "only", conflicts_with_all = ["paths", "jobs"])]
    binary: Option<PathBuf>,

    /// Grade this many submissions at a time, with a progress bar, and write
    /// OUT/summary.csv, OUT/summary.json and OUT/<submission>/report.txt.
    /// [default: the number of CPUs, when several PATHs are given]
    #[arg(short, long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    jobs: Option<u16>,

    /// Which start methods to grade under: each run is made once per method.
    #[arg(long, value_enum, default_value_t = Methods::Fork)]
    start_method: Methods,

    /// How to report: a table for people, or JSON for classroom tools.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,

    /// Where to write the JSON reports and, for several submissions, the
    /// summaries and per-submission reports.
    #[arg(long, value_name = "DIR", default_value = ".")]
    out: PathBuf,
}

#[derive(Subcommand)]
enum Command {
    /// Add an exercise: a crate, a workspace member and a registry entry
    /// whose placeholder check fails until it is filled in.
    New {
        /// The package, q<number>-<words>, such as q7-shared-memory.
        package: String,

        /// The workspace to add it to.
        #[arg(long, value_name = "DIR", default_value = ".")]
        workspace: PathBuf,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum Methods {
    /// fork only
    Fork,
    /// spawn only
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
        let [path] = args.paths.as_slice() else {
            unreachable!("one path unless grading a batch")
        };
        return grader::grade(path, &args.only, args.start_method.list()).map_err(|error| {
            match error {
                // `grader q6` was how one exercise used to be chosen.
                Error::NotAWorkspace(path) if exercises::find(&path).is_some() => {
                    Error::ExerciseAsPath(path)
                }
                error => error,
            }
        });
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

/// Grades every PATH, `--jobs` at a time, with a progress bar on stderr.
fn grade_batch(args: &Args) -> Result<bool, Error> {
    let jobs = args.jobs.map_or_else(num_cpus::get, usize::from);
    let bar = ProgressBar::new(args.paths.len() as u64).with_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} graded, {elapsed} {msg}")
            .expect("a valid template"),
    );
    let graded = batch::grade_all(
        &args.paths,
        &args.only,
        args.start_method.list(),
        jobs,
        &|s| {
            bar.set_message(format!("{}: {}", s.name, s.verdict()));
            bar.inc(1);
        },
    )?;
    bar.finish_and_clear();
    batch::write_summary(&args.out, &graded)?;
    batch::write_reports(&args.out, &graded, matches!(args.format, Format::Json))?;
    print!("{}", batch::Table(&graded));
    println!(
        "wrote {0}/summary.csv, {0}/summary.json and a report per submission in {0}/<submission>/",
        args.out.display()
    );
    Ok(graded.iter().all(|s| s.verdict() == "pass"))
}

fn main() -> ExitCode {
    let args = Args::parse();
    if let Some(Command::New { package, workspace }) = &args.command {
        return match grader::scaffold::new_exercise(workspace, package) {
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
    if args.paths.len() > 1 || args.jobs.is_some() {
        return match grade_batch(&args) {
            Ok(true) => ExitCode::SUCCESS,
            Ok(false) => ExitCode::FAILURE,
            Err(error) => {
                eprintln!("grader: {error}");
                ExitCode::from(2)
            }
        };
    }
    let graded = grade(&args);
    if let Format::Json = args.format {
        let written = match &graded {
            Ok(report) => batch::write_json(
                &args.out.join("autograding.json"),
                &formats::classroom(report),
            )
            .and_then(|()| {
                batch::write_json(&args.out.join("results.json"), &formats::exercism(report))
            }),
            Err(error) => batch::write_json(
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
