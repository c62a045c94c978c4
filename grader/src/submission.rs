//! Grading a student's copy from what the student was asked to write.
//!
//! A submission is graded from its exercises' `src/` directories only,
//! compiled against the instructor's workspace: the instructor's `common`,
//! dependencies, manifests and lints. Nothing else of the submission is
//! built or run (not its manifests, not a build script, not its copy of
//! `common` or of the grader); [`Changed`] lists what it changed outside
//! the exercises, reported as not used.
//!
//! # How, and why it is fast
//!
//! [`Instructor::prepare`] builds the instructor's workspace once with
//! cargo, and reads from cargo's own messages (`compiler-artifact`) which
//! library file each package became, and from `cargo metadata` which crates
//! each exercise links against. Each exercise of each submission is then
//! one `rustc` call on the submission's `src/main.rs` with `--extern
//! NAME=PATH` for each of those libraries, writing the binary into the
//! submission's own temporary directory (removed once it is graded). The
//! compiled dependencies are shared by the whole class, read-only; no
//! cargo target directory is involved, so neither `CARGO_TARGET_DIR` nor a
//! submission's `.cargo/config.toml` can mix one student's binary with
//! another's. The compiler runs under the build limits (no network, capped
//! memory and tasks) and the build timeout.

use std::collections::BTreeMap;
use std::io::BufRead;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use cargo_metadata::{DependencyKind, MetadataCommand};

use crate::author::handout;
use crate::cargo::{Binaries, build_timeout};
use crate::error::Error;
use crate::exercises::{EXERCISES, Exercise};
use crate::report::{ExerciseReport, Report};
use common::StartMethod;

/// The workspace the grader was built from: the instructor's.
pub fn instructor_workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the grader lives inside its workspace")
        .to_path_buf()
}

/// Whether `path` is the grader's own workspace, which is graded whole,
/// with cargo, as it is.
pub fn is_own_workspace(path: &Path) -> bool {
    let canonical = |p: &Path| std::fs::canonicalize(p).ok();
    canonical(path).is_some_and(|p| Some(p) == canonical(&instructor_workspace()))
}

/// How one exercise is compiled: its crate's name and edition, and the
/// libraries it links against.
#[derive(Debug, Clone)]
struct Recipe {
    crate_name: String,
    edition: String,
    externs: Vec<(String, PathBuf)>,
    /// The `CARGO_PKG_*` variables cargo sets for the compiler (clap's
    /// `version` and `about` read them), from the instructor's manifest.
    env: Vec<(String, String)>,
}

/// The instructor's built workspace, ready to compile submissions against.
#[derive(Debug)]
pub struct Instructor {
    workspace: PathBuf,
    recipes: BTreeMap<&'static str, Recipe>,
    /// Where the libraries' own dependencies are found.
    deps: Vec<PathBuf>,
    /// What the handout and the workspace have outside the exercises, to
    /// tell what a submission changed.
    known: BTreeMap<PathBuf, Vec<Vec<u8>>>,
}

