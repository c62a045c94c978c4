//! One exercise of a submission compiled by one `rustc` call in a sandbox
//! of its own, against the instructor's libraries, within the build's
//! caps and timeout.
//!
//! The compile sandbox is a run's (`sandbox`: the namespaces, a new root,
//! an unprivileged uid, the seccomp filter, the caps) with other contents.
//! Its root holds the system's `/usr` and `/lib` (the linker and the C
//! library it links), and:
//!
//! | inside | what | |
//! |---|---|---|
//! | `/toolchain` | the compiler's sysroot (`rustc --print sysroot`) | read-only |
//! | `/deps` | the instructor's libraries the exercises link ([`super::libraries`]) | read-only |
//! | `/src/PACKAGE/src` | the exercise's sources, copied ([`super::sources`]) | read-only |
//! | `/out` | where the binary is written | writable |
//!
//! Of `/etc`, only `/etc/alternatives` (the links Debian's `cc` goes
//! through); a `/proc` of its own processes (the loader and the linker
//! find their files through `/proc/self/exe`); no home, no workspace: `include_str!` of any
//! other path finds nothing, and `env!` finds only `PATH`, `HOME=/tmp`,
//! `LANG`, `TMPDIR` and the `CARGO_*` variables cargo would set. It has no
//! network. The compiler's first error is reported, capped at
//! [`ERROR_CAP`] bytes.

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::Command;

use cargo_metadata::diagnostic::{Diagnostic, DiagnosticLevel};

use crate::cargo::build_timeout;
use crate::escape::capped;
use crate::exercises::Exercise;
use crate::sandbox::{self, Bind, Caps, Layers, Program, Spec};

use super::libraries::{self, Libraries};
use super::recipe::Recipe;

/// The most bytes of a compile error a report shows.
pub const ERROR_CAP: usize = 2048;

/// The toolchain a compile sandbox binds at `/toolchain`.
#[derive(Debug, Clone)]
pub struct Toolchain {
    /// Its sysroot on the host.
    pub sysroot: PathBuf,
}

impl Toolchain {
    /// The toolchain of the `rustc` cargo names (`RUSTC`), else of the
    /// one on `PATH`.
    pub fn find() -> std::io::Result<Toolchain> {
        let rustc = std::env::var_os("RUSTC").map_or_else(|| "rustc".into(), PathBuf::from);
        let output = Command::new(&rustc).args(["--print", "sysroot"]).output()?;
        if !output.status.success() {
            return Err(std::io::Error::other(format!(
                "{} --print sysroot failed",
                rustc.display()
            )));
        }
        let sysroot = PathBuf::from(String::from_utf8_lossy(&output.stdout).trim());
        Ok(Toolchain { sysroot })
    }
}

/// What one compile needs besides the sources: the exercise's recipe, the
/// libraries and the toolchain.
pub(super) struct Compile<'a> {
    pub(super) recipe: &'a Recipe,
    pub(super) libraries: &'a Libraries,
    pub(super) toolchain: &'a Toolchain,
}

