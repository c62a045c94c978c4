//! Building the exercise binaries the way a student would, so that the grader
//! never runs a stale one.
//!
//! assert_cmd's `cargo_bin` only finds binaries of the package under test and
//! does not build other packages' (assert_cmd#164). The grader instead runs
//! `cargo build --workspace --bins --examples --message-format=json` on the
//! workspace it grades and takes each executable's path from cargo's own
//! `compiler-artifact` messages. Cargo rebuilds what changed and nothing
//! else, so this costs little under `cargo test`, which has just built the
//! same code.

use std::collections::BTreeMap;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use cargo_metadata::Message;

use crate::error::Error;

/// The executables of a built workspace, by target name.
#[derive(Debug, Clone, Default)]
pub struct Binaries {
    paths: BTreeMap<String, PathBuf>,
}

impl Binaries {
    /// The path of the binary or example called `name`.
    pub fn get(&self, name: &str) -> Result<&Path, Error> {
        self.paths
            .get(name)
            .map(PathBuf::as_path)
            .ok_or_else(|| Error::MissingBinary(name.to_owned()))
    }
}

/// The cargo to run: the one running us under `cargo test`, else `cargo`.
fn cargo() -> PathBuf {
    std::env::var_os("CARGO").map_or_else(|| "cargo".into(), PathBuf::from)
}

/// Builds every binary and example of the workspace at `workspace`.
pub fn build(workspace: &Path) -> Result<Binaries, Error> {
    let mut child = Command::new(cargo())
        .arg("build")
        .arg("--manifest-path")
        .arg(workspace.join("Cargo.toml"))
        .args([
            "--workspace",
            "--bins",
            "--examples",
            "--message-format=json-render-diagnostics",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| Error::io("run cargo build", e))?;
    // Cargo's stderr is read on a thread of its own so neither pipe can fill.
    let stderr = child.stderr.take().expect("stderr was piped");
    let stderr = std::thread::spawn(move || std::io::read_to_string(stderr).unwrap_or_default());
    let mut binaries = Binaries::default();
    let stdout = BufReader::new(child.stdout.take().expect("stdout was piped"));
    for message in Message::parse_stream(stdout).flatten() {
        if let Message::CompilerArtifact(artifact) = message
            && let Some(path) = artifact.executable
        {
            binaries
                .paths
                .insert(artifact.target.name.clone(), path.into());
        }
    }
    let status = child
        .wait()
        .map_err(|e| Error::io("wait for cargo build", e))?;
    let stderr = stderr.join().unwrap_or_default();
    if status.success() {
        Ok(binaries)
    } else {
        Err(Error::Build {
            workspace: workspace.display().to_string(),
            first_error: first_error(&stderr),
        })
    }
}

/// The compiler's first error with the line that locates it, or cargo's last
/// line when there is none.
fn first_error(stderr: &str) -> String {
    let lines: Vec<&str> = stderr.lines().collect();
    match lines.iter().position(|l| l.starts_with("error")) {
        Some(i) => lines[i..]
            .iter()
            .take(2)
            .map(|l| l.trim())
            .collect::<Vec<_>>()
            .join(" "),
        None => lines.last().map_or("cargo failed", |l| l.trim()).to_owned(),
    }
}
