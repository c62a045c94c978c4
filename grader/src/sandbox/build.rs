//! Limits for a cargo build of the instructor's workspace (or of one
//! graded whole): its control groups and a network namespace of its own;
//! and what it had of them, for the report.
//!
//! Cargo runs the workspace's build scripts and proc macros, the
//! instructor's code (a student's is never built by cargo: see
//! `submission`), so it runs with the grader's uid and files; what it must
//! not do is reach a network or take the machine's memory. As root it
//! leaves the network with `unshare(CLONE_NEWNET)`; as an ordinary user
//! a user namespace mapping its own uid comes first, as for a run.

use std::ffi::CString;
use std::os::fd::{AsRawFd, OwnedFd};

use super::cgroup::Cgroups;
use super::layers::Cap;
use super::limits::{TASK_CAP, parse_size, run_name};
use super::spec::{cstring, path_c};

/// The memory cap of a build (cargo, rustc, build scripts and proc
/// macros together), such as `4G`; 4 GiB by default. Larger than a run's:
/// the compiler needs more than the programs it builds.
pub const BUILD_MEMORY_ENV: &str = "GRADER_BUILD_MEMORY";

/// The build's memory cap: [`BUILD_MEMORY_ENV`], or 4 GiB.
pub fn build_memory() -> u64 {
    std::env::var(BUILD_MEMORY_ENV)
        .ok()
        .and_then(|v| parse_size(&v))
        .unwrap_or(4 << 30)
}

/// The most tasks a build may have.
pub const BUILD_TASKS: u64 = 4 * TASK_CAP;

/// Bits the build's child reports, once in its limits.
const NETWORK: u8 = 1;
const JOINED: u8 = 2;

/// What a build had of its limits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildReport {
    /// A network namespace of its own: no network.
    pub network: bool,
    /// Its memory cap.
    pub memory: Cap,
    /// Its task cap.
    pub tasks: Cap,
}

impl BuildReport {
    /// The limits it had, and those it had not, in plain words.
    pub fn had_and_lacked(&self) -> (Vec<String>, Vec<String>) {
        let mut had = Vec::new();
        let mut lacked = Vec::new();
        let network = "network namespace of its own (no network)".to_owned();
        if self.network {
            had.push(format!("a {network}"));
        } else {
            lacked.push(network);
        }
        let caps = [
            (
                &self.memory,
                format!("memory cap of {} MiB", build_memory() >> 20),
            ),
            (&self.tasks, format!("task cap of {BUILD_TASKS}")),
        ];
        for (cap, what) in caps {
            match cap {
                Cap::Cgroup => had.push(format!("a {what} by cgroup")),
                Cap::Rlimit(why) => lacked.push(format!("{what} by cgroup ({why})")),
            }
        }
        (had, lacked)
    }

    /// What the build had and lacked, in one sentence.
    pub fn describe(&self) -> String {
        let (had, lacked) = self.had_and_lacked();
        let mut said = format!("cargo built the workspace with {}", list(&had));
        if !lacked.is_empty() {
            said.push_str(&format!("; it had no {}", lacked.join(", no ")));
        }
        said
    }
}