/// Compiles `exercise` from its copied sources in `work/sources/src` into
/// `work/out`, in a compile sandbox; returns the binary and the layers the
/// sandbox had, or the compiler's first error (capped, its `main.rs` named
/// `main` as the submission has it) and the layers.
pub(super) fn compile(
    how: &Compile<'_>,
    exercise: &Exercise,
    work: &Path,
    main: &str,
) -> (Result<PathBuf, String>, Option<Layers>) {
    let package = exercise.package;
    let out = work.join("out");
    if let Err(e) = std::fs::create_dir_all(&out) {
        return (
            Err(format!("cannot make a directory to build in: {e}")),
            None,
        );
    }
    let inside_src = format!("/src/{package}");
    let mut args: Vec<String> = vec![
        "--crate-name".into(),
        how.recipe.crate_name.clone(),
        "--edition".into(),
        how.recipe.edition.clone(),
        "--crate-type".into(),
        "bin".into(),
        "--error-format=json".into(),
        "-C".into(),
        "debuginfo=0".into(),
        "-C".into(),
        "strip=debuginfo".into(),
        format!("{inside_src}/src/main.rs"),
        "-o".into(),
        format!("/out/{package}"),
        "-L".into(),
        format!("dependency={}", libraries::INSIDE),
    ];
    for (name, library) in &how.recipe.externs {
        args.push("--extern".into());
        args.push(format!("{name}={}", libraries::inside(library).display()));
    }
    let mut env = how.recipe.env.clone();
    env.push(("CARGO_MANIFEST_DIR".into(), inside_src.clone()));
    let (stderr, stderr_w) = match nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC) {
        Ok(pipe) => pipe,
        Err(e) => return (Err(format!("cannot make a pipe: {e}")), None),
    };
    let stdout_w = match std::fs::File::create("/dev/null") {
        Ok(null) => std::os::fd::OwnedFd::from(null),
        Err(e) => return (Err(format!("cannot open /dev/null: {e}")), None),
    };
    let mut binds = vec![
        Bind {
            host: how.toolchain.sysroot.clone(),
            inside: PathBuf::from("/toolchain"),
            writable: false,
        },
        Bind {
            host: how.libraries.dir().to_path_buf(),
            inside: PathBuf::from(libraries::INSIDE),
            writable: false,
        },
        Bind {
            host: work.join("sources"),
            inside: PathBuf::from(&inside_src),
            writable: false,
        },
        Bind {
            host: out.clone(),
            inside: PathBuf::from("/out"),
            writable: true,
        },
    ];
    // Debian's `cc` is a link through /etc/alternatives (links only).
    let alternatives = Path::new("/etc/alternatives");
    if alternatives.is_dir() {
        binds.push(Bind {
            host: alternatives.to_path_buf(),
            inside: alternatives.to_path_buf(),
            writable: false,
        });
    }
    let spec = Spec {
        program: Program::Inside(PathBuf::from("/toolchain/bin/rustc")),
        args: &args,
        env,
        path: "/toolchain/bin:/usr/local/bin:/usr/bin:/bin",
        binds,
        etc: false,
        // The loader and the linker find their own files through
        // /proc/self/exe.
        proc: true,
        checkin: None,
        stdout: stdout_w,
        stderr: stderr_w,
        traced: false,
        stops: sandbox::seccomp::Stops::default(),
        caps: Caps {
            memory: sandbox::build_memory(),
            tasks: sandbox::BUILD_TASKS,
            file_size: 1 << 30,
        },
    };
    let mut sandbox = match sandbox::launch(spec) {
        Ok(sandbox) => sandbox,
        Err(e) => return (Err(not_started(&e)), None),
    };
    let layers = sandbox.layers.clone();
    let shown = Shown {
        inside: format!("{inside_src}/src/main.rs"),
        main: main.to_owned(),
    };
    let reader = std::thread::spawn(move || first_error(std::fs::File::from(stderr), &shown));
    if let Err(e) = sandbox.go(&mut || {}) {
        return (Err(not_started(&e)), Some(layers));
    }
    let status = sandbox.wait(build_timeout());
    drop(sandbox);
    let first = reader.join().unwrap_or(None);
    let outcome = match status {
        Some(0) => Ok(out.join(package)),
        Some(_) => Err(first.unwrap_or_else(|| "rustc failed".to_owned())),
        None => Err(format!(
            "rustc did not finish within {} s and was stopped",
            build_timeout().as_secs()
        )),
    };
    (outcome, Some(layers))
}

/// How the sandbox's path of the crate's root is shown in an error: as
/// the submission has the file.
struct Shown {
    /// Its path inside the sandbox.
    inside: String,
    /// Its path in the submission.
    main: String,
}

/// Why the compiler could not be started, with the cause.
fn not_started(error: &crate::error::Error) -> String {
    let mut said = format!("could not start the compiler: {error}");
    if let Some(cause) = std::error::Error::source(error) {
        said.push_str(&format!(": {cause}"));
    }
    said
}

/// The compiler's first error and where, in two lines' worth (paths as the
/// submission has them), capped at [`ERROR_CAP`] bytes; else the last line
/// it wrote that was not a diagnostic (it could not start, say).
fn first_error(stderr: std::fs::File, shown: &Shown) -> Option<String> {
    let mut first = None;
    let mut last_said = None;
    for line in std::io::BufReader::new(stderr)
        .lines()
        .map_while(Result::ok)
    {
        let Ok(diagnostic) = serde_json::from_str::<Diagnostic>(&line) else {
            if !line.trim().is_empty() {
                last_said = Some(line);
            }
            continue;
        };
        if first.is_none() && matches!(diagnostic.level, DiagnosticLevel::Error) {
            let rendered = diagnostic.rendered.unwrap_or(diagnostic.message);
            let lines = rendered
                .lines()
                .filter(|l| !l.trim().is_empty())
                .take(2)
                .map(str::trim)
                .collect::<Vec<_>>()
                .join(" ")
                .replace(&shown.inside, &shown.main)
                .replace(" /src/", " ");
            first = Some(capped(&lines, ERROR_CAP));
        }
    }
    first.or_else(|| last_said.map(|said| capped(&format!("rustc: {said}"), ERROR_CAP)))
}
