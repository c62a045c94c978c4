//! A sandbox per run, made by the grader itself (no container runtime).
//!
//! # Layout
//!
//! ```text
//! grader ── clone(NEWPID|NEWNS|NEWNET|NEWIPC) ──> init (pid 1 of the run)
//!                                                  └─ fork ─> program (pid 2)
//! ```
//!
//! The grader `clone`s a small init of its own code into new PID, mount,
//! network and IPC namespaces. The init builds the run's file system (see
//! `Plan`), forks the program, and then only reaps: it is the reaper of
//! every orphan of the run, and reports the program's exit status on a pipe.
//! Being pid 1 of the namespace, it cannot be killed or stopped from inside
//! it; killing it from the grader ends every process of the run, traced or
//! not. The program cannot see or signal the grader: its parent is the init
//! (`getppid()` is 1), and no pid outside the namespace exists for it.
//!
//! Before it executes the exercise the program, still our code:
//! - moves its output to the grader's pipes and its stdin to `/dev/null`,
//!   and makes a process group of its own;
//! - is put by the grader into the run's control groups (a memory cap and a
//!   process cap, [`cgroup`]);
//! - sets rlimits: address space at the memory cap (an allocation above it
//!   is refused), no core files, a bound on file size;
//! - drops every capability (the bounding set, so none comes back at
//!   `exec`) and sets `no_new_privs`;
//! - installs the [`seccomp`] filter;
//! - waits until the grader has attached to it with `PTRACE_SEIZE`, then
//!   executes the exercise with a scrubbed environment.
//!
//! # The file system
//!
//! A new root on a small tmpfs: `/usr`, `/lib*`, `/bin`, `/sbin` and `/etc`
//! bound read-only from the host; a fresh `/proc` that shows the run's
//! processes only; `/dev` with `null`, `zero`, `full`, `random` and
//! `urandom`; a private `/tmp` (the working directory) and `/dev/shm`; the
//! exercise's binary alone, read-only, at `/run/exercise/NAME`; the
//! check-in socket's directory at `/run/grader`. Nothing else of the host is
//! there: not the workspace, not the grader's registry, not `$HOME`.
//!
//! # What is not permitted
//!
//! Each layer that cannot be had is reported ([`Layers::missing`]) and the
//! run is graded all the same: without namespaces (no privilege for them,
//! or `GRADER_SANDBOX=off`) the program is started directly, with rlimits,
//! `no_new_privs` and the filter, which need no privilege.
//!
//! # Where things are
//!
//! This file: [`launch`] and [`Sandbox`]; `layers.rs`: which layers a run
//! had; `plan.rs`: the steps and C strings prepared before the `clone`;
//! `init.rs`: what runs after it, the run's init and the program's last
//! set-up; `seccomp/`: the filter and its tests; `cgroup.rs`: the caps;
//! `build.rs`: the limits of a build.
//!
//! Every `unsafe` block of the grader that is not `ptrace` lives here: the
//! child side of `clone` may only make raw system calls on data prepared
//! before it (the grader is multi-threaded), so `Plan` holds every path
//! and argument as C strings made in advance.

pub mod cgroup;
pub mod seccomp;

use std::fs::File;
use std::io::Read;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::path::Path;
use std::time::{Duration, Instant};

use nix::unistd::Pid;

use crate::error::Error;

pub use cgroup::Cgroups;
pub use layers::Layers;
pub use limits::{MEMORY_ENV, TASK_CAP, memory_cap, run_name};
pub use plan::Spec;

mod build;
mod init;
mod layers;
mod limits;
mod plan;

pub use build::{BUILD_MEMORY_ENV, BuildLimits};
use init::{FS_FAILED, init_main};
use plan::Plan;

/// Set to `off` to grade without the namespaces (as where they are not
/// permitted).
pub const SANDBOX_ENV: &str = "GRADER_SANDBOX";

/// A launched program, stopped before `exec` until [`Sandbox::go`].
#[derive(Debug)]
pub struct Sandbox {
    /// The program's pid, as the grader sees it.
    pub program: Pid,
    /// Our init, pid 1 of the run; `None` without namespaces.
    pub init: Option<Pid>,
    /// Which layers it has.
    pub layers: Layers,
    /// Makes it execute the exercise.
    go: Option<OwnedFd>,
    /// Where the program says why its `exec` failed (end of file: it did
    /// not fail).
    report: Option<File>,
    /// Where the init writes the program's wait status.
    status: Option<File>,
    cgroups: Cgroups,
    /// Holds the new root's mount point.
    _root: Option<tempfile::TempDir>,
    killed: bool,
    reaped: bool,
}

/// What the program's set-up stage numbers mean, for an error message.
fn stage(stage: u32) -> &'static str {
    match stage {
        1 => "set up its standard streams",
        2 => "set its limits",
        3 => "wait for the grader",
        4 => "set no_new_privs",
        5 => "install its seccomp filter",
        _ => "execute it",
    }
}

