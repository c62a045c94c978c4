//! The students' copy of the workspace: `grader handout OUT`.
//!
//! The handout is the instructor's workspace with:
//!
//! - every [region](regions) replaced by its stub: solutions become
//!   `todo!("...")` calls that compile, so each exercise builds, runs and is
//!   graded `not started` until the student writes it;
//! - the instructor's material left out: the benchmark, the wrong-solution
//!   fixtures and their golden reports, the grader's tests of itself (all
//!   of `grader/tests/` but `exercises.rs`, which grades the student's
//!   work a line per exercise), CI scripts, the instructor's README and
//!   benchmarks (see [`LEFT_OUT`]); every `HIDDEN` region (the hidden
//!   runs) and `INSTRUCTOR` region replaced by its stub: in the manifests,
//!   `cargo test` is made to run `exercises.rs` alone (the root's
//!   `default-members`, the grader's `[lib]`), so a student sees a line
//!   per exercise and none of the library's tests;
//! - in `grader/withheld.txt`, how many hidden checks each exercise has, so
//!   the student's report can say that more will run at grading;
//! - a student README (what to do per exercise, how to check, how to
//!   submit) and a GitHub Classroom workflow.
//!
//! It keeps `common` and the grader, so that the student runs `cargo test`
//! and `cargo run -p grader` (or `cargo run -p grader -- watch`) at home;
//! `cargo test --workspace` still runs everything it has.

pub mod regions;

use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};

use crate::error::Error;
use crate::exercises::{self, EXERCISES};

use regions::Audience;

/// Paths of the instructor's workspace that the handout leaves out,
/// relative to its root: directories whole, or single files.
pub const LEFT_OUT: &[&str] = &[
    ".ci",
    ".git",
    ".github",
    "target",
    "bench",
    "BENCHMARKS.md",
    "README.md",
    "grader/examples",
];

/// Where the grader's tests are: the handout keeps only [`STUDENT_TESTS`]
/// of them, so that a test added for the instructor never ships.
const GRADER_TESTS: &str = "grader/tests";

/// The grader's tests the handout keeps: the one that grades the
/// student's work, a line per exercise.
pub const STUDENT_TESTS: &[&str] = &["grader/tests/exercises.rs"];

/// Files the grader writes (gradebooks, reports, platform files): test
/// output, never a source, so never in a handout wherever it is found.
pub const GRADER_OUTPUTS: &[&str] = &[
    "summary.csv",
    "summary.json",
    "results.json",
    "autograding.json",
    "report.txt",
];

/// Whether the handout leaves out `path` (relative to the root): what
/// [`LEFT_OUT`] names, any `target/` (a build's output), any of
/// [`GRADER_OUTPUTS`], and the grader's tests but [`STUDENT_TESTS`].
pub fn left_out(path: &Path) -> bool {
    let shown = path.to_string_lossy();
    let output = path
        .file_name()
        .is_some_and(|name| GRADER_OUTPUTS.iter().any(|o| name == *o));
    LEFT_OUT.iter().any(|left| shown == *left)
        || output
        || path.file_name().is_some_and(|name| name == "target")
        || shown == "grader/withheld.txt"
        || (path.starts_with(GRADER_TESTS)
            && path != Path::new(GRADER_TESTS)
            && !STUDENT_TESTS.iter().any(|kept| shown == *kept))
}

/// What [`write()`] did.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    /// Where the handout is.
    pub out: PathBuf,
    /// How many files it has.
    pub files: usize,
    /// How many solution regions were replaced by stubs.
    pub solutions: usize,
    /// How many checks are hidden, over every exercise.
    pub hidden_checks: usize,
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "wrote the handout to {}: {} files, {} solutions replaced by todo!() stubs, {} hidden \
             checks withheld",
            self.out.display(),
            self.files,
            self.solutions,
            self.hidden_checks
        )?;
        writeln!(
            f,
            "a student starts with: cd {} && cargo run -p grader",
            self.out.display()
        )
    }
}

/// A file of the handout: its path under the root, and its text.
#[derive(Debug, Clone)]
pub struct HandoutFile {
    /// Relative to the workspace's root.
    pub path: PathBuf,
    /// What the handout has there.
    pub text: Vec<u8>,
    /// The reference's lines taken out of its solution regions.
    pub solution: Vec<String>,
}

/// The handout's files, made from the instructor's workspace at
/// `workspace`, without writing anything.
pub fn files(workspace: &Path) -> Result<Vec<HandoutFile>, Error> {
    let mut files = workspace_files(workspace, Audience::Students)?;
    files.push(HandoutFile {
        path: "grader/withheld.txt".into(),
        text: withheld().into_bytes(),
        solution: Vec::new(),
    });
    files.push(HandoutFile {
        path: "README.md".into(),
        text: readme().into_bytes(),
        solution: Vec::new(),
    });
    files.push(HandoutFile {
        path: ".github/workflows/classroom.yml".into(),
        text: classroom_workflow().into_bytes(),
        solution: Vec::new(),
    });
    Ok(files)
}

