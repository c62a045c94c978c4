//! The grading kit: what the platforms grade with, `grader kit OUT`.
//!
//! The kit is the handout (every solution replaced by its `todo!()` stub,
//! the instructor's material left out) with the hidden checks put back
//! (the registry's `HIDDEN` regions, see [`regions`]) and nothing
//! withheld. It holds no reference solution, so that a kit that reaches a
//! student (a token printed by an edited workflow, an unzipped autograder)
//! gives no answer away; what it does give away is the hidden checks'
//! arguments, which is why the final word on a class is the instructor's
//! own grading of it ([`batch`](crate::batch)).
//!
//! It grades a submission as the instructor's workspace does: only the
//! exercises' sources of the submission are compiled, against the kit's
//! `common`, manifests and grader. Gradescope's autograder zip is the kit
//! and two scripts ([`gradescope`](super::gradescope)); for GitHub
//! Classroom, the instructor pushes it to a private repository, which the
//! handout's workflow checks out at a pinned commit to grade each push.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::error::Error;
use crate::exercises::{self, EXERCISES};

use super::handout::{self, HandoutFile, regions};

/// The kit's files, made from the instructor's workspace at `workspace`.
pub fn files(workspace: &Path) -> Result<Vec<HandoutFile>, Error> {
    let mut files = handout::workspace_files(workspace, regions::Audience::Grading)?;
    files.push(HandoutFile {
        path: "grader/withheld.txt".into(),
        text: WITHHOLDS_NOTHING.as_bytes().to_vec(),
        solution: Vec::new(),
    });
    files.push(HandoutFile {
        path: "README.md".into(),
        text: KIT_README.as_bytes().to_vec(),
        solution: Vec::new(),
    });
    Ok(files)
}

/// The kit's `grader/withheld.txt`: it has every check.
const WITHHOLDS_NOTHING: &str = "# The grading kit withholds no check: it has the hidden ones.\n";

/// The kit's README.
const KIT_README: &str = include_str!("README.kit.md");

/// What [`write()`] did.
#[derive(Debug, Clone)]
pub struct Summary {
    /// Where the kit is.
    pub out: PathBuf,
    /// How many files it has.
    pub files: usize,
    /// How many checks are hidden from students, over every exercise.
    pub hidden_checks: usize,
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "wrote the grading kit to {}: {} files, the handout's stubs and {} hidden checks, no \
             solution",
            self.out.display(),
            self.files,
            self.hidden_checks
        )?;
        writeln!(
            f,
            "for GitHub Classroom: push it to a private repository, and set the organization's \
             variables GRADING_REPOSITORY (OWNER/NAME) and GRADING_REF (its commit) and secret \
             GRADING_TOKEN (see its README)"
        )
    }
}

/// Writes the grading kit of the workspace at `workspace` into `out`, which
/// must not exist or be empty.
pub fn write(workspace: &Path, out: &Path) -> Result<Summary, Error> {
    if !workspace.join("Cargo.toml").is_file() {
        return Err(Error::NotAWorkspace(workspace.display().to_string()));
    }
    let files = files(workspace)?;
    handout::write_files(workspace, out, &files)?;
    Ok(Summary {
        out: out.to_path_buf(),
        files: files.len(),
        hidden_checks: EXERCISES.iter().map(exercises::hidden_checks).sum(),
    })
}
