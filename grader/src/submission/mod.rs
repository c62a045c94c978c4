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
//! each exercise links against; those libraries, and nothing else of the
//! build, are gathered in a directory of their own (`libraries.rs`). Each
//! exercise of each submission is then one `rustc` call, in a sandbox of
//! its own (`rustc.rs`), on a copy of the exercise's `src/` (regular files
//! only, `sources.rs`) with `--extern NAME=PATH` for each of those
//! libraries, writing the binary into the submission's own temporary
//! directory (removed once it is graded). The compiled dependencies are
//! shared by the whole class, read-only; no cargo target directory is
//! involved, so neither `CARGO_TARGET_DIR` nor a submission's
//! `.cargo/config.toml` can mix one student's binary with another's, and
//! the compiler sees nothing of the host but the toolchain, those
//! libraries and the copied sources.

pub mod layout;
mod libraries;
mod recipe;
mod rustc;
mod sources;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use cargo_metadata::MetadataCommand;
use common::StartMethod;

use crate::author::handout;
use crate::cargo::Binaries;
use crate::error::Error;
use crate::exercises::{EXERCISES, Exercise};
use crate::report::{ExerciseReport, Report};
use crate::sandbox::{BuildReport, Layers};
use crate::workspace::is_own_workspace;

use libraries::Libraries;
use recipe::Recipe;
use rustc::{Compile, Toolchain};

/// The instructor's built workspace, ready to compile submissions against.
#[derive(Debug)]
pub struct Instructor {
    workspace: PathBuf,
    recipes: BTreeMap<&'static str, Recipe>,
    /// The libraries the exercises link against, for the compile sandbox.
    libraries: Libraries,
    /// The compiler's toolchain, for the compile sandbox.
    toolchain: Toolchain,
    /// What the handout and the workspace have outside the exercises, to
    /// tell what a submission changed.
    known: BTreeMap<PathBuf, Vec<Vec<u8>>>,
    /// What the instructor's build had of its limits, for each report.
    built: Vec<String>,
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
        let recipes = recipe::recipes(&metadata, &built)?;
        let libraries = Libraries::gather(&metadata, &built)?;
        let toolchain =
            Toolchain::find().map_err(|e| Error::io("find the compiler's toolchain", e))?;
        let known = known_files(workspace)?;
        Ok(Instructor {
            workspace: workspace.to_path_buf(),
            recipes,
            libraries,
            toolchain,
            known,
            built: built.limits.iter().map(BuildReport::describe).collect(),
        })
    }

    /// Compiles `exercise` from its `sources` in the submission whose
    /// exercises are under `root`, in `work` (a directory of the
    /// submission's own); the binary or the compiler's first error, and the
    /// layers the compile sandbox had.
    fn compile(
        &self,
        exercise: &Exercise,
        found: &layout::Sources,
        root: &Path,
        work: &Path,
    ) -> (Result<PathBuf, String>, Option<Layers>) {
        let Some(recipe) = self.recipes.get(exercise.package) else {
            return (
                Err(format!(
                    "the instructor's workspace has no {}",
                    exercise.package
                )),
                None,
            );
        };
        let copied = work.join("sources");
        if let Err(why) = sources::copy(root, exercise.package, found, &copied) {
            return (Err(why), None);
        }
        let how = Compile {
            recipe,
            libraries: &self.libraries,
            toolchain: &self.toolchain,
        };
        let main = found.main.strip_prefix(root).unwrap_or(&found.main);
        rustc::compile(&how, exercise, work, &main.display().to_string())
    }

    /// What the submission at `submission` changed outside its exercises'
    /// `src/` directories: files neither the handout nor the instructor's
    /// workspace has as they are.
    pub fn changed(&self, submission: &Path) -> Changed {
        let mut files = Vec::new();
        let sources = source_files(submission).unwrap_or_default();
        for path in sources {
            let in_exercise = EXERCISES.iter().any(|e| {
                path.starts_with(Path::new(e.package).join("src"))
                    || [e.id, e.package]
                        .iter()
                        .any(|name| path == Path::new(&format!("{name}.rs")))
            });
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
    /// when empty), each compiled from its sources alone, wherever the
    /// submission keeps them (at its root, in one folder, or as loose
    /// `qN.rs` files), under each of `methods`. An
    /// exercise the submission does not have scores 0, its report saying
    /// where it was looked for; a submission that has none is refused.
    pub fn grade(
        &self,
        submission: &Path,
        only: &[String],
        methods: &[StartMethod],
    ) -> Result<Report, Error> {
        let chosen = crate::exercises::chosen(only)?;
        let kind = std::fs::metadata(submission)
            .map_err(|e| Error::io(format!("read {}", submission.display()), e))?;
        if !kind.is_dir() {
            return Err(Error::io(
                format!("read {}", submission.display()),
                std::io::Error::other("not a directory"),
            ));
        }
        let Some(root) = layout::root(submission, &chosen) else {
            return Err(Error::NotASubmission {
                path: submission.display().to_string(),
                exercises: EXERCISES
                    .iter()
                    .map(|e| e.id)
                    .collect::<Vec<_>>()
                    .join(", "),
                accepted: layout::ACCEPTED,
            });
        };
        let out = tempfile::Builder::new()
            .prefix("grader-submission-")
            .tempdir()
            .map_err(|e| Error::io("create a directory for the submission's binaries", e))?;
        let mut exercises = Vec::new();
        let mut compiled_in = None;
        for exercise in chosen {
            let Some(found) = layout::find(&root, exercise) else {
                exercises.push(ExerciseReport::not_found(
                    exercise,
                    &layout::looked_for(exercise),
                    layout::ACCEPTED,
                ));
                continue;
            };
            let work = out.path().join(exercise.package);
            let (compiled, layers) = self.compile(exercise, &found, &root, &work);
            compiled_in = compiled_in.or(layers);
            exercises.push(match compiled {
                Ok(binary) => crate::grade::grade_exercise_with(exercise, &binary, methods)?,
                Err(error) => {
                    ExerciseReport::unbuilt(exercise, "the exercise did not compile", &error)
                }
            });
        }
        let mut built = self.built.clone();
        built.extend(compiled_in.map(|layers| compiled_with(&layers)));
        Ok(Report {
            exercises,
            unused: self.changed(&root).0,
            built,
        })
    }

    /// The instructor's workspace.
    pub fn workspace(&self) -> &Path {
        &self.workspace
    }
}

/// What the compile sandbox had, for the report.
fn compiled_with(layers: &Layers) -> String {
    let mut said = format!(
        "rustc compiled each exercise in a sandbox with {}",
        layers.had().join(", ")
    );
    let missing = layers.missing();
    if !missing.is_empty() {
        said.push_str(&format!("; it had no {}", missing.join(", no ")));
    }
    said
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

/// What the handout and the instructor's workspace have outside the
/// exercises, each path with every version of it either has.
fn known_files(workspace: &Path) -> Result<BTreeMap<PathBuf, Vec<Vec<u8>>>, Error> {
    let mut known: BTreeMap<PathBuf, Vec<Vec<u8>>> = BTreeMap::new();
    for file in handout::files(workspace)? {
        known.entry(file.path).or_default().push(file.text);
    }
    for file in source_files(workspace)? {
        let bytes = std::fs::read(workspace.join(&file)).unwrap_or_default();
        known.entry(file).or_default().push(bytes);
    }
    Ok(known)
}

/// Files a submission changed outside its exercises, which grading does
/// not use.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Changed(pub Vec<String>);

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
