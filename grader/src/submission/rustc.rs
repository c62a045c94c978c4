//! One exercise of a submission compiled by one `rustc` call, against the
//! instructor's libraries, under the build limits and the build timeout.

use std::io::BufRead;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use cargo_metadata::diagnostic::{Diagnostic, DiagnosticLevel};

use crate::cargo::build_timeout;
use crate::exercises::Exercise;
use crate::sandbox::BuildLimits;

use super::layout::Sources;
use super::recipe::Recipe;

/// Compiles `exercise` from its `sources` in the submission whose
/// exercises are under `root` into `out` as `recipe` says, with the
/// libraries' dependencies in `deps`; `Err` is the compiler's first error.
pub(super) fn compile(
    recipe: &Recipe,
    deps: &[PathBuf],
    exercise: &Exercise,
    sources: &Sources,
    root: &Path,
    out: &Path,
) -> Result<PathBuf, String> {
    let main = &sources.main;
    let binary = out.join(exercise.package);
    let limits = BuildLimits::new();
    let mut command = Command::new(rustc());
    command
        .envs(recipe.env.iter().map(|(k, v)| (k, v)))
        .env("CARGO_MANIFEST_DIR", &sources.dir)
        .arg("--crate-name")
        .arg(&recipe.crate_name)
        .arg("--edition")
        .arg(&recipe.edition)
        .args(["--crate-type", "bin", "--error-format=json"])
        .args(["-C", "debuginfo=0", "-C", "strip=debuginfo"])
        .arg(main)
        .arg("-o")
        .arg(&binary);
    for dir in deps {
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
    let child = command
        .current_dir(out)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .map_err(|e| format!("could not run rustc: {e}"))?;
    finish(child, root).map(|()| binary)
}

/// Waits for `rustc` (killing its group at the build timeout); `Err` is
/// its first error, with paths made relative to `root`, or why it did not
/// finish.
fn finish(mut child: Child, root: &Path) -> Result<(), String> {
    let stderr = child.stderr.take().expect("piped");
    let root = Some(root.to_path_buf());
    let reader = std::thread::spawn(move || {
        let mut first = None;
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            if first.is_none()
                && let Ok(diagnostic) = serde_json::from_str::<Diagnostic>(&line)
                && matches!(diagnostic.level, DiagnosticLevel::Error)
            {
                let rendered = diagnostic.rendered.unwrap_or(diagnostic.message);
                first = Some(first_error(&rendered, root.clone()));
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
        Some(status) if status.success() => Ok(()),
        Some(_) => Err(first.unwrap_or_else(|| "rustc failed".to_owned())),
        None => Err(format!(
            "rustc did not finish within {} s and was stopped",
            build_timeout().as_secs()
        )),
    }
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

/// The compiler: the one cargo names, else `rustc` from `PATH`.
fn rustc() -> PathBuf {
    std::env::var_os("RUSTC").map_or_else(|| "rustc".into(), PathBuf::from)
}