/// The workspace's files as `audience`'s copy has them, by path: the
/// instructor's material left out ([`LEFT_OUT`]), regions replaced.
pub(crate) fn workspace_files(
    workspace: &Path,
    audience: Audience,
) -> Result<Vec<HandoutFile>, Error> {
    let mut files = Vec::new();
    collect(workspace, Path::new(""), audience, &mut files)?;
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(files)
}

fn collect(
    root: &Path,
    relative: &Path,
    audience: Audience,
    into: &mut Vec<HandoutFile>,
) -> Result<(), Error> {
    let dir = root.join(relative);
    let entries =
        fs::read_dir(&dir).map_err(|e| Error::io(format!("read {}", dir.display()), e))?;
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(format!("read {}", dir.display()), e))?;
        let path = relative.join(entry.file_name());
        if left_out(&path) {
            continue;
        }
        let kind = entry
            .file_type()
            .map_err(|e| Error::io(format!("read {}", path.display()), e))?;
        if kind.is_dir() {
            collect(root, &path, audience, into)?;
        } else if kind.is_file() {
            let bytes = fs::read(root.join(&path))
                .map_err(|e| Error::io(format!("read {}", path.display()), e))?;
            into.push(match String::from_utf8(bytes) {
                Ok(text) => {
                    let stripped = regions::strip_for(&text, audience)
                        .map_err(|e| Error::Handout(format!("{}: {e}", path.display())))?;
                    HandoutFile {
                        path,
                        text: stripped.text.into_bytes(),
                        solution: stripped.solution,
                    }
                }
                Err(bytes) => HandoutFile {
                    path,
                    text: bytes.into_bytes(),
                    solution: Vec::new(),
                },
            });
        }
    }
    Ok(())
}

/// Writes the handout of the workspace at `workspace` into `out`, which
/// must not exist or be empty.
pub fn write(workspace: &Path, out: &Path) -> Result<Summary, Error> {
    if !workspace.join("Cargo.toml").is_file() {
        return Err(Error::NotAWorkspace(workspace.display().to_string()));
    }
    let files = files(workspace)?;
    write_files(workspace, out, &files)?;
    Ok(Summary {
        out: out.to_path_buf(),
        files: files.len(),
        solutions: files.iter().filter(|f| !f.solution.is_empty()).count(),
        hidden_checks: EXERCISES.iter().map(exercises::hidden_checks).sum(),
    })
}

/// Writes `files`, made from the workspace at `workspace`, into `out`,
/// which must not exist or be empty; each keeps its file's permissions.
pub(crate) fn write_files(
    workspace: &Path,
    out: &Path,
    files: &[HandoutFile],
) -> Result<(), Error> {
    if !workspace.join("Cargo.toml").is_file() {
        return Err(Error::NotAWorkspace(workspace.display().to_string()));
    }
    if fs::read_dir(out).is_ok_and(|mut entries| entries.next().is_some()) {
        return Err(Error::Handout(format!(
            "{} is not empty; give a new directory",
            out.display()
        )));
    }
    for file in files {
        let path = out.join(&file.path);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent)
                .map_err(|e| Error::io(format!("create {}", parent.display()), e))?;
        }
        fs::write(&path, &file.text)
            .map_err(|e| Error::io(format!("write {}", path.display()), e))?;
        if file.path.starts_with(".github") {
            continue;
        }
        let permissions = fs::metadata(workspace.join(&file.path)).map(|m| m.permissions());
        if let Ok(permissions) = permissions {
            let _ = fs::set_permissions(&path, permissions);
        }
    }
    Ok(())
}

/// `grader/withheld.txt` for the handout: each exercise's hidden checks.
fn withheld() -> String {
    let mut text = String::from(
        "# How many checks of each exercise this copy of the grader withholds: they\n\
         # run when the instructor grades. Written by `grader handout`.\n",
    );
    for exercise in EXERCISES {
        let hidden = exercises::hidden_checks(exercise);
        if hidden > 0 {
            text.push_str(&format!("{} {hidden}\n", exercise.id));
        }
    }
    text
}

/// The student README: the exercises, how to check them, how to submit.
fn readme() -> String {
    let mut table = String::from(
        "| exercise | package | points | what to write | hidden checks |\n\
         |---|---|---|---|---|\n",
    );
    for e in EXERCISES {
        table.push_str(&format!(
            "| {} | `{}` | {} | {} | {} |\n",
            e.id,
            e.package,
            e.points,
            e.hint,
            exercises::hidden_checks(e)
        ));
    }
    STUDENT_README.replace("{exercises}", &table)
}

/// The student README's text; `{exercises}` becomes the table.
const STUDENT_README: &str = include_str!("README.student.md");

/// The GitHub Classroom workflow the handout carries, with `{points}` to
/// fill in.
const CLASSROOM_WORKFLOW: &str = include_str!("classroom.yml");

/// The handout's GitHub Classroom workflow. It grades with the kit that
/// the organization's variables `GRADING_REPOSITORY` and `GRADING_REF`
/// name, so that it is the same file in every student's repository (an
/// edited one shows among the files changed outside the exercises), and
/// the instructor moves every repository to another commit of the kit by
/// changing one variable.
pub fn classroom_workflow() -> String {
    let points: u32 = EXERCISES.iter().map(|e| e.points).sum();
    CLASSROOM_WORKFLOW.replace("{points}", &points.to_string())
}
