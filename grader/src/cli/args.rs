//! The command line's types: what clap parses, and what each choice means
//! to the engine (start methods, platform files).

use std::path::PathBuf;

use clap::{CommandFactory, Parser, Subcommand, ValueEnum};
use grader::{SandboxPolicy, StartMethod, batch};

/// Grade the multiprocessing exercises of a workspace, or of a whole class
/// of submissions (each a student's copy of the workspace).
#[derive(Parser)]
#[command(
    version,
    about,
    args_conflicts_with_subcommands = true,
    after_help = "Environment: GRADER_BUILD_TIMEOUT=SECONDS bounds each build (default 600); \
                  GRADER_PTRACE=off grades without kernel tracing; \
                  GRADER_SANDBOX=off without the sandbox's namespaces."
)]
pub(crate) struct Args {
    #[command(subcommand)]
    pub(crate) command: Option<Command>,

    /// The submissions to grade: copies of the workspace (or a folder
    /// holding one, or loose q6.rs files). With more than one, or with
    /// --jobs, each gets a row in the gradebook and its own report under
    /// --out.
    #[arg(value_name = "PATH", default_value = ".")]
    pub(crate) paths: Vec<PathBuf>,

    /// Grade only this exercise (id such as q6, or package name); repeat
    /// for several.
    #[arg(short = 'e', long = "exercise", value_name = "ID")]
    pub(crate) only: Vec<String>,

    /// Grade this executable as the one --exercise named, without building.
    #[arg(long, value_name = "FILE", requires = "only", conflicts_with_all = ["paths", "jobs"])]
    pub(crate) binary: Option<PathBuf>,

    /// Grade this many submissions at a time, with a progress bar, and write
    /// OUT/summary.csv, OUT/summary.json and OUT/<submission>/report.txt.
    /// [default: the number of CPUs, when several PATHs are given]
    #[arg(short, long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub(crate) jobs: Option<u16>,

    /// Which start methods to grade under: each run is made once per method.
    #[arg(long, value_enum, default_value_t = Methods::Fork)]
    pub(crate) start_method: Methods,

    /// How to report: a table for people, or what a classroom platform reads.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub(crate) format: Format,

    /// Build and grade each PATH whole, with cargo, as it is (its own
    /// manifests, build scripts and copy of `common`), rather than only its
    /// exercises' sources against this workspace.
    #[arg(long)]
    pub(crate) whole: bool,

    /// Where to write the JSON reports and, for several submissions, the
    /// gradebook and per-submission reports; made if missing.
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub(crate) out: PathBuf,

    /// What the sandbox must have before anything is graded (`grader
    /// sandbox` shows what it has here). [default: isolated for several
    /// submissions, a class of untrusted work; best-effort for one]
    #[arg(long, value_enum, value_name = "POLICY")]
    pub(crate) sandbox: Option<Sandbox>,

    /// Refuse to grade unless the sandbox has every layer, the caps by
    /// cgroup included: the same as --sandbox full.
    #[arg(long, conflicts_with = "sandbox")]
    pub(crate) require_sandbox: bool,
}

/// What the sandbox must have before anything is graded.
#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum Sandbox {
    /// Grade with whatever the kernel grants; each report names what its
    /// runs lacked.
    BestEffort,
    /// Refuse without an unprivileged uid, the PID, mount, network, IPC
    /// and cgroup namespaces with a new root, the seccomp filter and
    /// tracing; the caps may be rlimits.
    Isolated,
    /// Refuse without every layer, the memory and task caps by cgroup
    /// included.
    Full,
}

impl Args {
    /// The arguments of this process, or clap's usage error (exit code 2)
    /// for a combination clap's attributes cannot state.
    pub(crate) fn parse_checked() -> Args {
        let args = Args::parse();
        if let Err(error) = args.check() {
            error.exit();
        }
        args
    }

    /// Refuses `--format github` for a class: its lines for `$GITHUB_ENV`
    /// are one submission's (the Classroom workflow's grading step), and a
    /// batch would write none of them, silently.
    fn check(&self) -> Result<(), clap::Error> {
        if self.format == Format::Github && self.is_batch() {
            return Err(Args::command().error(
                clap::error::ErrorKind::ArgumentConflict,
                "--format github grades one submission (the Classroom workflow's step); \
                 a class takes --format json or --format gradescope",
            ));
        }
        Ok(())
    }

    /// Whether several submissions are graded, each into the gradebook.
    pub(crate) fn is_batch(&self) -> bool {
        self.paths.len() > 1 || self.jobs.is_some()
    }

