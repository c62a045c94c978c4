//! `grader`: builds a workspace of exercises (or each of several
//! submissions), runs each exercise and prints a report. Exit code 0 when
//! every check passed, 1 when one failed (a submission that does not build
//! fails), 2 when grading itself could not be done (a bad argument, a
//! directory that is not a workspace). With `--format github` it exits 0
//! whenever it graded, so that the workflow's reporter step always runs.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Mutex;
use std::time::Instant;

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
    /// or with --jobs, each gets a row in the gradebook and its own report
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

    /// How to report: a table for people, or what a classroom platform reads.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,

    /// Build and grade each PATH whole, with cargo, as it is (its own
    /// manifests, build scripts and copy of `common`), rather than only its
    /// exercises' sources against this workspace.
    #[arg(long)]
    whole: bool,

    /// Where to write the JSON reports and, for several submissions, the
    /// gradebook and per-submission reports; made if missing.
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
    /// Write the students' copy of this workspace to OUT: solutions replaced
    /// by todo!() stubs, hidden checks and instructor material left out.
    Handout {
        /// Where to write it; must not exist or be empty.
        out: PathBuf,

        /// The instructor's workspace.
        #[arg(long, value_name = "DIR", default_value = ".")]
        workspace: PathBuf,
    },
    /// Grade again whenever a file of the workspace is saved; q quits.
    Watch {
        /// The workspace to watch.
        #[arg(long, value_name = "DIR", default_value = ".")]
        workspace: PathBuf,

        /// Watch only this exercise; repeat for several.
        #[arg(short = 'e', long = "exercise", value_name = "ID")]
        only: Vec<String>,
    },
    /// Write Gradescope's autograder zip (setup.sh, run_autograder and this
    /// workspace's sources) to FILE.
    Gradescope {
        /// The zip to write.
        zip: PathBuf,

        /// The instructor's workspace.
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
    /// forkserver only
    Forkserver,
    /// every run under fork, then under spawn
    Both,
    /// every run under fork, spawn and forkserver
    All,
}

impl Methods {
    fn list(self) -> &'static [StartMethod] {
        match self {
            Methods::Fork => &[StartMethod::Fork],
            Methods::Spawn => &[StartMethod::Spawn],
            Methods::Forkserver => &[StartMethod::Forkserver],
            Methods::Both => &[StartMethod::Fork, StartMethod::Spawn],
            Methods::All => &[
                StartMethod::Fork,
                StartMethod::Spawn,
                StartMethod::Forkserver,
            ],
        }
    }
}

/// How reports are written; the text table always goes to the terminal.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    /// A table of exercises and points, then every failure in full.
    Text,
    /// GitHub Classroom's autograding result (version 1) to
    /// OUT/autograding.json and Exercism's results.json (version 3) to
    /// OUT/results.json.
    Json,
    /// The `result=<base64>` line a GitHub Actions step appends to
    /// $GITHUB_OUTPUT for Classroom's reporter, on stdout (the table goes to
    /// stderr); exits 0 whenever it graded.
    Github,
    /// Gradescope's results.json to OUT/results.json.
    Gradescope,
}

impl Format {
    fn batch_formats(self) -> batch::Formats {
        batch::Formats {
            json: self == Format::Json,
            gradescope: self == Format::Gradescope,
        }
    }
}

/// Whether `path` is graded whole: the grader's own workspace, or any with
/// `--whole`.
fn whole(args: &Args, path: &Path) -> bool {
    args.whole || grader::submission::is_own_workspace(path)
}

/// The instructor's workspace, built, when some PATH is graded from its
/// exercises' sources.
fn instructor(args: &Args) -> Result<Option<grader::submission::Instructor>, Error> {
    if args.paths.iter().all(|p| whole(args, p)) {
        return Ok(None);
    }
    grader::submission::Instructor::prepare(&grader::submission::instructor_workspace()).map(Some)
}

/// How to grade `path`.
fn source<'a>(
    args: &Args,
    path: &Path,
    instructor: &'a Option<grader::submission::Instructor>,
) -> grader::Source<'a> {
    match instructor {
        Some(instructor) if !whole(args, path) => grader::Source::Exercises(instructor),
        _ => grader::Source::Whole,
    }
}

/// Grades the one PATH, or the one `--binary`.
fn grade(args: &Args) -> Result<Report, Error> {
    let Some(binary) = &args.binary else {
        let [path] = args.paths.as_slice() else {
            unreachable!("one path unless grading a batch")
        };
        if !path.join("Cargo.toml").is_file() && exercises::find(&path.to_string_lossy()).is_some()
        {
            // `grader q6` was how one exercise used to be chosen.
            return Err(Error::ExerciseAsPath(path.display().to_string()));
        }
        let instructor = instructor(args)?;
        let source = source(args, path, &instructor);
        return grader::grade_as(path, &args.only, args.start_method.list(), &source).map_err(
            |error| {
                match error {
                    // `grader q6` was how one exercise used to be chosen.
                    Error::NotAWorkspace(path) if exercises::find(&path).is_some() => {
                        Error::ExerciseAsPath(path)
                    }
                    error => error,
                }
            },
        );
    };
    let [name] = args.only.as_slice() else {
        return Err(Error::OneExerciseForBinary(args.only.clone()));
    };
    let exercise = exercises::find(name).ok_or_else(|| Error::UnknownExercise(name.clone()))?;
    let binary = grader::executable(binary)?;
    Ok(Report {
        exercises: vec![grader::grade_exercise_with(
            exercise,
            &binary,
            args.start_method.list(),
        )?],
        unused: Vec::new(),
    })
}

