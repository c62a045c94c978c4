//! Launching a sandbox: the init cloned into its namespaces (or the
//! program started plainly where they are not had), the layers it got, and
//! what the init reports back about the program before and after `exec`.

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

use super::init::{CGROUP_NS_FAILED, READY, REPORT_LEN, ROOT_FAILED, fd, init_main, stage};
use super::plan::Plan;
use super::spec::{CHECKIN_SOCKET, Program, Spec};
use super::{Cap, Cgroups, Identity, Layers, Policy, SANDBOX_ENV, Sandbox, run_name};
use crate::error::Error;

/// The grader's ends of the pipes to one init.
pub(super) struct Ends {
    sync: OwnedFd,
    go: OwnedFd,
    report: OwnedFd,
    status: OwnedFd,
}

/// An init started, with what it reported.
pub(super) struct Started {
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
pub(super) fn cap_layer(outcome: &Result<(), String>) -> Cap {
    match outcome {
        Ok(()) => Cap::Cgroup,
        Err(why) => Cap::Rlimit(why.clone()),
    }
}

/// Starts the init in new namespaces (a user namespace first, for an
/// ordinary user), with its root built at `root`; the init is in the
/// run's groups. `Err` says what the kernel refused.
pub(super) fn start_namespaced(
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
    let (init, ends) = clone_init(&plan, flags, spec, binary)
        .map_err(|e| clone_refused(&e, identity.namespaced()))?;
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
                    .map_or_else(|| "build the root".to_owned(), super::root::Step::describe);
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

/// What the kernel's refusal of the init's `clone` means, in plain English
/// where the reason is known: with a user namespace asked for, `ENOSPC` is
/// the limit on user namespaces (0 where they are turned off) and `EPERM` a
/// policy that keeps ordinary users from making one.
fn clone_refused(error: &std::io::Error, user_namespace: bool) -> String {
    let why = match error.raw_os_error() {
        Some(libc::ENOSPC) if user_namespace => {
            "user namespaces are turned off or used up here (the limit \
             user.max_user_namespaces is 0 or reached)"
        }
        Some(libc::EPERM) if user_namespace => {
            "this user may not make a user namespace here (e.g. \
             kernel.unprivileged_userns_clone=0, or an AppArmor or SELinux policy)"
        }
        _ => return format!("clone: {error}"),
    };
    format!("{why}; clone: {error}")
}

/// Starts the init without namespaces: the same set-up, from a plain
/// child of the grader's own uid; its check-in socket (if wanted) in
/// `dir` on the host.
pub(super) fn start_plain(
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
pub(super) fn prepare_for(identity: Identity, spec: &Spec<'_>) -> std::io::Result<()> {
    for bind in spec.binds.iter().filter(|b| b.writable) {
        std::os::unix::fs::chown(&bind.host, Some(identity.uid()), Some(identity.gid()))?;
    }
    Ok(())
}

/// Clones the init with `flags` (namespaces), giving it the spec's output,
/// the pipes and the binary's descriptor; returns it and the grader's
/// ends.
pub(super) fn clone_init(
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
pub(super) struct Report {
    /// Its failed-layer bits.
    bits: u32,
    /// The step of the root that failed, and its errno.
    step: u32,
    errno: i32,
    /// The check-in socket it made.
    listener: Option<UnixListener>,
}

/// Reads the init's report.
pub(super) fn read_report(report: &OwnedFd) -> Result<Report, String> {
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
pub(super) fn program_ready(report: &mut File) -> Result<(), Error> {
    let mut record = [0u8; 16];
    match report.read(&mut record) {
        Ok(1) if record[0] == READY => Ok(()),
        Ok(n) => Err(program_failed(&record[..n])),
        Err(e) => Err(Error::io("hear from the program", e)),
    }
}

/// The error a program's failure record (stage, errno) tells.
pub(super) fn program_failed(record: &[u8]) -> Error {
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
pub(super) fn kill_and_reap(init: Pid) {
    let _ = nix::sys::signal::kill(init, nix::sys::signal::Signal::SIGKILL);
    let _ = nix::sys::wait::waitpid(init, Some(nix::sys::wait::WaitPidFlag::__WALL));
}

/// The first child of `parent`, from `/proc/PID/task/PID/children` (in
/// the grader's PID namespace), waited for briefly.
pub(super) fn find_child(parent: Pid) -> Option<Pid> {
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