/// A pipe whose ends close on `exec`.
fn pipe() -> Result<(OwnedFd, OwnedFd), Error> {
    nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(|e| Error::os("pipe", e))
}

/// Whether the namespaces may be tried at all.
fn namespaces_wanted() -> bool {
    std::env::var(SANDBOX_ENV).map_or(true, |v| v != "off")
}

/// Launches `spec` in a sandbox, stopped before it executes the exercise;
/// see [`Sandbox::go`]. Layers that cannot be had are left out and named in
/// [`Sandbox::layers`].
pub fn launch(spec: Spec<'_>) -> Result<Sandbox, Error> {
    let cgroups = Cgroups::create(&run_name(), memory_cap(), TASK_CAP);
    let (go_read, go_write) = pipe()?;
    let (report_read, report_write) =
        std::os::unix::net::UnixStream::pair().map_err(|e| Error::io("socketpair", e))?;
    let (status_read, status_write) = pipe()?;
    let root = tempfile::Builder::new()
        .prefix("grader-root-")
        .tempdir()
        .map_err(|e| Error::io("create the run's root", e))?;
    let fds = [
        spec.stdout.as_raw_fd(),
        spec.stderr.as_raw_fd(),
        go_read.as_raw_fd(),
        report_write.as_raw_fd(),
        status_write.as_raw_fd(),
    ];
    let (init, namespaced) = start_init(&spec, root.path(), fds)?;
    let mut layers = Layers {
        pid_namespace: namespaced,
        network_namespace: namespaced,
        ..Layers::default()
    };
    drop(spec);
    drop(go_read);
    drop(report_write);
    drop(status_write);
    let mut report = File::from(OwnedFd::from(report_read));
    let mut failed = [0u8; 4];
    report
        .read_exact(&mut failed)
        .map_err(|e| Error::io("start the run's init", e))?;
    layers.filesystem = namespaced && u32::from_ne_bytes(failed) & FS_FAILED == 0;
    let program = find_child(init)
        .ok_or_else(|| Error::io("find the program", std::io::ErrorKind::NotFound.into()))?;
    let joined = cgroups.add(program);
    layers.memory_cgroup = cgroups.memory_capped && joined;
    layers.pids_cgroup = cgroups.pids_capped && joined;
    Ok(Sandbox {
        program,
        init: Some(init),
        layers,
        go: Some(go_write),
        report: Some(report),
        status: Some(File::from(status_read)),
        cgroups,
        _root: Some(root),
        killed: false,
        reaped: false,
    })
}

/// Clones the run's init, which builds the root at `root` (unless
/// [`SANDBOX_ENV`] is off) and forks the program, with the descriptors
/// `fds`; in new PID, mount, network and IPC namespaces where the kernel
/// permits them, else (no namespaces) as a plain child that is the init
/// of nothing. Returns the init and whether it has the namespaces.
fn start_init(spec: &Spec<'_>, root: &Path, fds: [RawFd; 5]) -> Result<(Pid, bool), Error> {
    if namespaces_wanted() {
        let plan = Plan::new(spec, Some(root));
        let flags =
            libc::CLONE_NEWPID | libc::CLONE_NEWNS | libc::CLONE_NEWNET | libc::CLONE_NEWIPC;
        // SAFETY: a fork-like clone (no new stack: the child runs on a copy
        // of this one); the child runs `init_main` only, which makes raw
        // system calls on `plan` and never returns.
        let pid = unsafe {
            libc::syscall(
                libc::SYS_clone,
                (flags | libc::SIGCHLD) as libc::c_ulong,
                0,
                0,
                0,
                0,
            )
        };
        if pid == 0 {
            init_main(&plan, fds);
        }
        if pid > 0 {
            return Ok((Pid::from_raw(i32::try_from(pid).expect("a pid")), true));
        }
    }
    // Without namespaces: the same program set-up, from a plain fork that
    // is its own init.
    let plan = Plan::new(spec, None);
    // SAFETY: as above, without namespaces; the child is the init of
    // nothing and runs the same code.
    let pid = unsafe { libc::syscall(libc::SYS_clone, libc::SIGCHLD as libc::c_ulong, 0, 0, 0, 0) };
    if pid == 0 {
        init_main(&plan, fds);
    }
    if pid < 0 {
        return Err(Error::io(
            "start the program",
            std::io::Error::last_os_error(),
        ));
    }
    Ok((Pid::from_raw(i32::try_from(pid).expect("a pid")), false))
}