/// Grades every PATH, `--jobs` at a time, with a progress bar on stderr.
/// Each submission's report and gradebook row are written as soon as it is
/// graded, so an interrupted batch keeps what it finished.
fn grade_batch(args: &Args) -> Result<bool, Error> {
    let jobs = args.jobs.map_or_else(num_cpus::get, usize::from);
    let bar = ProgressBar::new(args.paths.len() as u64).with_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} graded, {elapsed} {msg}")
            .expect("a valid template"),
    );
    let gradebook = Mutex::new(batch::Gradebook::open(&args.out)?);
    let formats = args.format.batch_formats();
    let write_error = Mutex::new(None);
    let instructor = instructor(args)?;
    let graded = batch::grade_all(
        &args.paths,
        &args.only,
        args.start_method.list(),
        jobs,
        if args.whole {
            None
        } else {
            instructor.as_ref()
        },
        &|s| {
            bar.set_message(format!("{}: {}", s.name, s.verdict()));
            bar.inc(1);
            let written = batch::write_report(&args.out, s, formats).and_then(|()| {
                let mut book = gradebook.lock().unwrap_or_else(|p| p.into_inner());
                book.record(s);
                book.save()
            });
            if let Err(error) = written {
                write_error
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .get_or_insert(error);
            }
        },
    )?;
    bar.finish_and_clear();
    print!("{}", batch::Table(&graded));
    match write_error.into_inner().unwrap_or_else(|p| p.into_inner()) {
        Some(error) => eprintln!("grader: {error}"),
        None => println!(
            "wrote {0}/summary.csv, {0}/summary.json and a report per submission in {0}/<submission>/",
            args.out.display()
        ),
    }
    if graded.iter().all(|s| s.outcome.is_err()) {
        return Err(Error::NothingGraded);
    }
    Ok(graded.iter().all(|s| s.verdict() == batch::Verdict::Pass))
}

fn main() -> ExitCode {
    let args = Args::parse();
    match &args.command {
        Some(Command::New { package, workspace }) => {
            return finish(
                grader::author::new::new_exercise(workspace, package).map(|written| {
                    for path in written {
                        println!("wrote {path}");
                    }
                    println!("now: cargo test (the placeholder check fails until you fill it in)");
                }),
            );
        }
        Some(Command::Handout { out, workspace }) => {
            return finish(
                grader::author::handout::write(workspace, out).map(|summary| {
                    print!("{summary}");
                }),
            );
        }
        Some(Command::Watch { workspace, only }) => {
            return finish(grader::author::watch::run(workspace, only));
        }
        Some(Command::Gradescope { zip, workspace }) => {
            return finish(
                grader::author::gradescope::write_zip(workspace, zip).map(|()| {
                    println!(
                        "wrote {}: upload it as the assignment's autograder",
                        zip.display()
                    );
                }),
            );
        }
        None => {}
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
    let started = Instant::now();
    let graded = grade(&args);
    // The report is printed whatever happens to the files.
    match (&graded, args.format) {
        (Ok(report), Format::Github) => {
            eprint!("{report}");
            println!("{}", formats::github_output(report));
        }
        (Ok(report), _) => print!("{report}"),
        (Err(_), Format::Github) => println!("{}", formats::github_error_output()),
        (Err(_), _) => {}
    }
    let written = batch::create_dir(&args.out).and_then(|()| {
        let error = graded.as_ref().err().map(ToString::to_string);
        let outcome = graded
            .as_ref()
            .map_err(|_| error.as_deref().unwrap_or_default());
        batch::write_platform_files(
            &args.out,
            outcome,
            args.format.batch_formats(),
            started.elapsed(),
        )
    });
    if let Err(why) = written {
        eprintln!("grader: {why}");
        return ExitCode::from(2);
    }
    match graded {
        Ok(report) if report.passed() || args.format == Format::Github => ExitCode::SUCCESS,
        Ok(_) => ExitCode::FAILURE,
        Err(error) => {
            eprintln!("grader: {error}");
            ExitCode::from(2)
        }
    }
}

/// Exit code 0, or 2 with the error on one line.
fn finish(outcome: Result<(), Error>) -> ExitCode {
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("grader: {error}");
            ExitCode::from(2)
        }
    }
}
