//! A sandbox per run and per build, made by the grader itself (no
//! container runtime, no set-uid helper), as root or as an ordinary user.
//!
//! # Layout
//!
//! ```text
//! grader ── clone(NEWUSER*|NEWPID|NEWNS|NEWNET|NEWIPC|NEWUTS) ──> init (pid 1)
//!                                                    └─ fork ─> program (pid 2)
//! ```
//!
//! The grader `clone`s a small init of its own code into new namespaces;
//! as an ordinary user, a new user namespace comes first (`*`), mapping
//! the grader's own uid and gid ([`identity`]), and every other layer is
//! made inside it, as bubblewrap and nsjail do. The grader puts the init
//! into the run's control groups ([`cgroup`]); the init makes a cgroup
//! namespace of its own, builds the root ([`root`]), forks the program,
//! and then only reaps: it is the reaper of every orphan of the run, and
//! reports the program's exit status on a pipe. Being pid 1 of the
//! namespace, it cannot be killed or stopped from inside it; killing it
//! from the grader ends every process of the run, traced or not. The
//! program cannot see or signal the grader: its parent is the init
//! (`getppid()` is 1), and no pid outside the namespace exists for it.
//!
//! Before it executes anything the program, still our code:
//! - moves its output to the grader's pipes and its stdin to `/dev/null`,
//!   and makes a process group of its own;
//! - sets rlimits: address space at the memory cap, no core files, a bound
//!   on file size, and its tasks (with a uid of the run's own);
//! - waits until the grader has attached to it with `PTRACE_SEIZE` (a
//!   run) or says go (a build);
//! - drops every capability (the bounding set too, so none comes back at
//!   `exec`) and, as root, becomes the run's own uid and gid, with no
//!   groups; sets `no_new_privs`;
//! - installs the [`seccomp`] filter, and executes with an environment of
//!   the spec's alone.
//!
//! # The layers, as root and as an ordinary user
//!
//! | layer | as root | as an ordinary user |
//! |---|---|---|
//! | uid | its own, owning nothing ([`identity::FIRST_UID`] on) | the grader's, in a user namespace mapping it alone |
//! | PID, mount, network, IPC, UTS, cgroup namespaces | yes | yes, inside the user namespace |
//! | new root | yes | yes |
//! | seccomp, `no_new_privs`, no capabilities | yes | yes |
//! | tracing | yes | yes (the grader owns the namespace) |
//! | memory and task caps | cgroup (v1, or v2 in a group readied for it) | cgroup where a v2 group is delegated; else rlimits |
//!
//! # What is not permitted
//!
//! Each layer that cannot be had is reported ([`Layers::missing`]) and the
//! run is graded all the same, unless the [`Policy`] refuses: where the
//! kernel refuses the namespaces (user namespaces disabled, say, or
//! `GRADER_SANDBOX=off`), the program is started directly, with rlimits,
//! `no_new_privs` and the filter, which need no privilege.
//!
//! # Where things are
//!
//! This file: [`Sandbox`], a launched run; `launch.rs`: [`launch`], the
//! init cloned (or the program started plainly) and what it reports;
//! `layers.rs`: which layers a run had, and the policy; `identity.rs`: who
//! the run is; `spec.rs`: what is asked to run; `plan.rs`: the same worked
//! out before the `clone`; `root.rs`: the steps of its root;
//! `init.rs`: what runs after the `clone`, the init and the program's last
//! set-up; `seccomp/`: the filter and its tests; `cgroup/`: the caps;
//! `limits.rs`: their sizes; `build.rs`: the limits of a cargo build.
//!
//! Every `unsafe` block of the grader that is not `ptrace` lives here: the
//! child side of `clone` may only make raw system calls on data prepared
//! before it (the grader is multi-threaded), so `Plan` holds every path
//! and argument as C strings made in advance.

pub mod cgroup;
pub mod identity;
pub mod seccomp;

use std::fs::File;
use std::io::Read;
use std::os::fd::OwnedFd;
use std::os::unix::net::UnixListener;
use std::time::{Duration, Instant};

use nix::unistd::Pid;

