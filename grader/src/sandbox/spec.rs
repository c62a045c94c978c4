//! What a sandbox is asked to run: the program, its arguments,
//! environment, the host directories it sees, its caps and output.

use std::ffi::{CString, OsStr};
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use super::seccomp;

/// What a sandbox executes.
#[derive(Debug, Clone)]
pub enum Program<'a> {
    /// An executable of the host, copied into the sandbox's root at
    /// `/run/exercise/NAME` (so no host path of it shows inside) and
    /// executed there.
    Copy(&'a Path),
    /// An executable inside the sandbox (in a bound directory), by its
    /// path there.
    Inside(PathBuf),
}

/// A host directory the sandbox sees.
#[derive(Debug, Clone)]
pub struct Bind {
    /// The directory on the host.
    pub host: PathBuf,
    /// Where it is inside (absolute).
    pub inside: PathBuf,
    /// Whether the sandbox may write to it.
    pub writable: bool,
}

/// The caps of a sandbox's processes.
#[derive(Debug, Clone, Copy)]
pub struct Caps {
    /// Memory: the cgroup's cap on the whole, each process's address
    /// space.
    pub memory: u64,
    /// Tasks: the cgroup's cap, or `RLIMIT_NPROC`.
    pub tasks: u64,
    /// The largest file it may write.
    pub file_size: u64,
}

/// What to run in a sandbox, and where its output goes.
#[derive(Debug)]
pub struct Spec<'a> {
    /// What it executes.
    pub program: Program<'a>,
    /// Its arguments (paths as they are inside).
    pub args: &'a [String],
    /// The environment it gets, besides `PATH`, `HOME`, `LANG` and
    /// `TMPDIR`; nothing of the grader's own.
    pub env: Vec<(String, String)>,
    /// `PATH`, as it is inside.
    pub path: &'a str,
    /// Host directories it sees, besides the system's.
    pub binds: Vec<Bind>,
    /// Whether it sees the host's `/etc` (a run does; a build needs none
    /// of it).
    pub etc: bool,
    /// Whether it has a `/proc` (of its own processes).
    pub proc: bool,
    /// The variable that names the check-in socket, when it has one.
    pub checkin: Option<&'static str>,
    /// Where its stdout goes (its end of a socket pair, or a pipe's
    /// write end).
    pub stdout: OwnedFd,
    /// Where its stderr goes.
    pub stderr: OwnedFd,
    /// Whether the grader traces it (the filter then sends writes to the
    /// tracer).
    pub traced: bool,
    /// Which other calls stop at the tracer, when traced.
    pub stops: seccomp::Stops,
    /// Its caps.
    pub caps: Caps,
}

/// Where the program sees the check-in socket, in its own root.
pub const CHECKIN_SOCKET: &str = "/run/grader/checkin.sock";

impl Spec<'_> {
    /// The executable's name inside the sandbox.
    pub(super) fn name(&self) -> &OsStr {
        match &self.program {
            Program::Copy(path) => path.file_name().unwrap_or(OsStr::new("exercise")),
            Program::Inside(path) => path.file_name().unwrap_or(OsStr::new("program")),
        }
    }
}

pub(super) fn cstring(bytes: impl AsRef<[u8]>) -> CString {
    CString::new(bytes.as_ref()).unwrap_or_else(|_| c"/nonexistent".to_owned())
}

pub(super) fn path_c(path: &Path) -> CString {
    cstring(path.as_os_str().as_bytes())
}