/// `items` as words: `a`, `a and b`, `a, b and c`; `nothing` when empty.
fn list(items: &[String]) -> String {
    match items {
        [] => "nothing".to_owned(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

/// Limits for a build: its control groups, and a hook that puts the
/// process about to `exec` cargo into them and into a network namespace
/// of its own, so that build scripts and proc macros reach no network.
#[derive(Debug)]
pub struct BuildLimits {
    cgroups: Cgroups,
    procs: Vec<CString>,
    /// For an ordinary user: the user namespace's maps, to write.
    maps: Option<[CString; 3]>,
    /// Where the child says which limits it entered.
    told: Option<(OwnedFd, OwnedFd)>,
}

impl BuildLimits {
    /// Makes the build's groups ([`BUILD_MEMORY_ENV`], and tasks).
    pub fn new() -> BuildLimits {
        let cgroups = Cgroups::create(
            &format!("{}-build", run_name()),
            build_memory(),
            BUILD_TASKS,
        );
        let procs = cgroups.procs_files().iter().map(|p| path_c(p)).collect();
        let uid = nix::unistd::geteuid().as_raw();
        let gid = nix::unistd::getegid().as_raw();
        let maps = (uid != 0).then(|| {
            [
                cstring("deny"),
                cstring(format!("{uid} {uid} 1\n")),
                cstring(format!("{gid} {gid} 1\n")),
            ]
        });
        BuildLimits {
            cgroups,
            procs,
            maps,
            told: nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).ok(),
        }
    }

    /// Makes `command` (cargo) enter these limits between its `fork` and
    /// `exec`. Failures leave that layer out; the build goes on.
    pub fn apply(&self, command: &mut std::process::Command) {
        use std::os::unix::process::CommandExt;
        let procs = self.procs.clone();
        let maps = self.maps.clone();
        let tell = self.told.as_ref().map_or(-1, |(_, w)| w.as_raw_fd());
        let entry = move || {
            let mut bits = 0u8;
            let mut joined = true;
            for procs in &procs {
                joined &= write_file(procs, b"0");
            }
            if joined && !procs.is_empty() {
                bits |= JOINED;
            }
            if leave_network(maps.as_ref()) {
                bits |= NETWORK;
            }
            // SAFETY: one write of a byte on this stack.
            unsafe {
                libc::write(tell, (&raw const bits).cast(), 1);
            }
            Ok(())
        };
        // SAFETY: the entry makes only async-signal-safe system calls on
        // data prepared before the fork.
        unsafe {
            command.pre_exec(entry);
        }
    }

    /// What the build had, once its command was spawned.
    pub fn report(&mut self) -> BuildReport {
        let mut bits = 0u8;
        if let Some((read, write)) = self.told.take() {
            drop(write);
            let _ = nix::unistd::read(&read, std::slice::from_mut(&mut bits));
        }
        let cap = |outcome: &Result<(), String>| match outcome {
            Ok(()) if bits & JOINED != 0 => Cap::Cgroup,
            Ok(()) => Cap::Rlimit("the build could not join its cgroup".to_owned()),
            Err(why) => Cap::Rlimit(why.clone()),
        };
        BuildReport {
            network: bits & NETWORK != 0,
            memory: cap(&self.cgroups.memory_cap),
            tasks: cap(&self.cgroups.task_cap),
        }
    }
}

/// What a build's limits are here, as the kernel grants them now: those
/// of `true` started as cargo is.
pub fn probe() -> std::io::Result<BuildReport> {
    let mut limits = BuildLimits::new();
    let mut command = std::process::Command::new("true");
    limits.apply(&mut command);
    let mut child = command.spawn()?;
    let had = limits.report();
    child.wait()?;
    Ok(had)
}

/// Writes `bytes` to the file at `path`; whether it worked.
fn write_file(path: &std::ffi::CStr, bytes: &[u8]) -> bool {
    // SAFETY: open, write and close of a C string made before the fork;
    // async-signal-safe.
    unsafe {
        let fd = libc::open(path.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
        if fd < 0 {
            return false;
        }
        let wrote = libc::write(fd, bytes.as_ptr().cast(), bytes.len());
        libc::close(fd);
        usize::try_from(wrote).is_ok_and(|n| n == bytes.len())
    }
}

/// Leaves the network: as root, a network namespace; otherwise a user
/// namespace mapping this process's uid and gid (`maps`: setgroups, uid
/// and gid maps) first. Whether it worked.
fn leave_network(maps: Option<&[CString; 3]>) -> bool {
    let Some([setgroups, uid_map, gid_map]) = maps else {
        // SAFETY: one system call on this process.
        return unsafe { libc::unshare(libc::CLONE_NEWNET) } == 0;
    };
    // SAFETY: one system call on this process.
    if unsafe { libc::unshare(libc::CLONE_NEWUSER | libc::CLONE_NEWNET) } != 0 {
        return false;
    }
    write_file(c"/proc/self/setgroups", setgroups.as_bytes())
        && write_file(c"/proc/self/uid_map", uid_map.as_bytes())
        && write_file(c"/proc/self/gid_map", gid_map.as_bytes())
}

impl Default for BuildLimits {
    fn default() -> BuildLimits {
        BuildLimits::new()
    }
}