use crate::error::Error;

pub use cgroup::Cgroups;
pub use identity::Identity;
pub use layers::{Cap, Layers, Policy};
pub use limits::{MEMORY_ENV, memory_cap, run_caps, run_name};
pub use spec::{Bind, Caps, Program, Spec};

mod build;
mod init;
mod launch;
mod layers;
mod limits;
mod plan;
mod root;
mod spec;

pub use build::{
    BUILD_MEMORY_ENV, BUILD_TASKS, BuildLimits, BuildReport, build_memory, probe as probe_build,
};
pub use launch::launch;
use launch::program_failed;

/// Set to `off` to grade without the namespaces (as where they are not
/// permitted).
pub const SANDBOX_ENV: &str = "GRADER_SANDBOX";

/// A launched program, stopped before `exec` until [`Sandbox::go`].
#[derive(Debug)]
pub struct Sandbox {
    /// The program's pid, as the grader sees it.
    pub program: Pid,
    /// Our init, pid 1 of the run (in namespaces or not).
    pub init: Option<Pid>,
    /// Which layers it has.
    pub layers: Layers,
    /// The check-in socket, listening, when the spec asked for one.
    pub checkin: Option<UnixListener>,
    /// Makes it execute the program.
    go: Option<OwnedFd>,
    /// Where the program says why its `exec` failed (end of file: it did
    /// not fail).
    report: Option<File>,
    /// Where the init writes the program's wait status.
    status: Option<File>,
    cgroups: Cgroups,
    /// Holds the new root's mount point, or (without namespaces) the
    /// check-in socket's directory.
    _dir: tempfile::TempDir,
    killed: bool,
    reaped: bool,
}

impl Sandbox {
    /// Lets the program execute; `Err` with the operating system's reason
    /// when it could not. `pump` is called while waiting: a traced program
    /// that fails stops at its exit until its tracer lets it go, and only
    /// then closes the report.
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
                // The end, unless the failure record came as the program
                // exited: the kernel can say "end" with a record queued
                // that the program sent just before it closed the socket
                // (see `recv_record` in common), so a second look decides.
                Ok(0) => match report.read(&mut buffer) {
                    Ok(n) if n > 0 => record.extend_from_slice(&buffer[..n]),
                    _ => break,
                },
                Ok(n) => record.extend_from_slice(&buffer[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    if Instant::now() >= deadline {
                        return Err(Error::io(
                            format!("start the program ({})", self.stuck()),
                            std::io::ErrorKind::TimedOut.into(),
                        ));
                    }
                    pump();
                    std::thread::sleep(Duration::from_micros(200));
                }
                Err(e) => return Err(Error::io("start the program", e)),
            }
        }
        if record.is_empty() {
            Ok(())
        } else {
            Err(program_failed(&record))
        }
    }

    /// Where the program is, by the kernel's account: for a program that
    /// did not start in time.
    fn stuck(&self) -> String {
        let read = |file: &str| {
            std::fs::read_to_string(format!("/proc/{}/{file}", self.program)).unwrap_or_default()
        };
        let stat = read("stat");
        let state = stat
            .rsplit_once(") ")
            .and_then(|(_, rest)| rest.split(' ').next())
            .unwrap_or("?")
            .to_owned();
        let call = read("syscall");
        let call = call.split(' ').next().unwrap_or("?");
        format!(
            "it was in state {state}, in system call {call}, waiting in {}",
            read("wchan").trim()
        )
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

    /// Waits for the program to end, at most `timeout` (then everything
    /// of the sandbox is killed): its wait status, or `None` when it was
    /// stopped. For a program not traced (a build).
    pub fn wait(&mut self, timeout: Duration) -> Option<i32> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.exit_status() {
                return Some(status);
            }
            if Instant::now() >= deadline {
                self.kill_now();
                return None;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    /// Every process of the run but the init, by the kernel's account:
    /// the init's descendants.
    pub fn members(&self) -> Vec<Pid> {
        match self.init.filter(|_| !self.reaped) {
            Some(init) => crate::procfs::descendants(init),
            None => Vec::new(),
        }
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
