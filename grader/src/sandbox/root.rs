//! The steps that build a sandbox's root, worked out before the `clone`
//! and taken by its init.
//!
//! A small tmpfs becomes `/`: the host's `/usr`, `/lib*`, `/bin`, `/sbin`
//! (and `/etc` for a run) bound read-only; a fresh `/proc` (for a run);
//! `/dev` with `null`, `zero`, `full`, `random` and `urandom`; a private
//! `/tmp` and `/dev/shm`; the directories the spec binds; the exercise's
//! binary copied in, at `/run/exercise/NAME`; and, for a run, the check-in
//! socket at `/run/grader/checkin.sock`, made by the init itself. Then the
//! init pivots into it and makes it read-only. Nothing else of the host is
//! there, and no host path shows in `/proc/self/mountinfo` but those of
//! the system directories and of what the spec binds.
//!
//! In a user namespace of its own, the flags a host mount already has
//! (`nodev`, `noexec`, `nosuid`, read-only, its atime rule) are locked by
//! the kernel: a remount that leaves one out is refused. Each bind's
//! remount keeps them, read from the host mount before the `clone`.

use std::ffi::CString;
use std::path::Path;

use super::spec::{CHECKIN_SOCKET, Program, Spec, cstring, path_c};

/// One step of building the root.
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
    /// The program's binary, from the descriptor the init was given, to
    /// this file (mode 0755).
    CopyBinary(CString),
    /// `pivot_root` into it; its old root detached.
    PivotInto(CString),
    /// The check-in socket, listening, at this path (inside the new root),
    /// open to every uid (the directory is not writable by the program).
    Listen(libc::sockaddr_un),
    /// `/` remounted read-only.
    ReadOnlyRoot,
}

impl Step {
    /// What the step does, for the report of one that failed.
    pub(super) fn describe(&self) -> String {
        let show = |c: &CString| c.to_string_lossy().into_owned();
        match self {
            Step::Mount {
                source,
                target,
                fstype,
                ..
            } => format!(
                "mount {} ({}) on {}",
                show(source),
                fstype.as_ref().map_or("bind".to_owned(), show),
                show(target)
            ),
            Step::Mkdir(path) => format!("make the directory {}", show(path)),
            Step::Touch(path) => format!("make the file {}", show(path)),
            Step::Symlink(_, path) => format!("make the link {}", show(path)),
            Step::CopyBinary(path) => format!("copy the program to {}", show(path)),
            Step::PivotInto(root) => format!("pivot into {}", show(root)),
            Step::Listen(_) => format!("listen at {CHECKIN_SOCKET}"),
            Step::ReadOnlyRoot => "make / read-only".to_owned(),
        }
    }
}

