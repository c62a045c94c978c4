//! Building the exercise binaries the way a student would, so that the grader
//! never runs a stale one.
//!
//! assert_cmd's `cargo_bin` only finds binaries of the package under test and
//! does not build other packages' (assert_cmd#164). The grader instead runs
//! `cargo build --workspace --bins --examples --keep-going
//! --message-format=json` on the workspace it grades and takes each
//! executable's path from cargo's own `compiler-artifact` messages, and each
//! target's first compile error from its `compiler-message`s. With
//! `--keep-going`, an exercise that does not compile costs that exercise
//! only; the others are built and graded. Cargo rebuilds what changed and nothing
//! else, so this costs little under `cargo test`, which has just built the
//! same code.
//!
//! # Where each workspace is built
//!
//! The grader's own workspace (the instructor's, or a student's copy where
//! the student runs the grader at home) is built where `cargo test` or
//! `cargo run` builds it: with the `CARGO_TARGET_DIR` and configuration
//! the grader runs under, so the binaries graded are the ones just built
//! and nothing is built twice. Any other workspace graded whole
//! (`--whole`, or a test's) is built in its own `target/`, whatever
//! `CARGO_TARGET_DIR` or its configuration says ([`target_dir`]). Cargo
//! names a workspace member's build artifacts (its build script's output
//! among them) by the package and its path *within* the workspace, so two
//! workspaces that both have a `q6-four-processes` would share them in one
//! target directory, and one could be graded with the other's build script
//! or binary. A student's submission graded from its exercises' sources
//! uses no cargo target directory at all ([`submission`](crate::submission)).
//!
//! A build that hangs (a build script that never ends, say) is stopped after
//! [`build_timeout`]: cargo runs in a process group of its own, which is
//! killed whole, and the submission's verdict is that it did not build.

use std::collections::BTreeMap;
use std::io::BufReader;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use cargo_metadata::Message;

use crate::error::Error;
use crate::workspace::is_own_workspace;

/// The executables of a built workspace, by target name, and the first
/// error of each target that did not compile.
#[derive(Debug, Clone, Default)]
pub struct Binaries {
    paths: BTreeMap<String, PathBuf>,
    /// Each library built (or fresh), by package id: the file a crate that
    /// uses it is linked against (`.rlib`, or `.so` for a proc macro).
    libs: BTreeMap<String, PathBuf>,
    /// The first error of each target that failed, by target name.
    errors: BTreeMap<String, String>,
    /// When the build failed: its first error, whichever target it was in.
    failed: Option<String>,
    /// What the build had of its limits.
    pub limits: Option<crate::sandbox::BuildReport>,
}

impl Binaries {
    /// The path of the binary or example called `name`.
    pub fn get(&self, name: &str) -> Result<&Path, Error> {
        self.paths
            .get(name)
            .map(PathBuf::as_path)
            .ok_or_else(|| Error::MissingBinary(name.to_owned()))
    }

    /// The library file of package `id` (cargo's package id), to link
    /// against.
    pub fn library(&self, id: &str) -> Option<&Path> {
        self.libs.get(id).map(PathBuf::as_path)
    }

    /// The directories the libraries were built in.
    pub fn library_dirs(&self) -> Vec<PathBuf> {
        let mut dirs: Vec<PathBuf> = self
            .libs
            .values()
            .filter_map(|l| l.parent().map(Path::to_path_buf))
            .collect();
        dirs.sort();
        dirs.dedup();
        dirs
    }

    /// Why the binary called `name` is missing, when the build failed:
    /// `(true, its own first error)`, or `(false, the build's first error)`
    /// when it failed for another target it needs (a library, say).
    pub fn compile_error(&self, name: &str) -> Option<(bool, &str)> {
        match self.errors.get(name) {
            Some(own) => Some((true, own)),
            None => self.failed.as_deref().map(|first| (false, first)),
        }
    }
}

/// The cargo to run: the one running us under `cargo test`, else `cargo`.
fn cargo() -> PathBuf {
    std::env::var_os("CARGO").map_or_else(|| "cargo".into(), PathBuf::from)
}

/// Sets how long a build may take, in seconds (ten minutes by default).
pub const BUILD_TIMEOUT_ENV: &str = "GRADER_BUILD_TIMEOUT";

/// How long a build may take: [`BUILD_TIMEOUT_ENV`] seconds, or ten
/// minutes (a whole workspace from scratch takes about one here).
pub fn build_timeout() -> Duration {
    std::env::var(BUILD_TIMEOUT_ENV)
        .ok()
        .and_then(|s| s.parse().ok())
        .map_or(Duration::from_secs(600), Duration::from_secs)
}

