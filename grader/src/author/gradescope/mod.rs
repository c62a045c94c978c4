//! Gradescope's autograder: `grader gradescope autograder.zip`.
//!
//! Gradescope unpacks the zip into `/autograder/source`, runs `setup.sh`
//! once to build its image, then for each submission runs `run_autograder`
//! with the student's files in `/autograder/submission` and reads
//! `/autograder/results/results.json` ([`formats::gradescope`](crate::formats::gradescope)).
//!
//! The zip holds the instructor's workspace (hidden checks included),
//! `setup.sh` (installs Rust and builds the workspace once, so that grading
//! compiles only the exercises) and `run_autograder`, which copies only the
//! exercises' `src/` directories from the submission into the workspace,
//! then grades. Every path starts from `AUTOGRADER_ROOT` (default
//! `/autograder`), so the script can be tried in a fake tree.

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

/// Paths of the workspace that the zip leaves out.
const LEFT_OUT: &[&str] = &[".git", "target"];

/// Writes the autograder zip of the workspace at `workspace` to `zip_path`.
pub fn write_zip(workspace: &Path, zip_path: &Path) -> Result<(), Error> {
    if !workspace.join("Cargo.toml").is_file() {
        return Err(Error::NotAWorkspace(workspace.display().to_string()));
    }
    let failed = |e: zip::result::ZipError| {
        Error::io(
            format!("write {}", zip_path.display()),
            std::io::Error::other(e),
        )
    };
    let file = fs::File::create(zip_path)
        .map_err(|e| Error::io(format!("create {}", zip_path.display()), e))?;
    let mut zip = zip::ZipWriter::new(file);
    let script = SimpleFileOptions::default().unix_permissions(0o755);
    for (name, text) in [("setup.sh", SETUP), ("run_autograder", RUN_AUTOGRADER)] {
        zip.start_file(name, script).map_err(failed)?;
        zip.write_all(text.as_bytes())
            .map_err(|e| Error::io(format!("write {}", zip_path.display()), e))?;
    }
    add_dir(&mut zip, workspace, Path::new(""), zip_path)?;
    zip.finish().map_err(failed)?;
    Ok(())
}

fn add_dir(
    zip: &mut zip::ZipWriter<fs::File>,
    root: &Path,
    relative: &Path,
    zip_path: &Path,
) -> Result<(), Error> {
    use std::os::unix::fs::PermissionsExt;
    let dir = root.join(relative);
    let mut entries: Vec<_> = fs::read_dir(&dir)
        .map_err(|e| Error::io(format!("read {}", dir.display()), e))?
        .flatten()
        .collect();
    entries.sort_by_key(fs::DirEntry::file_name);
    for entry in entries {
        let path = relative.join(entry.file_name());
        if LEFT_OUT.iter().any(|left| path == Path::new(left)) {
            continue;
        }
        let meta = entry
            .metadata()
            .map_err(|e| Error::io(format!("read {}", path.display()), e))?;
        if meta.is_dir() {
            add_dir(zip, root, &path, zip_path)?;
        } else if meta.is_file() {
            let options =
                SimpleFileOptions::default().unix_permissions(meta.permissions().mode() & 0o777);
            zip.start_file(path.to_string_lossy(), options)
                .map_err(|e| {
                    Error::io(
                        format!("write {}", zip_path.display()),
                        std::io::Error::other(e),
                    )
                })?;
            let bytes = fs::read(root.join(&path))
                .map_err(|e| Error::io(format!("read {}", path.display()), e))?;
            zip.write_all(&bytes)
                .map_err(|e| Error::io(format!("write {}", zip_path.display()), e))?;
        }
    }
    Ok(())
}
