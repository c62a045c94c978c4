//! A control group per run: a memory cap and a task cap the kernel
//! enforces on every process of the run, traced or not.
//!
//! Each controller is looked for where this machine mounts it
//! ([`hierarchy`]): a v1 hierarchy of its own (`memory.limit_in_bytes`,
//! `pids.max`) or the unified v2 one (`memory.max`, `pids.max`). The run's
//! group is made beside the grader's: under v1, below the grader's own
//! group; under v2, in the grader's group once the grader has moved itself
//! into a leaf of its own, since a v2 group cannot hold processes and
//! capped children at once ([`delegate`]). The group is removed once the
//! run is over.
//!
//! Where a group cannot be made (no cgroup file system, no right to write
//! it: v1 is root's only; v2 needs a delegated group), the cap is missing,
//! with the reason; the sandbox then caps each process with rlimits
//! instead, and the report says which it had.

pub mod delegate;
pub mod hierarchy;

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use nix::unistd::Pid;

use hierarchy::{Group, Version};

/// The run's groups, one per hierarchy used; removed when dropped.
#[derive(Debug)]
pub struct Cgroups {
    dirs: Vec<PathBuf>,
    /// The group that caps memory, to read its count of hits.
    memory: Option<(PathBuf, Version)>,
    /// Whether a memory cap is in force, or why not.
    pub memory_cap: Result<(), String>,
    /// Whether a task cap is in force, or why not.
    pub task_cap: Result<(), String>,
}

/// Where runs' groups of `controller` are made: this process's group in
/// the hierarchy that has it (readied for children, under v2), or why
/// there is none. Worked out once per controller.
fn parent_of_runs(controller: &'static str) -> Result<(PathBuf, Version), String> {
    static MEMORY: OnceLock<Result<(PathBuf, Version), String>> = OnceLock::new();
    static PIDS: OnceLock<Result<(PathBuf, Version), String>> = OnceLock::new();
    let cell = if controller == "memory" {
        &MEMORY
    } else {
        &PIDS
    };
    cell.get_or_init(|| {
        let Group { version, dir } = hierarchy::own(controller).ok_or_else(|| {
            format!("no cgroup hierarchy here offers the {controller} controller")
        })?;
        let dir = match version {
            Version::V1 => dir,
            Version::V2 => {
                delegate::sweep(&dir);
                delegate::delegate(&dir, &["memory", "pids"], std::process::id())
                    .or_else(|_| delegate::delegate(&dir, &[controller], std::process::id()))?
            }
        };
        if version == Version::V1 {
            delegate::sweep(&dir);
        }
        Ok((dir, version))
    })
    .clone()
}

/// Makes group `name` below `parent`, or says why it cannot.
fn make(parent: &Path, version: Version, name: &str) -> Result<PathBuf, String> {
    let dir = parent.join(name);
    match fs::create_dir(&dir) {
        Ok(()) => Ok(dir),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(dir),
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied && version == Version::V1 => {
            Err("this machine's cgroups are v1, which only root may use".to_owned())
        }
        Err(e) => Err(format!("cannot make a cgroup in {}: {e}", parent.display())),
    }
}

/// Writes `value` to the group's `file`, or says why it cannot.
fn set(dir: &Path, file: &str, value: u64) -> Result<(), String> {
    let path = dir.join(file);
    fs::write(&path, value.to_string()).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

impl Cgroups {
    /// Makes the groups of run `name` with `memory` bytes and `tasks`
    /// tasks at most; a cap whose group cannot be made is missing, with
    /// the reason.
    pub fn create(name: &str, memory: u64, tasks: u64) -> Cgroups {
        let mut groups = Cgroups {
            dirs: Vec::new(),
            memory: None,
            memory_cap: Ok(()),
            task_cap: Ok(()),
        };
        groups.memory_cap = parent_of_runs("memory").and_then(|(parent, version)| {
            let dir = make(&parent, version, name)?;
            groups.dirs.push(dir.clone());
            match version {
                Version::V1 => {
                    set(&dir, "memory.limit_in_bytes", memory)?;
                    // Swap is counted apart where it is accounted.
                    let _ = set(&dir, "memory.memsw.limit_in_bytes", memory);
                }
                Version::V2 => {
                    set(&dir, "memory.max", memory)?;
                    let _ = set(&dir, "memory.swap.max", 0);
                }
            }
            groups.memory = Some((dir, version));
            Ok(())
        });
        groups.task_cap = parent_of_runs("pids").and_then(|(parent, version)| {
            let dir = make(&parent, version, name)?;
            if !groups.dirs.contains(&dir) {
                groups.dirs.push(dir.clone());
            }
            set(&dir, "pids.max", tasks)
        });
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

    /// Puts process `pid` into every group of the run; the caps whose
    /// group it could not join are missing from then on.
    pub fn add(&mut self, pid: Pid) {
        for dir in &self.dirs {
            if let Err(e) = fs::write(dir.join("cgroup.procs"), pid.to_string()) {
                let why = format!("cannot join {}: {e}", dir.display());
                let memory_here = self.memory.as_ref().is_some_and(|(m, _)| m == dir);
                if memory_here && self.memory_cap.is_ok() {
                    self.memory_cap = Err(why.clone());
                }
                if dir.join("pids.max").exists() && self.task_cap.is_ok() {
                    self.task_cap = Err(why);
                }
            }
        }
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
