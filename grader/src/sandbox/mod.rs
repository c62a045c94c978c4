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
//! This file: [`launch`] and [`Sandbox`]; `layers.rs`: which layers a run
//! had, and the policy; `identity.rs`: who the run is; `plan.rs`: what is
//! run, worked out before the `clone`; `root.rs`: the steps of its root;
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
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::sys::socket::{
    AddressFamily, ControlMessageOwned, MsgFlags, SockFlag, SockType, recvmsg, socketpair,
};
use nix::unistd::Pid;

use crate::error::Error;

pub use cgroup::Cgroups;
pub use identity::Identity;
pub use layers::{Cap, Layers, Policy};
pub use limits::{MEMORY_ENV, memory_cap, run_caps, run_name};
pub use plan::{Bind, CHECKIN_SOCKET, Caps, Program, Spec};

mod build;
mod init;
mod layers;
mod limits;
mod plan;
mod root;

pub use build::{
    BUILD_MEMORY_ENV, BUILD_TASKS, BuildLimits, BuildReport, build_memory, probe as probe_build,
};
use init::{CGROUP_NS_FAILED, READY, REPORT_LEN, ROOT_FAILED, fd, init_main, stage};
use plan::Plan;

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

/// What the program's set-up stage numbers mean, for an error message.
fn stage_name(number: u32) -> &'static str {
    match number {
        stage::STREAMS => "set up its standard streams",
        stage::LIMITS => "set its limits",
        stage::WAIT => "wait for the grader",
        stage::NO_NEW_PRIVS => "set no_new_privs",
        stage::FILTER => "install its seccomp filter",
        stage::IDENTITY => "take the run's uid",
        _ => "execute it",
    }
}

/// Whether the namespaces may be tried at all.
fn namespaces_wanted() -> bool {
    std::env::var(SANDBOX_ENV).map_or(true, |v| v != "off")
}

/// The grader's ends of the pipes to one init.
struct Ends {
    sync: OwnedFd,
    go: OwnedFd,
    report: OwnedFd,
    status: OwnedFd,
}

/// An init started, with what it reported.
struct Started {
    init: Pid,
    ends: Ends,
    listener: Option<UnixListener>,
}

/// Launches `spec` in a sandbox, stopped before it executes the program;
/// see [`Sandbox::go`]. Layers that cannot be had are left out and named
/// in [`Sandbox::layers`]; the [`Policy`] in force may refuse them.
pub fn launch(spec: Spec<'_>) -> Result<Sandbox, Error> {
    let mut cgroups = Cgroups::create(&run_name(), spec.caps.memory, spec.caps.tasks);
    let dir = tempfile::Builder::new()
        .prefix("grader-root-")
        .tempdir()
        .map_err(|e| Error::io("create the run's root", e))?;
    let binary = match spec.program {
        Program::Copy(path) => {
            Some(File::open(path).map_err(|e| Error::io(format!("open {}", path.display()), e))?)
        }
        Program::Inside(_) => None,
    };
    let binary_fd = binary.as_ref().map_or(-1, AsRawFd::as_raw_fd);
    let mut layers = Layers {
        seccomp: true,
        traced: spec.traced.then_some(true),
        ..Layers::default()
    };
    let mut why = None;
    let mut started = None;
    if namespaces_wanted() {
        match start_namespaced(&spec, dir.path(), binary_fd, &mut cgroups) {
            Ok((namespaced, identity)) => {
                layers.user = Some(identity);
                layers.pid_namespace = true;
                layers.filesystem = true;
                layers.network_namespace = true;
                layers.ipc_namespace = true;
                started = Some(namespaced);
            }
            Err(reason) => why = Some(reason),
        }
    }
    let started = match started {
        Some(started) => started,
        None => start_plain(&spec, dir.path(), binary_fd, &mut cgroups)?,
    };
    let Started {
        init,
        ends,
        listener,
    } = started;
    layers.cgroup_namespace = layers.filesystem;
    layers.memory = cap_layer(&cgroups.memory_cap);
    layers.tasks = cap_layer(&cgroups.task_cap);
    layers.why_not = match why {
        Some(why) => Some(format!("the kernel refused: {why}")),
        None if !namespaces_wanted() => Some(format!("{SANDBOX_ENV}=off")),
        None => None,
    };
    drop(spec);
    drop(binary);
    let mut report = File::from(ends.report);
    if let Err(error) = program_ready(&mut report) {
        kill_and_reap(init);
        return Err(error);
    }
    let program = find_child(init)
        .ok_or_else(|| Error::io("find the program", std::io::ErrorKind::NotFound.into()))?;
    let refused = layers.refused_by(Policy::current());
    let sandbox = Sandbox {
        program,
        init: Some(init),
        layers,
        checkin: listener,
        go: Some(ends.go),
        report: Some(report),
        status: Some(File::from(ends.status)),
        cgroups,
        _dir: dir,
        killed: false,
        reaped: false,
    };
    if !refused.is_empty() {
        return Err(Error::Unsandboxed(refused.join(", no ")));
    }
    Ok(sandbox)
}