/// The first child of `parent`, from `/proc/PID/task/PID/children` (in
/// the grader's PID namespace), waited for briefly.
fn find_child(parent: Pid) -> Option<Pid> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let children = std::fs::read_to_string(format!("/proc/{parent}/task/{parent}/children"));
        if let Some(pid) = children
            .ok()
            .and_then(|c| c.split_whitespace().next().and_then(|p| p.parse().ok()))
        {
            return Some(Pid::from_raw(pid));
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_micros(200));
    }
}

impl Sandbox {
    /// Lets the program execute the exercise; `Err` with the operating
    /// system's reason when it could not. `pump` is called while waiting:
    /// a traced program that fails stops at its exit until its tracer lets
    /// it go, and only then closes the report.
    pub fn go(&mut self, pump: &mut dyn FnMut()) -> Result<(), Error> {
        if let Some(go) = self.go.take() {
            let _ = nix::unistd::write(&go, b"g");
        }
        let Some(mut report) = self.report.take() else {
            return Ok(());
        };
        let _ = nix::fcntl::fcntl(
            &report,
            nix::fcntl::FcntlArg::F_SETFL(nix::fcntl::OFlag::O_NONBLOCK),
        );
        let mut record = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let mut buffer = [0u8; 16];
            match report.read(&mut buffer) {
                Ok(0) => break,
                Ok(n) => record.extend_from_slice(&buffer[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    if Instant::now() >= deadline {
                        return Err(Error::io(
                            "start the program",
                            std::io::ErrorKind::TimedOut.into(),
                        ));
                    }
                    pump();
                    std::thread::sleep(Duration::from_micros(200));
                }
                Err(e) => return Err(Error::io("start the program", e)),
            }
        }
        match record.as_slice() {
            [] => Ok(()),
            [s0, s1, s2, s3, e0, e1, e2, e3, ..] => Err(Error::io(
                format!(
                    "{} of the program",
                    stage(u32::from_ne_bytes([*s0, *s1, *s2, *s3]))
                ),
                std::io::Error::from_raw_os_error(i32::from_ne_bytes([*e0, *e1, *e2, *e3])),
            )),
            _ => Err(Error::io(
                "start the program",
                std::io::ErrorKind::UnexpectedEof.into(),
            )),
        }
    }

    /// The program's wait status, once the init has reported it.
    pub fn exit_status(&mut self) -> Option<i32> {
        let status = self.status.as_mut()?;
        let _ = nix::fcntl::fcntl(
            &*status,
            nix::fcntl::FcntlArg::F_SETFL(nix::fcntl::OFlag::O_NONBLOCK),
        );
        let mut bytes = [0u8; 4];
        status.read_exact(&mut bytes).ok()?;
        Some(i32::from_ne_bytes(bytes))
    }

    /// Every process of the run but the init, by the kernel's account:
    /// the init's descendants.
    pub fn members(&self) -> Vec<Pid> {
        let Some(init) = self.init.filter(|_| !self.reaped) else {
            return Vec::new();
        };
        let mut found = Vec::new();
        let mut frontier = vec![init];
        while let Some(pid) = frontier.pop() {
            let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
                continue;
            };
            for task in tasks.flatten() {
                let children = std::fs::read_to_string(task.path().join("children"));
                for child in children.iter().flat_map(|c| c.split_whitespace()) {
                    if let Ok(child) = child.parse() {
                        let child = Pid::from_raw(child);
                        if !found.contains(&child) {
                            found.push(child);
                            frontier.push(child);
                        }
                    }
                }
            }
        }
        found
    }

    /// Whether the run was refused memory at its cap.
    pub fn hit_memory_cap(&self) -> bool {
        self.cgroups.hit_memory_cap()
    }

    /// Sends SIGKILL to the init, which ends (in a PID namespace) every
    /// process of the run. Does not wait: see [`Sandbox::reaped`].
    pub fn kill_now(&mut self) {
        if !self.killed
            && let Some(init) = self.init
        {
            let _ = nix::sys::signal::kill(init, nix::sys::signal::Signal::SIGKILL);
        }
        self.killed = true;
    }

    /// Whether the init is gone and reaped. It dies only once every process
    /// of its namespace has; traced ones need the tracer to let them go, so
    /// the caller keeps its tracer running between calls.
    pub fn reaped(&mut self) -> bool {
        let Some(init) = self.init.filter(|_| !self.reaped) else {
            return true;
        };
        let flags = nix::sys::wait::WaitPidFlag::WNOHANG | nix::sys::wait::WaitPidFlag::__WALL;
        match nix::sys::wait::waitpid(init, Some(flags)) {
            Ok(nix::sys::wait::WaitStatus::StillAlive) => false,
            // Reaped now, or already (by the tracer's wait for any child).
            _ => {
                self.reaped = true;
                true
            }
        }
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        self.kill_now();
        let deadline = Instant::now() + Duration::from_secs(2);
        while !self.reaped() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(1));
        }
    }
}