/// The steps that build `spec`'s root at `root` (a host directory).
pub(super) fn steps(spec: &Spec<'_>, root: &Path) -> Vec<Step> {
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
    let binary = match spec.program {
        Program::Copy(path) => std::fs::metadata(path).map_or(0, |m| m.len()),
        Program::Inside(_) => 0,
    };
    let size = format!("size={},mode=755", (16 << 20) + binary);
    new.mount(
        "tmpfs",
        path_c(root),
        Some("tmpfs"),
        libc::MS_NOSUID | libc::MS_NODEV,
        Some(&size),
    );
    let mut system = vec!["usr", "lib", "lib32", "lib64", "libx32", "bin", "sbin"];
    if spec.etc {
        system.push("etc");
    }
    for dir in system {
        let host = Path::new("/").join(dir);
        match std::fs::read_link(&host) {
            Ok(target) => new
                .steps
                .push(Step::Symlink(path_c(&target), new.inside(dir))),
            Err(_) if host.is_dir() => {
                new.steps.push(Step::Mkdir(new.inside(dir)));
                new.bind(&host, new.inside(dir), false);
            }
            Err(_) => {}
        }
    }
    for dir in ["tmp", "dev", "dev/shm", "run", "run/exercise"] {
        new.steps.push(Step::Mkdir(new.inside(dir)));
    }
    let flags = libc::MS_NOSUID | libc::MS_NODEV;
    if spec.proc {
        new.steps.push(Step::Mkdir(new.inside("proc")));
        new.mount(
            "proc",
            new.inside("proc"),
            Some("proc"),
            flags | libc::MS_NOEXEC,
            None,
        );
    }
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
    for bind in &spec.binds {
        let mut dirs = Vec::new();
        let mut at = bind.inside.as_path();
        while let Some(parent) = at.parent() {
            dirs.push(at.to_path_buf());
            at = parent;
        }
        for dir in dirs.iter().rev() {
            new.steps
                .push(Step::Mkdir(new.inside(&dir.display().to_string())));
        }
        let target = new.inside(&bind.inside.display().to_string());
        new.bind(&bind.host, target, bind.writable);
    }
    if let Program::Copy(_) = spec.program {
        let binary = root.join("run/exercise").join(spec.name());
        new.steps.push(Step::CopyBinary(path_c(&binary)));
    }
    if spec.checkin.is_some() {
        new.steps.push(Step::Mkdir(new.inside("run/grader")));
    }
    new.steps.push(Step::PivotInto(path_c(root)));
    if spec.checkin.is_some() {
        new.steps.push(Step::Listen(socket_address(CHECKIN_SOCKET)));
    }
    new.steps.push(Step::ReadOnlyRoot);
    new.steps
}

/// The address of a Unix socket at `path`.
fn socket_address(path: &str) -> libc::sockaddr_un {
    // SAFETY: `sockaddr_un` is plain data, valid all zero.
    let mut address: libc::sockaddr_un = unsafe { std::mem::zeroed() };
    address.sun_family = libc::AF_UNIX as libc::sa_family_t;
    for (slot, byte) in address.sun_path.iter_mut().zip(path.as_bytes()) {
        *slot = *byte as libc::c_char;
    }
    address
}

/// The steps of a new root, as they are worked out.
struct NewRoot<'a> {
    root: &'a Path,
    steps: Vec<Step>,
}

impl NewRoot<'_> {
    /// `path` (absolute inside the sandbox) on the host.
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

    /// `source` of the host at `target`, without set-uid or devices, and
    /// read-only unless `writable`; keeping the flags its host mount has.
    fn bind(&mut self, source: &Path, target: CString, writable: bool) {
        self.steps.push(Step::Mount {
            source: path_c(source),
            target: target.clone(),
            fstype: None,
            flags: libc::MS_BIND | libc::MS_REC,
            data: None,
        });
        let mut flags = libc::MS_REMOUNT
            | libc::MS_BIND
            | libc::MS_NOSUID
            | libc::MS_NODEV
            | locked_flags(source);
        if !writable {
            flags |= libc::MS_RDONLY;
        }
        self.steps.push(Step::Mount {
            source: c"none".to_owned(),
            target,
            fstype: None,
            flags,
            data: None,
        });
    }
}

/// The flags of the host mount holding `path` that a remount in a user
/// namespace must keep.
fn locked_flags(path: &Path) -> libc::c_ulong {
    use nix::sys::statvfs::{FsFlags, statvfs};
    let Ok(stat) = statvfs(path) else {
        return 0;
    };
    let have = stat.flags();
    [
        (FsFlags::ST_RDONLY, libc::MS_RDONLY),
        (FsFlags::ST_NOEXEC, libc::MS_NOEXEC),
        (FsFlags::ST_NOATIME, libc::MS_NOATIME),
        (FsFlags::ST_NODIRATIME, libc::MS_NODIRATIME),
        (FsFlags::ST_RELATIME, libc::MS_RELATIME),
    ]
    .into_iter()
    .filter(|(flag, _)| have.contains(*flag))
    .fold(0, |all, (_, ms)| all | ms)
}