    /// The sandbox policy these arguments ask for.
    pub(crate) fn sandbox_policy(&self) -> SandboxPolicy {
        let batch = self.is_batch();
        match (self.require_sandbox, self.sandbox) {
            (true, _) | (false, Some(Sandbox::Full)) => SandboxPolicy::Full,
            (false, Some(Sandbox::Isolated)) => SandboxPolicy::Isolated,
            (false, Some(Sandbox::BestEffort)) => SandboxPolicy::BestEffort,
            (false, None) if batch => SandboxPolicy::Isolated,
            (false, None) => SandboxPolicy::BestEffort,
        }
    }
}

#[derive(Subcommand)]
pub(crate) enum Command {
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
    /// Write the grading kit to OUT: the handout's stubs with this grader's
    /// hidden checks, no solution; what GitHub Classroom's workflow and
    /// Gradescope grade with.
    Kit {
        /// Where to write it; must not exist or be empty.
        out: PathBuf,

        /// The instructor's workspace.
        #[arg(long, value_name = "DIR", default_value = ".")]
        workspace: PathBuf,
    },
    /// Grade again whenever an exercise's (or common's) source changes; q
    /// or Ctrl-C quits.
    Watch {
        /// The workspace to watch.
        #[arg(long, value_name = "DIR", default_value = ".")]
        workspace: PathBuf,

        /// Watch only this exercise; repeat for several.
        #[arg(short = 'e', long = "exercise", value_name = "ID")]
        only: Vec<String>,

        /// Grade once, print what watch shows, and end.
        #[arg(long)]
        once: bool,

        /// With --once: the exercise just saved, shown first if it fails.
        #[arg(long, value_name = "ID", requires = "once", hide = true)]
        focus: Option<String>,
    },
    /// Write Gradescope's autograder zip (setup.sh, run_autograder and the
    /// grading kit) to FILE.
    Gradescope {
        /// The zip to write.
        zip: PathBuf,

        /// The instructor's workspace.
        #[arg(long, value_name = "DIR", default_value = ".")]
        workspace: PathBuf,
    },
    /// Show what the sandbox has here, layer by layer, as the kernel
    /// grants it now: a run's, and cargo's build's.
    Sandbox,
    /// Write Gradescope's results.json for a grading that could not run:
    /// no points, the exit code and the last lines of its log (what
    /// run_autograder calls when the grader wrote no results.json).
    GradescopeError {
        /// Where to write results.json.
        #[arg(long, value_name = "DIR")]
        out: PathBuf,

        /// How the grading command ended.
        #[arg(long, value_name = "N", allow_negative_numbers = true)]
        exit_code: i32,

        /// What it printed.
        #[arg(long, value_name = "FILE")]
        log: PathBuf,
    },
}

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum Methods {
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
    pub(crate) fn list(self) -> &'static [StartMethod] {
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
pub(crate) enum Format {
    /// A table of exercises and points, then every failure in full.
    Text,
    /// GitHub Classroom's autograding result (version 1) to
    /// OUT/autograding.json and Exercism's results.json (version 3) to
    /// OUT/results.json.
    Json,
    /// For $GITHUB_ENV, on stdout: GRADER_RUNNERS and a <RUNNER>_RESULTS
    /// (base64 JSON) per check, for Classroom's reporter; the table, as
    /// students may see it, goes to stderr; exits 0 whenever it graded.
    Github,
    /// Gradescope's results.json to OUT/results.json.
    Gradescope,
}

impl Format {
    pub(crate) fn batch_formats(self) -> batch::Formats {
        batch::Formats {
            json: self == Format::Json,
            gradescope: self == Format::Gradescope,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(argv: &[&str]) -> Result<(), clap::Error> {
        Args::try_parse_from(argv)?.check()
    }

    #[test]
    fn a_class_is_refused_the_github_format() {
        for argv in [
            &["grader", "--format", "github", "alice", "bob"][..],
            &["grader", "--format", "github", "--jobs", "2", "alice"],
        ] {
            let error = check(argv).expect_err("a class with --format github");
            assert_eq!(error.kind(), clap::error::ErrorKind::ArgumentConflict);
            assert_eq!(error.exit_code(), 2);
            assert!(error.to_string().contains("one submission"), "{error}");
        }
        assert!(check(&["grader", "--format", "github", "alice"]).is_ok());
        assert!(check(&["grader", "--format", "json", "alice", "bob"]).is_ok());
    }
}
