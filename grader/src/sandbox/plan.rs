//! What a run is ([`Spec`]: the program, its arguments, its output) and
//! what its init and program do, prepared before the `clone`: the steps
//! that build the run's file system, and the C strings of the program's
//! path, arguments and environment (the children of `clone` may not
//! allocate).

use std::ffi::{CString, OsStr};
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use super::limits::memory_cap;
use super::seccomp;

/// What to run, and where its output goes.
#[derive(Debug)]
pub struct Spec<'a> {
    /// The exercise's executable, on the host.
    pub binary: &'a Path,
    /// Its arguments.
    pub args: &'a [String],
    /// The environment it gets, besides `PATH`, `HOME` and `LANG`;
    /// nothing of the grader's own.
    pub env: Vec<(String, String)>,
    /// The directory holding the check-in socket, seen by the program at
    /// [`CHECKIN_DIR`].
    pub checkin_dir: &'a Path,
    /// Where its stdout goes (its end of a socket pair).
    pub stdout: OwnedFd,
    /// Where its stderr goes.
    pub stderr: OwnedFd,
    /// Whether the grader traces it (the filter then sends writes to the
    /// tracer).
    pub traced: bool,
    /// Which other calls stop at the tracer, when traced.
    pub stops: seccomp::Stops,
}

/// Where the program sees the check-in socket's directory.
pub const CHECKIN_DIR: &str = "/run/grader";

/// Steps the init takes to build the run's file system.
#[derive(Debug)]
pub(super) enum Step {
    Mount {
        source: CString,
        target: CString,
        fstype: Option<CString>,
        flags: libc::c_ulong,
        data: Option<CString>,
    },
    Mkdir(CString),
    Touch(CString),
    Symlink(CString, CString),
    PivotInto(CString),
}

/// Everything the children of `clone` need, made before it.
#[derive(Debug)]
pub(super) struct Plan {
    pub(super) steps: Vec<Step>,
    pub(super) exec: CString,
    pub(super) argv: Vec<CString>,
    pub(super) envp: Vec<CString>,
    /// The seccomp filters, installed in this order.
    pub(super) filters: Vec<seccompiler::BpfProgram>,
    pub(super) memory: u64,
}

pub(super) fn cstring(bytes: impl AsRef<[u8]>) -> CString {
    CString::new(bytes.as_ref()).unwrap_or_else(|_| c"/nonexistent".to_owned())
}

pub(super) fn path_c(path: &Path) -> CString {
    cstring(path.as_os_str().as_bytes())
}

impl Plan {
    pub(super) fn new(spec: &Spec<'_>, root: Option<&Path>) -> Plan {
        let name = spec
            .binary
            .file_name()
            .unwrap_or(OsStr::new("exercise"))
            .to_owned();
        let exec = match root {
            Some(_) => Path::new("/run/exercise").join(&name),
            None => spec.binary.to_path_buf(),
        };
        let checkin = match root {
            Some(_) => PathBuf::from(CHECKIN_DIR),
            None => spec.checkin_dir.to_path_buf(),
        };
        let mut env: Vec<(String, String)> = vec![
            ("PATH".into(), "/usr/local/bin:/usr/bin:/bin".into()),
            ("HOME".into(), "/tmp".into()),
            ("LANG".into(), "C.UTF-8".into()),
        ];
        for (key, value) in &spec.env {
            let value = value.replace(
                &spec.checkin_dir.display().to_string(),
                &checkin.display().to_string(),
            );
            env.push((key.clone(), value));
        }
        let mut argv = vec![path_c(&exec)];
        argv.extend(spec.args.iter().map(cstring));
        Plan {
            steps: root.map_or_else(Vec::new, |root| steps(spec, root, &name)),
            exec: path_c(&exec),
            argv,
            envp: env
                .iter()
                .map(|(k, v)| cstring(format!("{k}={v}")))
                .collect(),
            filters: seccomp::filters(spec.traced, spec.stops),
            memory: memory_cap(),
        }
    }
}

