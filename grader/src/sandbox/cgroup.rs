//! A control group per run: a memory cap and a process cap the kernel
//! enforces on every process of the run, traced or not.
//!
//! Both cgroup versions are handled: v2 (one hierarchy with `memory.max`
//! and `pids.max`) and v1 (a hierarchy per controller, with
//! `memory.limit_in_bytes` and `pids.max`). The run's group is made below
//! the grader's own, and removed once the run is over. Where the grader may
//! not make groups (no cgroup file system, no rights, v2 without the
//! controllers delegated), the layer is missing and the report says so.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::unistd::Pid;

/// The run's groups, one per controller found; removed when dropped.
#[derive(Debug, Default)]
pub struct Cgroups {
    dirs: Vec<PathBuf>,
    /// The group that caps memory, to read its count of hits.
    memory: Option<(PathBuf, Version)>,
    /// Whether a memory cap is in force.
    pub memory_capped: bool,
    /// Whether a process cap is in force.
    pub pids_capped: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Version {
    V1,
    V2,
}

/// Where this process's group of `controller` is, and in which version.
fn own_group(controller: &str) -> Option<(PathBuf, Version)> {
    let table = fs::read_to_string("/proc/self/cgroup").ok()?;
    let unified = Path::new("/sys/fs/cgroup/cgroup.controllers");
    if unified.is_file() {
        let controllers = fs::read_to_string(unified).ok()?;
        if !controllers.split_whitespace().any(|c| c == controller) {
            return None;
        }
        let path = table.lines().find_map(|l| l.strip_prefix("0::"))?;
        return Some((
            Path::new("/sys/fs/cgroup").join(path.trim_start_matches('/')),
            Version::V2,
        ));
    }
    table.lines().find_map(|line| {
        let mut fields = line.splitn(3, ':');
        let (_, names, path) = (fields.next()?, fields.next()?, fields.next()?);
        if !names.split(',').any(|n| n == controller) {
            return None;
        }
        let dir = Path::new("/sys/fs/cgroup")
            .join(names)
            .join(path.trim_start_matches('/'));
        dir.is_dir().then_some((dir, Version::V1))
    })
}

impl Cgroups {
    /// Makes the groups of run `name` with `memory` bytes and `processes`
    /// tasks at most; the ones that cannot be made are simply not there.
    pub fn create(name: &str, memory: u64, processes: u64) -> Cgroups {
        let mut groups = Cgroups::default();
        if let Some((parent, version)) = own_group("memory") {
            let dir = parent.join(name);
            let file = match version {
                Version::V1 => "memory.limit_in_bytes",
                Version::V2 => "memory.max",
            };
            if enable(&parent, version, "memory")
                && fs::create_dir(&dir).is_ok()
                && fs::write(dir.join(file), memory.to_string()).is_ok()
            {
                // v1 also counts swap separately where it is accounted.
                let _ = fs::write(dir.join("memory.memsw.limit_in_bytes"), memory.to_string());
                groups.memory_capped = true;
                groups.memory = Some((dir.clone(), version));
                groups.dirs.push(dir);
            }
        }
        if let Some((parent, version)) = own_group("pids") {
            let dir = parent.join(name);
            let same = groups.dirs.contains(&dir);
            if enable(&parent, version, "pids")
                && (same || fs::create_dir(&dir).is_ok())
                && fs::write(dir.join("pids.max"), processes.to_string()).is_ok()
            {
                groups.pids_capped = true;
                if !same {
                    groups.dirs.push(dir);
                }
            }
        }
        groups
    }

    /// The `cgroup.procs` file of each group, to join it from a process
    /// about to `exec`.
    pub fn procs_files(&self) -> Vec<PathBuf> {
        self.dirs
            .iter()
            .map(|dir| dir.join("cgroup.procs"))
            .collect()
    }

    /// Puts process `pid` into every group of the run.
    pub fn add(&self, pid: Pid) -> bool {
        self.dirs
            .iter()
            .all(|dir| fs::write(dir.join("cgroup.procs"), pid.to_string()).is_ok())
    }

    /// Whether the run was refused memory at its cap.
    pub fn hit_memory_cap(&self) -> bool {
        let Some((dir, version)) = &self.memory else {
            return false;
        };
        match version {
            Version::V1 => fs::read_to_string(dir.join("memory.failcnt"))
                .is_ok_and(|n| n.trim().parse::<u64>().is_ok_and(|n| n > 0)),
            Version::V2 => fs::read_to_string(dir.join("memory.events")).is_ok_and(|events| {
                events.lines().any(|l| {
                    l.split_once(' ').is_some_and(|(key, n)| {
                        matches!(key, "max" | "oom_kill") && n.trim() != "0"
                    })
                })
            }),
        }
    }
}

/// Under v2, a controller must be enabled in the parent's subtree first.
fn enable(parent: &Path, version: Version, controller: &str) -> bool {
    match version {
        Version::V1 => true,
        Version::V2 => {
            let control = parent.join("cgroup.subtree_control");
            fs::read_to_string(&control)
                .is_ok_and(|on| on.split_whitespace().any(|c| c == controller))
                || fs::write(&control, format!("+{controller}")).is_ok()
        }
    }
}

impl Drop for Cgroups {
    fn drop(&mut self) {
        // A group can be removed once its last process is gone, which may
        // take a moment after the kill.
        let deadline = Instant::now() + Duration::from_secs(2);
        for dir in self.dirs.drain(..) {
            while fs::remove_dir(&dir).is_err() && dir.exists() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(5));
            }
        }
    }
}
