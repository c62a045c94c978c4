//! The grader's error type: what stops it from grading at all. A submission
//! that fails its checks is not an error; it is a report.

/// Why grading could not go on.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The workspace's build did not finish within its timeout.
    #[error("the workspace at {workspace} did not build: {first_error}")]
    Build {
        /// The workspace's directory.
        workspace: String,
        /// The compiler's first error, or cargo's last words.
        first_error: String,
    },
    /// A directory to grade holds no `Cargo.toml`.
    #[error("{0} is not a workspace to grade (no Cargo.toml in it)")]
    NotAWorkspace(String),
    /// A directory to grade has none of the exercises.
    #[error("{path} is not a submission: none of the exercises ({exercises}) is in it; {accepted}")]
    NotASubmission {
        /// The directory.
        path: String,
        /// The exercises looked for, by id.
        exercises: String,
        /// The layouts a submission may have.
        accepted: &'static str,
    },
    /// An exercise's name was given where a directory belongs.
    #[error("{0} is not a directory to grade; to grade exercise {0} alone: --exercise {0}")]
    ExerciseAsPath(String),
    /// An exercise's binary was not among the build's artifacts.
    #[error("no binary named {0} was built; is its package a member of the workspace?")]
    MissingBinary(String),
    /// No exercise has this id or package name.
    #[error("no exercise is named {0:?}")]
    UnknownExercise(String),
    /// `--binary` was given with more or fewer than one `--exercise`.
    #[error(
        "--binary grades one executable as one exercise; name exactly one with --exercise (got {})",
        if .0.is_empty() { "none".to_owned() } else { .0.join(", ") }
    )]
    OneExerciseForBinary(Vec<String>),
    /// The executable given with `--binary` cannot be run.
    #[error("cannot grade {path}: {source}")]
    NotExecutable {
        /// The path given.
        path: String,
        /// Why, from the operating system.
        #[source]
        source: std::io::Error,
    },
    /// Not one of the submissions of a batch could be graded.
    #[error("no submission could be graded (see the table above)")]
    NothingGraded,
    /// A handout could not be written.
    #[error("cannot write the handout: {0}")]
    Handout(String),
    /// A new exercise's name is not `qN-words`.
    #[error(
        "{0:?} is not an exercise name: use q<number>-<lowercase-words>, such as q7-shared-memory"
    )]
    BadExerciseName(String),
    /// A new exercise could not be added.
    #[error("cannot add the exercise: {0}")]
    Scaffold(String),
    /// The start method asked for does not exist.
    #[error("{0}")]
    StartMethod(String),
    /// The sandbox lacks layers the policy in force requires.
    #[error(
        "refusing to grade: the sandbox here has no {0} (`grader sandbox` shows what it has; \
         --sandbox best-effort grades all the same)"
    )]
    Unsandboxed(String),
    /// An I/O operation failed.
    #[error("could not {what}: {source}")]
    Io {
        /// What the grader was doing.
        what: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    pub(crate) fn io(what: impl Into<String>, source: std::io::Error) -> Error {
        Error::Io {
            what: what.into(),
            source,
        }
    }

    pub(crate) fn os(what: &str, errno: nix::errno::Errno) -> Error {
        Error::io(what, errno.into())
    }
}