/// What a cap's group outcome makes of the layer.
fn cap_layer(outcome: &Result<(), String>) -> Cap {
    match outcome {
        Ok(()) => Cap::Cgroup,
        Err(why) => Cap::Rlimit(why.clone()),
    }
}

/// Starts the init in new namespaces (a user namespace first, for an
/// ordinary user), with its root built at `root`; the init is in the
/// run's groups. `Err` says what the kernel refused.
fn start_namespaced(
    spec: &Spec<'_>,
    root: &Path,
    binary: RawFd,
    cgroups: &mut Cgroups,
) -> Result<(Started, Identity), String> {
    let identity = Identity::next();
    let checkin = spec.checkin.map(|_| PathBuf::from(CHECKIN_SOCKET));
    let plan = Plan::new(spec, Some(root), Some(identity), checkin.as_deref());
    let mut flags = libc::CLONE_NEWPID
        | libc::CLONE_NEWNS
        | libc::CLONE_NEWNET
        | libc::CLONE_NEWIPC
        | libc::CLONE_NEWUTS;
    if identity.namespaced() {
        flags |= libc::CLONE_NEWUSER;
        // The grader's files must be reachable by the run's uid: with a
        // user namespace, the run's uid is the grader's.
    } else {
        prepare_for(identity, spec).map_err(|e| format!("prepare the run's directories: {e}"))?;
    }
    let (init, ends) = clone_init(&plan, flags, spec, binary).map_err(|e| format!("clone: {e}"))?;
    let ready = identity
        .write_maps(init)
        .map_err(|e| format!("write the user namespace's maps: {e}"));
    if let Err(why) = ready {
        kill_and_reap(init);
        return Err(why);
    }
    cgroups.add(init);
    let _ = nix::unistd::write(&ends.sync, b"s");
    match read_report(&ends.report) {
        Ok(Report {
            bits,
            step,
            errno,
            listener,
        }) => {
            if bits & ROOT_FAILED != 0 {
                kill_and_reap(init);
                let what = plan
                    .steps
                    .get(step as usize)
                    .map_or_else(|| "build the root".to_owned(), root::Step::describe);
                return Err(format!(
                    "{what}: {}",
                    std::io::Error::from_raw_os_error(errno)
                ));
            }
            if bits & CGROUP_NS_FAILED != 0 {
                kill_and_reap(init);
                return Err("the kernel refused a cgroup namespace".to_owned());
            }
            Ok((
                Started {
                    init,
                    ends,
                    listener,
                },
                identity,
            ))
        }
        Err(why) => {
            kill_and_reap(init);
            Err(why)
        }
    }
}

/// Starts the init without namespaces: the same set-up, from a plain
/// child of the grader's own uid; its check-in socket (if wanted) in
/// `dir` on the host.
fn start_plain(
    spec: &Spec<'_>,
    dir: &Path,
    binary: RawFd,
    cgroups: &mut Cgroups,
) -> Result<Started, Error> {
    let socket = dir.join("checkin.sock");
    let listener = match spec.checkin {
        Some(_) => Some(
            UnixListener::bind(&socket).map_err(|e| Error::io("bind the check-in socket", e))?,
        ),
        None => None,
    };
    let plan = Plan::new(
        spec,
        None,
        None,
        listener.as_ref().map(|_| socket.as_path()),
    );
    let (init, ends) =
        clone_init(&plan, 0, spec, binary).map_err(|e| Error::io("start the program", e))?;
    cgroups.add(init);
    let _ = nix::unistd::write(&ends.sync, b"s");
    read_report(&ends.report).map_err(|why| Error::io(why, std::io::ErrorKind::Other.into()))?;
    Ok(Started {
        init,
        ends,
        listener,
    })
}

/// As root: lets the run's own uid into what it must reach on the host,
/// the writable binds (a build's output).
fn prepare_for(identity: Identity, spec: &Spec<'_>) -> std::io::Result<()> {
    for bind in spec.binds.iter().filter(|b| b.writable) {
        std::os::unix::fs::chown(&bind.host, Some(identity.uid()), Some(identity.gid()))?;
    }
    Ok(())
}