impl Instructor {
    /// Builds the instructor's workspace and learns how to compile each
    /// exercise against it.
    pub fn prepare(workspace: &Path) -> Result<Instructor, Error> {
        let built: Binaries = crate::cargo::build(workspace)?;
        let metadata = MetadataCommand::new()
            .manifest_path(workspace.join("Cargo.toml"))
            .exec()
            .map_err(|e| Error::io("read cargo metadata", std::io::Error::other(e)))?;
        let resolve = metadata
            .resolve
            .as_ref()
            .ok_or_else(|| Error::io("read cargo metadata", std::io::Error::other("no resolve")))?;
        let mut recipes = BTreeMap::new();
        let mut deps = Vec::new();
        for exercise in EXERCISES {
            let Some(package) = metadata
                .workspace_packages()
                .into_iter()
                .find(|p| p.name.as_str() == exercise.package)
            else {
                continue;
            };
            let Some(node) = resolve.nodes.iter().find(|n| n.id == package.id) else {
                continue;
            };
            let mut externs = Vec::new();
            for dep in &node.deps {
                let normal = dep
                    .dep_kinds
                    .iter()
                    .any(|k| k.kind == DependencyKind::Normal);
                if !normal {
                    continue;
                }
                let library = built.library(&dep.pkg.repr).ok_or_else(|| {
                    Error::io(
                        format!(
                            "find the library {} that {} uses",
                            dep.name, exercise.package
                        ),
                        std::io::ErrorKind::NotFound.into(),
                    )
                })?;
                if let Some(dir) = library.parent()
                    && !deps.iter().any(|d: &PathBuf| d == dir)
                {
                    deps.push(dir.to_path_buf());
                }
                externs.push((dep.name.clone(), library.to_path_buf()));
            }
            let version = &package.version;
            let env = [
                ("CARGO_PKG_NAME", package.name.to_string()),
                ("CARGO_PKG_VERSION", version.to_string()),
                ("CARGO_PKG_VERSION_MAJOR", version.major.to_string()),
                ("CARGO_PKG_VERSION_MINOR", version.minor.to_string()),
                ("CARGO_PKG_VERSION_PATCH", version.patch.to_string()),
                ("CARGO_PKG_VERSION_PRE", version.pre.to_string()),
                ("CARGO_PKG_AUTHORS", package.authors.join(":")),
                (
                    "CARGO_PKG_DESCRIPTION",
                    package.description.clone().unwrap_or_default(),
                ),
                (
                    "CARGO_PKG_HOMEPAGE",
                    package.homepage.clone().unwrap_or_default(),
                ),
                (
                    "CARGO_PKG_REPOSITORY",
                    package.repository.clone().unwrap_or_default(),
                ),
                (
                    "CARGO_PKG_LICENSE",
                    package.license.clone().unwrap_or_default(),
                ),
                ("CARGO_CRATE_NAME", exercise.package.replace('-', "_")),
                ("CARGO_BIN_NAME", exercise.package.to_owned()),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect();
            recipes.insert(
                exercise.package,
                Recipe {
                    crate_name: exercise.package.replace('-', "_"),
                    edition: package.edition.to_string(),
                    externs,
                    env,
                },
            );
        }
        let mut known: BTreeMap<PathBuf, Vec<Vec<u8>>> = BTreeMap::new();
        for file in handout::files(workspace)? {
            known.entry(file.path).or_default().push(file.text);
        }
        for file in source_files(workspace)? {
            let bytes = std::fs::read(workspace.join(&file)).unwrap_or_default();
            known.entry(file).or_default().push(bytes);
        }
        Ok(Instructor {
            workspace: workspace.to_path_buf(),
            recipes,
            deps,
            known,
        })
    }

    /// Compiles `exercise` from the submission at `submission` into `out`;
    /// `Err` is the compiler's first error.
    fn compile(
        &self,
        exercise: &Exercise,
        submission: &Path,
        out: &Path,
    ) -> Result<PathBuf, String> {
        let main = submission.join(exercise.package).join("src/main.rs");
        if !main.is_file() {
            return Err(format!(
                "the submission has no {}/src/main.rs",
                exercise.package
            ));
        }
        let recipe = self
            .recipes
            .get(exercise.package)
            .ok_or_else(|| format!("the instructor's workspace has no {}", exercise.package))?;
        let binary = out.join(exercise.package);
        let limits = crate::sandbox::BuildLimits::new();
        let mut command = Command::new(rustc());
        command
            .envs(recipe.env.iter().map(|(k, v)| (k, v)))
            .env("CARGO_MANIFEST_DIR", submission.join(exercise.package))
            .arg("--crate-name")
            .arg(&recipe.crate_name)
            .arg("--edition")
            .arg(&recipe.edition)
            .args(["--crate-type", "bin", "--error-format=json"])
            .args(["-C", "debuginfo=0", "-C", "strip=debuginfo"])
            .arg(&main)
            .arg("-o")
            .arg(&binary);
        for dir in &self.deps {
            command
                .arg("-L")
                .arg(format!("dependency={}", dir.display()));
        }
        for (name, library) in &recipe.externs {
            command
                .arg("--extern")
                .arg(format!("{name}={}", library.display()));
        }
        limits.apply(&mut command);
        let mut child = command
            .current_dir(out)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .process_group(0)
            .spawn()
            .map_err(|e| format!("could not run rustc: {e}"))?;
        let stderr = child.stderr.take().expect("piped");
        let reader = std::thread::spawn(move || {
            let mut first = None;
            for line in std::io::BufReader::new(stderr)
                .lines()
                .map_while(Result::ok)
            {
                if first.is_none()
                    && let Ok(diagnostic) =
                        serde_json::from_str::<cargo_metadata::diagnostic::Diagnostic>(&line)
                    && matches!(
                        diagnostic.level,
                        cargo_metadata::diagnostic::DiagnosticLevel::Error
                    )
                {
                    let rendered = diagnostic.rendered.unwrap_or(diagnostic.message);
                    first = Some(first_error(&rendered, submission_root(&main)));
                }
            }
            first
        });
        let deadline = Instant::now() + build_timeout();
        let status = loop {
            if let Ok(Some(status)) = child.try_wait() {
                break Some(status);
            }
            if Instant::now() >= deadline {
                let pid = nix::unistd::Pid::from_raw(i32::try_from(child.id()).unwrap_or(0));
                let _ = nix::sys::signal::killpg(pid, nix::sys::signal::Signal::SIGKILL);
                let _ = child.wait();
                break None;
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        let first = reader.join().unwrap_or(None);
        match status {
            Some(status) if status.success() => Ok(binary),
            Some(_) => Err(first.unwrap_or_else(|| "rustc failed".to_owned())),
            None => Err(format!(
                "rustc did not finish within {} s and was stopped",
                build_timeout().as_secs()
            )),
        }
    }

    /// What the submission at `submission` changed outside its exercises'
    /// `src/` directories: files neither the handout nor the instructor's
    /// workspace has as they are.
    pub fn changed(&self, submission: &Path) -> Changed {
        let mut files = Vec::new();
        let sources = source_files(submission).unwrap_or_default();
        for path in sources {
            let in_exercise = EXERCISES
                .iter()
                .any(|e| path.starts_with(Path::new(e.package).join("src")));
            if in_exercise {
                continue;
            }
            let bytes = std::fs::read(submission.join(&path)).unwrap_or_default();
            let same = self
                .known
                .get(&path)
                .is_some_and(|versions| versions.contains(&bytes));
            if !same {
                files.push(path.display().to_string());
            }
        }
        Changed(files)
    }

    /// Grades the submission at `submission`: the exercises in `only` (all
    /// when empty), each compiled from its sources alone, under each of
    /// `methods`.
    pub fn grade(
        &self,
        submission: &Path,
        only: &[String],
        methods: &[StartMethod],
    ) -> Result<Report, Error> {
        let chosen = crate::exercises::chosen(only)?;
        if !chosen.iter().any(|e| submission.join(e.package).is_dir()) {
            return Err(Error::NotASubmission(submission.display().to_string()));
        }
        let out = tempfile::Builder::new()
            .prefix("grader-submission-")
            .tempdir()
            .map_err(|e| Error::io("create a directory for the submission's binaries", e))?;
        let mut exercises = Vec::new();
        for exercise in chosen {
            exercises.push(match self.compile(exercise, submission, out.path()) {
                Ok(binary) => crate::grade::grade_exercise_with(exercise, &binary, methods)?,
                Err(error) => {
                    ExerciseReport::unbuilt(exercise, "the exercise did not compile", &error)
                }
            });
        }
        Ok(Report {
            exercises,
            unused: self.changed(submission).0,
        })
    }

    /// The instructor's workspace.
    pub fn workspace(&self) -> &Path {
        &self.workspace
    }
}

/// How a path is graded.
#[derive(Debug)]
pub enum Source<'a> {
    /// The whole workspace, built with cargo as it is: the grader's own
    /// workspace, or any with `--whole`.
    Whole,
    /// Only the exercises' sources, built against the instructor's
    /// workspace ([`Instructor`]).
    Exercises(&'a Instructor),
}

impl<'a> Source<'a> {
    /// How `path` is graded: from its exercises' sources against
    /// `instructor`, unless it is the grader's own workspace or there is
    /// no instructor's workspace to grade against (`--whole`).
    pub fn of(path: &Path, instructor: Option<&'a Instructor>) -> Source<'a> {
        match instructor {
            Some(instructor) if !is_own_workspace(path) => Source::Exercises(instructor),
            _ => Source::Whole,
        }
    }
}

/// Grades the submission at `path` as `source` says.
pub fn grade_as(
    path: &Path,
    only: &[String],
    methods: &[StartMethod],
    source: &Source<'_>,
) -> Result<Report, Error> {
    match source {
        Source::Whole => crate::grade::grade(path, only, methods),
        Source::Exercises(instructor) => instructor.grade(path, only, methods),
    }
}

/// Files a submission changed outside its exercises, which grading does
/// not use.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Changed(pub Vec<String>);

/// The submission's root, seen from one of its exercises' `main.rs`.
fn submission_root(main: &Path) -> Option<PathBuf> {
    main.parent()?.parent()?.parent().map(Path::to_path_buf)
}

/// The compiler's first error and where, in two lines' worth, with the
/// submission's own paths made relative to it.
fn first_error(rendered: &str, root: Option<PathBuf>) -> String {
    let mut lines = rendered
        .lines()
        .filter(|l| !l.trim().is_empty())
        .take(2)
        .map(str::trim)
        .collect::<Vec<_>>()
        .join(" ");
    if let Some(root) = root {
        let prefix = format!("{}/", root.display());
        lines = lines.replace(&prefix, "");
    }
    lines
}

/// Every file under `root`, relative to it, but those under `target/` and
/// `.git/`: the sources of a workspace or of a submission.
fn source_files(root: &Path) -> Result<Vec<PathBuf>, Error> {
    fn walk(root: &Path, relative: &Path, into: &mut Vec<PathBuf>) -> Result<(), Error> {
        let dir = root.join(relative);
        let entries =
            std::fs::read_dir(&dir).map_err(|e| Error::io(format!("read {}", dir.display()), e))?;
        for entry in entries.flatten() {
            let path = relative.join(entry.file_name());
            if path == Path::new("target") || path == Path::new(".git") {
                continue;
            }
            match entry.file_type() {
                Ok(kind) if kind.is_dir() => walk(root, &path, into)?,
                Ok(kind) if kind.is_file() => into.push(path),
                _ => {}
            }
        }
        Ok(())
    }
    let mut files = Vec::new();
    walk(root, Path::new(""), &mut files)?;
    files.sort();
    Ok(files)
}

/// The compiler: the one cargo names, else `rustc` from `PATH`.
fn rustc() -> PathBuf {
    std::env::var_os("RUSTC").map_or_else(|| "rustc".into(), PathBuf::from)
}