/// Builds every binary and example of the workspace at `workspace`, within
/// its timeout ([`BUILD_TIMEOUT_ENV`]), where the module's docs say (the
/// grader's own workspace where cargo builds it, any other in its own
/// `target/`). A build that fails still
/// returns what was built, with the errors ([`Binaries::compile_error`]);
/// only a build stopped at its timeout is an error.
pub fn build(workspace: &Path) -> Result<Binaries, Error> {
    // Cargo runs in the workspace, so a relative path would be taken from
    // there.
    let workspace = &std::path::absolute(workspace)
        .map_err(|e| Error::io(format!("find {}", workspace.display()), e))?;
    let mut limits = crate::sandbox::BuildLimits::new();
    let mut command = Command::new(cargo());
    limits.apply(&mut command);
    command
        .arg("build")
        .arg("--manifest-path")
        .arg(workspace.join("Cargo.toml"))
        .args([
            "--workspace",
            "--bins",
            "--examples",
            "--keep-going",
            "--message-format=json",
        ]);
    if let Some(target) = target_dir(workspace) {
        command.arg("--target-dir").arg(target);
    }
    let mut child = command
        // As `cargo build` in the workspace: its configuration, and a
        // relative CARGO_TARGET_DIR taken from its root.
        .current_dir(workspace)
        // The network is gone: what is not downloaded already is not used.
        .env("CARGO_NET_OFFLINE", "true")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .map_err(|e| Error::io("run cargo build", e))?;
    let had = limits.report();
    let group = nix::unistd::Pid::from_raw(i32::try_from(child.id()).expect("pids fit in i32"));
    let timeout = build_timeout();
    let (finished, watch) = mpsc::channel::<()>();
    let watchdog = std::thread::spawn(move || {
        let late = matches!(
            watch.recv_timeout(timeout),
            Err(mpsc::RecvTimeoutError::Timeout)
        );
        if late {
            let _ = nix::sys::signal::killpg(group, nix::sys::signal::Signal::SIGKILL);
        }
        late
    });
    // Cargo's stderr is read on a thread of its own so neither pipe can fill.
    let stderr = child.stderr.take().expect("stderr was piped");
    let stderr = std::thread::spawn(move || std::io::read_to_string(stderr).unwrap_or_default());
    let (mut binaries, first) = read_messages(child.stdout.take().expect("stdout was piped"));
    binaries.limits = Some(had);
    let status = child
        .wait()
        .map_err(|e| Error::io("wait for cargo build", e))?;
    drop(finished);
    let late = watchdog.join().unwrap_or(false);
    let stderr = stderr.join().unwrap_or_default();
    if late {
        // Whatever cargo had started (rustc, a build script) was in its
        // group and died with it; what was orphaned to us is reaped.
        crate::procfs::clear_group(group, |pid| {
            let _ = nix::sys::wait::waitpid(pid, None);
        });
        return Err(Error::Build {
            workspace: workspace.display().to_string(),
            first_error: format!(
                "cargo build did not finish within {} s and was stopped ({BUILD_TIMEOUT_ENV})",
                timeout.as_secs()
            ),
        });
    }
    if !status.success() {
        // A compile error came as a message; anything else (a bad
        // manifest, a failed build script) only on stderr.
        binaries.failed = Some(first.unwrap_or_else(|| first_error(&stderr)));
    }
    Ok(binaries)
}

/// What cargo's messages say was built, and the first compile error.
fn read_messages(stdout: impl std::io::Read) -> (Binaries, Option<String>) {
    let mut binaries = Binaries::default();
    let mut first = None;
    for message in Message::parse_stream(BufReader::new(stdout)).flatten() {
        match message {
            Message::CompilerArtifact(artifact) => {
                let library = artifact.filenames.iter().find(|f| {
                    let f = f.as_str();
                    f.ends_with(".rlib") || (f.ends_with(".so") && f.contains("/deps/"))
                });
                if let Some(library) = library {
                    binaries
                        .libs
                        .insert(artifact.package_id.repr.clone(), library.clone().into());
                }
                if let Some(path) = artifact.executable {
                    binaries.paths.insert(artifact.target.name, path.into());
                }
            }
            Message::CompilerMessage(compiled) if is_error(compiled.message.level) => {
                let text = compiled
                    .message
                    .rendered
                    .unwrap_or(compiled.message.message);
                let error = first_error(&text);
                first.get_or_insert_with(|| error.clone());
                binaries.errors.entry(compiled.target.name).or_insert(error);
            }
            _ => {}
        }
    }
    (binaries, first)
}

/// Where the workspace at `workspace` (an absolute path) is built: `None`
/// for the grader's own (where cargo would build it), its own `target/`
/// for any other.
pub fn target_dir(workspace: &Path) -> Option<PathBuf> {
    if is_own_workspace(workspace) {
        return None;
    }
    Some(workspace.join("target"))
}

fn is_error(level: cargo_metadata::diagnostic::DiagnosticLevel) -> bool {
    use cargo_metadata::diagnostic::DiagnosticLevel;
    matches!(level, DiagnosticLevel::Error | DiagnosticLevel::Ice)
}

/// The compiler's first error with the line that locates it, or cargo's last
/// line when there is none.
fn first_error(stderr: &str) -> String {
    let lines: Vec<&str> = stderr.lines().collect();
    let mut first = match lines.iter().position(|l| l.starts_with("error")) {
        Some(i) => lines[i..]
            .iter()
            .take(2)
            .map(|l| l.trim())
            .collect::<Vec<_>>()
            .join(" "),
        None => lines.last().map_or("cargo failed", |l| l.trim()).to_owned(),
    };
    // A build script that failed: what it said is the useful part.
    if let Some(i) = lines.iter().position(|l| l.trim() == "--- stderr") {
        let said: Vec<&str> = lines[i + 1..]
            .iter()
            .map(|l| l.trim())
            .filter(|l| !l.is_empty() && !l.starts_with("note:"))
            .take(3)
            .collect();
        if !said.is_empty() {
            first.push_str(" -- its stderr: ");
            first.push_str(&said.join(" "));
        }
    }
    first
}
