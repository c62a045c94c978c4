//! Each command to the engine or authoring call that does it, and its
//! outcome to output and an exit code: 0 when every check passed, 1 when
//! one failed, 2 when grading itself could not be done.

use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use grader::{Error, Instructor, Report, SandboxPolicy, Source, batch, exercises, formats};

use super::args::{Args, Command, Format};
use super::progress::grade_batch;

/// Runs what `args` asks for.
pub(crate) fn run(args: &Args) -> ExitCode {
    if let Some(command) = &args.command {
        return finish(author(command));
    }
    if let Err(error) = require_sandbox(args.sandbox_policy()) {
        return fail(&error);
    }
    if args.is_batch() {
        return match grade_batch(args, || instructor(args)) {
            Ok(true) => ExitCode::SUCCESS,
            Ok(false) => ExitCode::FAILURE,
            Err(error) => fail(&error),
        };
    }
    let started = Instant::now();
    let graded = grade(args);
    // The report is printed whatever happens to the files.
    match (&graded, args.format) {
        (Ok(report), Format::Github) => {
            // The workflow's log is the student's to read.
            eprint!("{}", grader::redact::for_students(report));
            print!("{}", formats::github_env(report));
        }
        (Ok(report), _) => print!("{report}"),
        (Err(error), Format::Github) => {
            print!(
                "{}",
                formats::github_env_error(&error.to_string(), possible(args))
            );
        }
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
        return fail(&why);
    }
    match graded {
        Ok(report) if report.passed() || args.format == Format::Github => ExitCode::SUCCESS,
        Ok(_) => ExitCode::FAILURE,
        Err(error) => fail(&error),
    }
}

/// The points of the exercises asked for (all, when none or an unknown
/// one is named).
fn possible(args: &Args) -> grader::Points {
    exercises::chosen(&args.only)
        .unwrap_or_else(|_| exercises::EXERCISES.iter().collect())
        .iter()
        .map(|e| grader::Points::whole(e.points))
        .sum()
}

/// Runs an authoring command, printing what it made.
fn author(command: &Command) -> Result<(), Error> {
    use grader::author::{gradescope, handout, kit, new, watch};
    match command {
        Command::New { package, workspace } => {
            for path in new::new_exercise(workspace, package)? {
                println!("wrote {path}");
            }
            println!("now: cargo test (the placeholder check fails until you fill it in)");
        }
        Command::Handout { out, workspace } => print!("{}", handout::write(workspace, out)?),
        Command::Kit { out, workspace } => print!("{}", kit::write(workspace, out)?),
        Command::Watch {
            workspace,
            only,
            once: true,
            focus,
        } => watch::once(workspace, only, focus.as_deref())?,
        Command::Watch {
            workspace, only, ..
        } => {
            let grader = std::env::current_exe().map_err(|e| Error::Io {
                what: "find the grader's executable".to_owned(),
                source: e,
            })?;
            watch::run(workspace, only, &grader)?;
        }
        Command::Gradescope { zip, workspace } => {
            gradescope::write_zip(workspace, zip)?;
            println!(
                "wrote {}: upload it as the assignment's autograder",
                zip.display()
            );
        }
        Command::Sandbox => print!("{}", describe_sandbox()?),
        Command::GradescopeError {
            out,
            exit_code,
            log,
        } => gradescope::write_failure(out, *exit_code, log)?,
    }
    Ok(())
}

/// Refuses, unless the sandbox here has what `policy` requires; then
/// holds every run to it.
fn require_sandbox(policy: SandboxPolicy) -> Result<(), Error> {
    if policy != SandboxPolicy::BestEffort {
        let refused = grader::observe::probe()?.refused_by(policy);
        if !refused.is_empty() {
            return Err(Error::Unsandboxed(refused.join(", no ")));
        }
    }
    policy.set();
    Ok(())
}

/// What the sandbox has here, layer by layer: a run's, cargo's build's,
/// and which policies would grade.
fn describe_sandbox() -> Result<String, Error> {
    use std::fmt::Write as _;
    let layers = grader::observe::probe()?;
    let mut said = String::new();
    let uid = nix::unistd::geteuid();
    let who = if uid.is_root() {
        "root".to_owned()
    } else {
        format!("uid {uid}, not root")
    };
    let _ = writeln!(said, "as {who}, a run here has:");
    for had in layers.had() {
        let _ = writeln!(said, "  - {had}");
    }
    let missing = layers.missing();
    if !missing.is_empty() {
        let _ = writeln!(said, "and has no:");
        for lacked in missing {
            let _ = writeln!(said, "  - {lacked}");
        }
    }
    if let Some(why) = &layers.why_not {
        let _ = writeln!(said, "(without namespaces: {why})");
    }
    match grader::probe_build() {
        Ok(build) => {
            let (had, lacked) = build.had_and_lacked();
            let _ = writeln!(said, "cargo's build of a workspace has:");
            if had.is_empty() {
                let _ = writeln!(said, "  - none of its layers");
            }
            for had in had {
                let _ = writeln!(said, "  - {had}");
            }
            if !lacked.is_empty() {
                let _ = writeln!(said, "and has no:");
                for lacked in lacked {
                    let _ = writeln!(said, "  - {lacked}");
                }
            }
        }
        Err(e) => {
            let _ = writeln!(said, "cargo's build could not be tried: {e}");
        }
    }
    for (name, policy) in [
        ("best-effort", SandboxPolicy::BestEffort),
        ("isolated", SandboxPolicy::Isolated),
        ("full", SandboxPolicy::Full),
    ] {
        let refused = layers.refused_by(policy);
        let verdict = if refused.is_empty() {
            "grades here".to_owned()
        } else {
            format!("refuses here (no {})", refused.join(", no "))
        };
        let _ = writeln!(said, "--sandbox {name}: {verdict}");
    }
    Ok(said)
}

/// Whether `path` is graded whole: the grader's own workspace, or any with
/// `--whole`.
fn whole(args: &Args, path: &Path) -> bool {
    args.whole || grader::is_own_workspace(path)
}

/// The instructor's workspace, built, when some PATH is graded from its
/// exercises' sources; `None` when every one is graded whole.
fn instructor(args: &Args) -> Result<Option<Instructor>, Error> {
    if args.paths.iter().all(|p| whole(args, p)) {
        return Ok(None);
    }
    Instructor::prepare(&grader::instructor_workspace()).map(Some)
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
        let source = Source::of(path, instructor.as_ref());
        return grader::grade_as(path, &args.only, args.start_method.list(), &source);
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
        built: Vec::new(),
    })
}

/// Exit code 0, or 2 with the error on one line.
fn finish(outcome: Result<(), Error>) -> ExitCode {
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => fail(&error),
    }
}

/// The error on one line, and exit code 2.
fn fail(error: &Error) -> ExitCode {
    eprintln!("grader: {error}");
    ExitCode::from(2)
}