/// Clones the init with `flags` (namespaces), giving it the spec's output,
/// the pipes and the binary's descriptor; returns it and the grader's
/// ends.
fn clone_init(
    plan: &Plan,
    flags: libc::c_int,
    spec: &Spec<'_>,
    binary: RawFd,
) -> std::io::Result<(Pid, Ends)> {
    let io = |e: nix::Error| std::io::Error::from_raw_os_error(e as i32);
    let (sync_read, sync_write) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(io)?;
    let (go_read, go_write) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(io)?;
    let (status_read, status_write) =
        nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(io)?;
    let (report_read, report_write) = socketpair(
        AddressFamily::Unix,
        SockType::SeqPacket,
        None,
        SockFlag::SOCK_CLOEXEC,
    )
    .map_err(io)?;
    let fds: [RawFd; fd::COUNT] = [
        spec.stdout.as_raw_fd(),
        spec.stderr.as_raw_fd(),
        go_read.as_raw_fd(),
        report_write.as_raw_fd(),
        status_write.as_raw_fd(),
        sync_read.as_raw_fd(),
        binary,
    ];
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
        init_main(plan, fds);
    }
    if pid < 0 {
        return Err(std::io::Error::last_os_error());
    }
    let init = Pid::from_raw(i32::try_from(pid).expect("a pid"));
    Ok((
        init,
        Ends {
            sync: sync_write,
            go: go_write,
            report: report_read,
            status: status_read,
        },
    ))
}

/// What the init reported.
struct Report {
    /// Its failed-layer bits.
    bits: u32,
    /// The step of the root that failed, and its errno.
    step: u32,
    errno: i32,
    /// The check-in socket it made.
    listener: Option<UnixListener>,
}

/// Reads the init's report.
fn read_report(report: &OwnedFd) -> Result<Report, String> {
    let timeout = nix::sys::time::TimeVal::new(10, 0);
    let _ =
        nix::sys::socket::setsockopt(report, nix::sys::socket::sockopt::ReceiveTimeout, &timeout);
    let mut record = [0u8; REPORT_LEN];
    let mut iov = [std::io::IoSliceMut::new(&mut record)];
    let mut space = nix::cmsg_space!(RawFd);
    let message = recvmsg::<()>(
        report.as_raw_fd(),
        &mut iov,
        Some(&mut space),
        MsgFlags::MSG_CMSG_CLOEXEC,
    )
    .map_err(|e| format!("hear from the run's init: {e}"))?;
    if message.bytes != REPORT_LEN {
        return Err("the run's init ended before it reported".to_owned());
    }
    let mut listener = None;
    for control in message
        .cmsgs()
        .map_err(|e| format!("read the init's report: {e}"))?
    {
        if let ControlMessageOwned::ScmRights(fds) = control {
            for fd in fds {
                // SAFETY: the kernel just gave us this descriptor; we own it.
                let owned = unsafe { OwnedFd::from_raw_fd(fd) };
                listener.get_or_insert(UnixListener::from(owned));
            }
        }
    }
    let word = |at: usize| -> [u8; 4] { record[at..at + 4].try_into().expect("four bytes") };
    Ok(Report {
        bits: u32::from_ne_bytes(word(0)),
        step: u32::from_ne_bytes(word(4)),
        errno: i32::from_ne_bytes(word(8)),
        listener,
    })
}

/// Waits for the program's word that it is ready to be traced; `Err`
/// with the stage it failed at, or when it went silent.
fn program_ready(report: &mut File) -> Result<(), Error> {
    let mut record = [0u8; 16];
    match report.read(&mut record) {
        Ok(1) if record[0] == READY => Ok(()),
        Ok(n) => Err(program_failed(&record[..n])),
        Err(e) => Err(Error::io("hear from the program", e)),
    }
}

/// The error a program's failure record (stage, errno) tells.
fn program_failed(record: &[u8]) -> Error {
    match record {
        [s0, s1, s2, s3, e0, e1, e2, e3, ..] => Error::io(
            format!(
                "{} of the program",
                stage_name(u32::from_ne_bytes([*s0, *s1, *s2, *s3]))
            ),
            std::io::Error::from_raw_os_error(i32::from_ne_bytes([*e0, *e1, *e2, *e3])),
        ),
        _ => Error::io(
            "start the program",
            std::io::ErrorKind::UnexpectedEof.into(),
        ),
    }
}

/// Kills an init that will not be used, and reaps it.
fn kill_and_reap(init: Pid) {
    let _ = nix::sys::signal::kill(init, nix::sys::signal::Signal::SIGKILL);
    let _ = nix::sys::wait::waitpid(init, Some(nix::sys::wait::WaitPidFlag::__WALL));
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
                Ok(0) => break,
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
