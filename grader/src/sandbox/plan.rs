//! What the run's init and program do, prepared before the `clone`: the
//! steps that build the run's file system, and the C strings of the
//! program's path, arguments and environment (the children of `clone` may
//! not allocate).

use std::ffi::{CString, OsStr};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use super::{CHECKIN_DIR, Spec, memory_cap, seccomp};

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
            filters: seccomp::filters(spec.traced),
            memory: memory_cap(),
        }
    }
}

/// How the init builds the new root at `root` (a host directory).
pub(super) fn steps(spec: &Spec<'_>, root: &Path, binary_name: &OsStr) -> Vec<Step> {
    let inside = |p: &str| path_c(&root.join(p.trim_start_matches('/')));
    let mount = |source: &str, target: CString, fstype: Option<&str>, flags, data: Option<&str>| {
        Step::Mount {
            source: cstring(source),
            target,
            fstype: fstype.map(cstring),
            flags,
            data: data.map(cstring),
        }
    };
    let bind = |source: &Path, target: CString, steps: &mut Vec<Step>| {
        steps.push(Step::Mount {
            source: path_c(source),
            target: target.clone(),
            fstype: None,
            flags: libc::MS_BIND | libc::MS_REC,
            data: None,
        });
        steps.push(Step::Mount {
            source: c"none".to_owned(),
            target,
            fstype: None,
            flags: libc::MS_REMOUNT | libc::MS_BIND | libc::MS_RDONLY | libc::MS_NOSUID,
            data: None,
        });
    };
    let mut steps = vec![
        // Nothing done here may reach the host's mounts.
        mount(
            "none",
            c"/".to_owned(),
            None,
            libc::MS_REC | libc::MS_PRIVATE,
            None,
        ),
        mount(
            "tmpfs",
            path_c(root),
            Some("tmpfs"),
            libc::MS_NOSUID | libc::MS_NODEV,
            Some("size=16m,mode=755"),
        ),
    ];
    for dir in ["usr", "lib", "lib32", "lib64", "bin", "sbin", "etc"] {
        let host = Path::new("/").join(dir);
        match std::fs::read_link(&host) {
            Ok(target) => steps.push(Step::Symlink(path_c(&target), inside(dir))),
            Err(_) if host.is_dir() => {
                steps.push(Step::Mkdir(inside(dir)));
                bind(&host, inside(dir), &mut steps);
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
        steps.push(Step::Mkdir(inside(dir)));
    }
    steps.push(mount(
        "proc",
        inside("proc"),
        Some("proc"),
        libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC,
        None,
    ));
    for (dir, size) in [
        ("tmp", "size=64m,mode=1777"),
        ("dev/shm", "size=64m,mode=1777"),
    ] {
        steps.push(mount(
            "tmpfs",
            inside(dir),
            Some("tmpfs"),
            libc::MS_NOSUID | libc::MS_NODEV,
            Some(size),
        ));
    }
    for device in ["null", "zero", "full", "random", "urandom"] {
        let target = inside(&format!("dev/{device}"));
        steps.push(Step::Touch(target.clone()));
        steps.push(Step::Mount {
            source: cstring(format!("/dev/{device}")),
            target,
            fstype: None,
            flags: libc::MS_BIND,
            data: None,
        });
    }
    bind(spec.checkin_dir, inside("run/grader"), &mut steps);
    let binary = root.join("run/exercise").join(binary_name);
    steps.push(Step::Touch(path_c(&binary)));
    bind(spec.binary, path_c(&binary), &mut steps);
    steps.push(Step::PivotInto(path_c(root)));
    steps
}