/// How the init builds the new root at `root` (a host directory): a
/// tmpfs holding the host's system directories read-only, a fresh
/// `/proc`, private `/tmp` and `/dev/shm`, a few devices, the check-in
/// socket's directory and the exercise's binary; then it becomes `/`.
pub(super) fn steps(spec: &Spec<'_>, root: &Path, binary_name: &OsStr) -> Vec<Step> {
    let mut new = NewRoot {
        root,
        steps: Vec::new(),
    };
    // Nothing done here may reach the host's mounts.
    new.mount(
        "none",
        c"/".to_owned(),
        None,
        libc::MS_REC | libc::MS_PRIVATE,
        None,
    );
    new.mount(
        "tmpfs",
        path_c(root),
        Some("tmpfs"),
        libc::MS_NOSUID | libc::MS_NODEV,
        Some("size=16m,mode=755"),
    );
    for dir in ["usr", "lib", "lib32", "lib64", "bin", "sbin", "etc"] {
        let host = Path::new("/").join(dir);
        match std::fs::read_link(&host) {
            Ok(target) => new
                .steps
                .push(Step::Symlink(path_c(&target), new.inside(dir))),
            Err(_) if host.is_dir() => {
                new.steps.push(Step::Mkdir(new.inside(dir)));
                new.bind_read_only(&host, new.inside(dir));
            }
            Err(_) => {}
        }
    }
    for dir in [
        "proc",
        "tmp",
        "dev",
        "dev/shm",
        "run",
        "run/grader",
        "run/exercise",
    ] {
        new.steps.push(Step::Mkdir(new.inside(dir)));
    }
    let proc = new.inside("proc");
    let flags = libc::MS_NOSUID | libc::MS_NODEV;
    new.mount("proc", proc, Some("proc"), flags | libc::MS_NOEXEC, None);
    for dir in ["tmp", "dev/shm"] {
        let target = new.inside(dir);
        new.mount(
            "tmpfs",
            target,
            Some("tmpfs"),
            flags,
            Some("size=64m,mode=1777"),
        );
    }
    for device in ["null", "zero", "full", "random", "urandom"] {
        let target = new.inside(&format!("dev/{device}"));
        new.steps.push(Step::Touch(target.clone()));
        new.steps.push(Step::Mount {
            source: cstring(format!("/dev/{device}")),
            target,
            fstype: None,
            flags: libc::MS_BIND,
            data: None,
        });
    }
    new.bind_read_only(spec.checkin_dir, new.inside("run/grader"));
    let binary = root.join("run/exercise").join(binary_name);
    new.steps.push(Step::Touch(path_c(&binary)));
    new.bind_read_only(spec.binary, path_c(&binary));
    new.steps.push(Step::PivotInto(path_c(root)));
    new.steps
}

/// The steps of a new root, as they are worked out.
struct NewRoot<'a> {
    root: &'a Path,
    steps: Vec<Step>,
}

impl NewRoot<'_> {
    /// `path` (absolute inside the run) on the host.
    fn inside(&self, path: &str) -> CString {
        path_c(&self.root.join(path.trim_start_matches('/')))
    }

    fn mount(
        &mut self,
        source: &str,
        target: CString,
        fstype: Option<&str>,
        flags: libc::c_ulong,
        data: Option<&str>,
    ) {
        self.steps.push(Step::Mount {
            source: cstring(source),
            target,
            fstype: fstype.map(cstring),
            flags,
            data: data.map(cstring),
        });
    }

    /// `source` of the host at `target`, read-only and without set-uid.
    fn bind_read_only(&mut self, source: &Path, target: CString) {
        self.steps.push(Step::Mount {
            source: path_c(source),
            target: target.clone(),
            fstype: None,
            flags: libc::MS_BIND | libc::MS_REC,
            data: None,
        });
        self.steps.push(Step::Mount {
            source: c"none".to_owned(),
            target,
            fstype: None,
            flags: libc::MS_REMOUNT | libc::MS_BIND | libc::MS_RDONLY | libc::MS_NOSUID,
            data: None,
        });
    }
}
