//! Gradescope's autograder: `grader gradescope autograder.zip`.
//!
//! Gradescope unpacks the zip into `/autograder/source`, runs `setup.sh`
//! once to build its image, then for each submission runs `run_autograder`
//! with the student's files in `/autograder/submission` and reads
//! `/autograder/results/results.json` ([`formats::gradescope`](crate::formats::gradescope)).
//!
//! The zip holds the grading kit ([`kit`](super::kit): the handout's
//! stubs with the instructor's grader and hidden checks, never a reference
//! solution), `setup.sh` (installs Rust and builds the kit once, so that
//! grading compiles only the exercises) and `run_autograder`, which grades
//! the submission with the kit: its exercises' sources only, found as the
//! workspace at the submission's root, in one folder, or as loose `qN.rs`
//! files; an exercise not found scores 0, and the report says which were
//! not found and which layouts are accepted. The full report goes to
//! stdout, which Gradescope shows instructors only; `results.json` has
//! what students may see. Every path starts from `AUTOGRADER_ROOT`
//! (default `/autograder`), so the script can be tried in a fake tree.

use std::fs;
use std::io::Write;
use std::path::Path;

use zip::write::SimpleFileOptions;

use crate::error::Error;

/// Gradescope's set-up script.
pub const SETUP: &str = include_str!("setup.sh");

/// The script Gradescope runs for each submission.
pub const RUN_AUTOGRADER: &str = include_str!("run_autograder");

/// How many lines of the grading's log a failure's `results.json` shows.
const LAST_WORDS: usize = 5;

/// Writes `out/results.json` for a grading that could not run (it ended
/// with `exit_code` and wrote no results): no points, and why, with the
/// last lines of its log `log`. `run_autograder` calls it, so that the
/// JSON comes from serde_json whatever the log holds.
pub fn write_failure(out: &Path, exit_code: i32, log: &Path) -> Result<(), Error> {
    let text = fs::read(log).map_or_else(
        |e| format!("(no log at {}: {e})", log.display()),
        |bytes| String::from_utf8_lossy(&bytes).into_owned(),
    );
    let lines: Vec<&str> = text.lines().collect();
    let last = lines[lines.len().saturating_sub(LAST_WORDS)..].join("\n");
    let message = format!("the grader could not run (exit {exit_code}):\n{last}");
    crate::batch::create_dir(out)?;
    crate::batch::write_json(
        &out.join("results.json"),
        &crate::formats::gradescope_error(&message),
    )
}

/// Writes the autograder zip of the workspace at `workspace` to
/// `zip_path`: the two scripts and the grading kit.
pub fn write_zip(workspace: &Path, zip_path: &Path) -> Result<(), Error> {
    use std::os::unix::fs::PermissionsExt;
    if !workspace.join("Cargo.toml").is_file() {
        return Err(Error::NotAWorkspace(workspace.display().to_string()));
    }
    let kit = super::kit::files(workspace)?;
    let written = |e: std::io::Error| Error::io(format!("write {}", zip_path.display()), e);
    let failed = |e: zip::result::ZipError| written(std::io::Error::other(e));
    let file = fs::File::create(zip_path)
        .map_err(|e| Error::io(format!("create {}", zip_path.display()), e))?;
    let mut zip = zip::ZipWriter::new(file);
    let scripts = [("setup.sh", SETUP), ("run_autograder", RUN_AUTOGRADER)]
        .map(|(name, text)| (Path::new(name), text.as_bytes(), 0o755));
    let files = kit.iter().map(|f| {
        let mode = fs::metadata(workspace.join(&f.path)).map_or(0o644, |m| m.permissions().mode());
        (f.path.as_path(), f.text.as_slice(), mode & 0o777)
    });
    for (path, bytes, mode) in scripts.into_iter().chain(files) {
        let options = SimpleFileOptions::default().unix_permissions(mode);
        zip.start_file(path.to_string_lossy(), options)
            .map_err(failed)?;
        zip.write_all(bytes).map_err(written)?;
    }
    zip.finish().map_err(failed)?;
    Ok(())
}
