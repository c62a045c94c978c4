//! The sandbox's init (pid 1 of its namespaces), and the program it forks,
//! up to the moment the program executes: the code that runs in the
//! children of `clone`. Only raw system calls on data prepared before the
//! `clone` (`Plan`): the grader is multi-threaded, and a child of it may
//! not allocate or take a lock.
//!
//! The init, in order: waits until the grader has written its user
//! namespace's maps and put it in the run's control groups; makes a cgroup
//! namespace of its own (so its groups are seen from their root) and names
//! the host `sandbox`; blanks its copy of the grader's command line and
//! environment (`/proc/1/cmdline` is readable inside) and becomes
//! undumpable (so no process of the run can read its memory, a copy of
//! the grader's); builds the root; reports to the grader (with the
//! check-in socket's descriptor); forks the program; then only reaps.

use std::ffi::CString;
use std::os::fd::RawFd;

use super::plan::Plan;
use super::root::Step;

/// A failed-layer bit the init reports: the cgroup namespace.
pub(super) const CGROUP_NS_FAILED: u32 = 1;

/// A failed-layer bit the init reports: a step of the root (its index and
/// errno follow).
pub(super) const ROOT_FAILED: u32 = 2;

/// The init's report: failed-layer bits, the failed step, its errno.
pub(super) const REPORT_LEN: usize = 12;

/// The program's one-byte message: it is ready to be traced.
pub(super) const READY: u8 = b'r';

/// Descriptor numbers in the children of `clone`, fixed so that every
/// other inherited descriptor can be closed at once.
pub(super) mod fd {
    use std::os::fd::RawFd;
    pub const STDOUT: RawFd = 3;
    pub const STDERR: RawFd = 4;
    pub const GO: RawFd = 5;
    pub const REPORT: RawFd = 6;
    pub const STATUS: RawFd = 7;
    pub const SYNC: RawFd = 8;
    pub const BINARY: RawFd = 9;
    /// How many there are, from [`STDOUT`] on.
    pub const COUNT: usize = 7;
}

/// The program's set-up stages, as it reports a failure.
pub(super) mod stage {
    pub const STREAMS: u32 = 1;
    pub const LIMITS: u32 = 2;
    pub const WAIT: u32 = 3;
    pub const NO_NEW_PRIVS: u32 = 4;
    pub const FILTER: u32 = 5;
    pub const EXEC: u32 = 6;
    pub const IDENTITY: u32 = 7;
}

/// The last `errno`.
fn errno() -> i32 {
    // SAFETY: reads this thread's errno; no other effect.
    unsafe { *libc::__errno_location() }
}

/// In the init, after `clone`: only system calls from here on. `fds` are
/// the descriptors to keep, in the order of [`fd`] (`-1` for none).
pub(super) fn init_main(plan: &Plan, fds: [RawFd; fd::COUNT]) -> ! {
    // SAFETY: every call below is a raw system call on memory prepared
    // before the clone (`plan`), as is safe in the child of a
    // multi-threaded process; nothing allocates or takes a lock.
    unsafe {
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
        // Only our descriptors stay: the grader's others (other runs'
        // pipes among them) must not be held open by this process, which
        // never executes anything. All out of the way first: a source may
        // already have one of the numbers they go to.
        let mut high = [-1 as RawFd; fd::COUNT];
        for (slot, &from) in high.iter_mut().zip(&fds) {
            if from >= 0 {
                *slot = libc::fcntl(from, libc::F_DUPFD, 900);
            }
        }
        for (i, &from) in (0..).zip(&high) {
            // A number with nothing to hold may still hold whatever the
            // grader had there (another sandbox's pipe, made by another
            // thread): closed, or that pipe would never see its end.
            if from >= 0 {
                libc::dup2(from, fd::STDOUT + i);
            } else {
                libc::close(fd::STDOUT + i);
            }
        }
        libc::syscall(libc::SYS_close_range, fd::BINARY + 1, libc::c_uint::MAX, 0);
        // The grader writes the maps and joins us to the groups first.
        let mut byte = 0u8;
        if libc::read(fd::SYNC, (&raw mut byte).cast(), 1) != 1 {
            libc::_exit(127);
        }
        libc::close(fd::SYNC);
        let mut failed: u32 = 0;
        if plan.cgroup_namespace {
            if libc::unshare(libc::CLONE_NEWCGROUP) != 0 {
                failed |= CGROUP_NS_FAILED;
            }
            let host = b"sandbox";
            libc::sethostname(host.as_ptr().cast(), host.len());
        }
        for &(start, len) in &plan.scrub {
            if start != 0 {
                libc::memset(start as *mut libc::c_void, 0, len);
            }
        }
        libc::prctl(libc::PR_SET_NAME, c"sandbox-init".as_ptr());
        let mut listener: RawFd = -1;
        let mut step_failed = (0u32, 0i32);
        for (i, step) in (0u32..).zip(&plan.steps) {
            if !take(step, &mut listener) {
                failed |= ROOT_FAILED;
                step_failed = (i, errno());
                break;
            }
        }
        libc::close(fd::BINARY);
        report(failed, step_failed, listener);
        if failed & ROOT_FAILED != 0 {
            libc::_exit(127);
        }
        if listener >= 0 {
            libc::close(listener);
        }
        if !plan.steps.is_empty() {
            libc::chdir(c"/tmp".as_ptr());
        }
        // No process of the run may read this one's memory, a copy of the
        // grader's; the program makes itself dumpable again.
        libc::prctl(libc::PR_SET_DUMPABLE, 0);
        let program = libc::syscall(libc::SYS_clone, libc::SIGCHLD as libc::c_ulong, 0, 0, 0, 0);
        if program == 0 {
            program_main(plan);
        }
        for fd in [0, 1, 2, fd::STDOUT, fd::STDERR, fd::GO, fd::REPORT] {
            libc::close(fd);
        }
        loop {
            let mut status: libc::c_int = 0;
            let reaped = libc::waitpid(-1, &mut status, libc::__WALL);
            if reaped > 0 && libc::c_long::from(reaped) == program {
                put(fd::STATUS, &status.to_ne_bytes());
            } else if reaped < 0 && errno() == libc::ECHILD {
                let pause = libc::timespec {
                    tv_sec: 0,
                    tv_nsec: 5_000_000,
                };
                libc::nanosleep(&pause, std::ptr::null_mut());
            }
        }
    }
}

/// Writes all of `bytes` to `fd`; errors are ignored (the reader sees end
/// of file).
fn put(fd: RawFd, bytes: &[u8]) {
    // SAFETY: a write of a live buffer; async-signal-safe.
    unsafe {
        libc::write(fd, bytes.as_ptr().cast(), bytes.len());
    }
}

/// Sends the init's report: the failed-layer bits, the failed step and
/// its errno, and the listening socket (when there is one) as a
/// descriptor.
fn report(failed: u32, (step, error): (u32, i32), listener: RawFd) {
    let mut record = [0u8; REPORT_LEN];
    record[..4].copy_from_slice(&failed.to_ne_bytes());
    record[4..8].copy_from_slice(&step.to_ne_bytes());
    record[8..].copy_from_slice(&error.to_ne_bytes());
    // u64s, for the alignment of a `cmsghdr`.
    let mut control = [0u64; 8];
    let mut iov = libc::iovec {
        iov_base: record.as_mut_ptr().cast(),
        iov_len: record.len(),
    };
    // SAFETY: a message built on this stack, its control buffer large
    // enough for one descriptor (CMSG_SPACE of an int is 24 bytes); sent
    // with one system call.
    unsafe {
        let mut message: libc::msghdr = std::mem::zeroed();
        message.msg_iov = &raw mut iov;
        message.msg_iovlen = 1;
        if listener >= 0 {
            let space = libc::CMSG_SPACE(std::mem::size_of::<RawFd>() as u32);
            message.msg_control = control.as_mut_ptr().cast();
            message.msg_controllen = space as usize;
            let header = libc::CMSG_FIRSTHDR(&raw const message);
            (*header).cmsg_level = libc::SOL_SOCKET;
            (*header).cmsg_type = libc::SCM_RIGHTS;
            (*header).cmsg_len = libc::CMSG_LEN(std::mem::size_of::<RawFd>() as u32) as usize;
            libc::CMSG_DATA(header)
                .cast::<RawFd>()
                .write_unaligned(listener);
        }
        libc::sendmsg(fd::REPORT, &raw const message, 0);
    }
}

/// One step of building the root; whether it worked. A listening socket
/// made goes to `listener`.
fn take(step: &Step, listener: &mut RawFd) -> bool {
    let opt = |s: &Option<CString>| s.as_ref().map_or(std::ptr::null(), |s| s.as_ptr());
    // SAFETY: raw system calls on C strings and data made before the
    // clone.
    unsafe {
        match step {
            Step::Mount {
                source,
                target,
                fstype,
                flags,
                data,
            } => {
                libc::mount(
                    source.as_ptr(),
                    target.as_ptr(),
                    opt(fstype),
                    *flags,
                    opt(data).cast(),
                ) == 0
            }
            Step::Mkdir(path) => libc::mkdir(path.as_ptr(), 0o755) == 0 || errno() == libc::EEXIST,
            Step::Touch(path) => {
                let fd = libc::open(
                    path.as_ptr(),
                    libc::O_CREAT | libc::O_WRONLY | libc::O_CLOEXEC,
                    0o644,
                );
                fd >= 0 && libc::close(fd) == 0
            }
            Step::Symlink(target, path) => libc::symlink(target.as_ptr(), path.as_ptr()) == 0,
            Step::CopyBinary(path) => copy_binary(path),
            Step::PivotInto(root) => {
                libc::chdir(root.as_ptr()) == 0
                    && libc::syscall(libc::SYS_pivot_root, c".".as_ptr(), c".".as_ptr()) == 0
                    && libc::umount2(c".".as_ptr(), libc::MNT_DETACH) == 0
                    && libc::chdir(c"/".as_ptr()) == 0
            }
            Step::Listen(address) => {
                let socket = libc::socket(libc::AF_UNIX, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0);
                let length = std::mem::size_of::<libc::sockaddr_un>() as libc::socklen_t;
                let made = socket >= 0
                    && libc::bind(socket, (&raw const *address).cast(), length) == 0
                    && libc::listen(socket, 128) == 0
                    && libc::chmod(address.sun_path.as_ptr(), 0o777) == 0;
                *listener = socket;
                made
            }
            Step::ReadOnlyRoot => {
                libc::mount(
                    c"none".as_ptr(),
                    c"/".as_ptr(),
                    std::ptr::null(),
                    libc::MS_REMOUNT
                        | libc::MS_BIND
                        | libc::MS_RDONLY
                        | libc::MS_NOSUID
                        | libc::MS_NODEV,
                    std::ptr::null(),
                ) == 0
            }
        }
    }
}

/// Copies the program's binary, from [`fd::BINARY`], to `path`.
fn copy_binary(path: &CString) -> bool {
    // SAFETY: raw system calls on a C string made before the clone; the
    // kernel copies between the two files.
    unsafe {
        let to = libc::open(
            path.as_ptr(),
            libc::O_CREAT | libc::O_WRONLY | libc::O_CLOEXEC,
            0o755,
        );
        if to < 0 {
            return false;
        }
        let mut done = true;
        loop {
            let sent = libc::sendfile(to, fd::BINARY, std::ptr::null_mut(), 1 << 30);
            if sent == 0 {
                break;
            }
            if sent < 0 {
                done = false;
                break;
            }
        }
        libc::fchmod(to, 0o755);
        libc::close(to) == 0 && done
    }
}

/// In the program, after its fork from the init: the last set-up, then
/// `exec`. Failures are reported as (stage, errno) on the report socket.
fn program_main(plan: &Plan) -> ! {
    let fail = |stage: u32| -> ! {
        let mut record = [0u8; 8];
        record[..4].copy_from_slice(&stage.to_ne_bytes());
        record[4..].copy_from_slice(&errno().to_ne_bytes());
        // `send`, not `write`: once the filter is in, a write would stop at
        // the tracer, which is waiting for this very record.
        // SAFETY: a send of a live buffer on a socket we own.
        unsafe {
            libc::send(fd::REPORT, record.as_ptr().cast(), record.len(), 0);
        }
        // SAFETY: ends this process at once.
        unsafe { libc::_exit(127) }
    };
    // SAFETY: raw system calls on memory prepared before the clone.
    unsafe {
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
        libc::prctl(libc::PR_SET_NAME, c"sandbox-program".as_ptr());
        // The init made itself undumpable; the tracer needs us dumpable,
        // and is told so before it attaches.
        libc::prctl(libc::PR_SET_DUMPABLE, 1);
        libc::fcntl(fd::REPORT, libc::F_SETFD, libc::FD_CLOEXEC);
        libc::send(fd::REPORT, [READY].as_ptr().cast(), 1, 0);
        let null = libc::open(c"/dev/null".as_ptr(), libc::O_RDONLY);
        if null < 0
            || libc::dup2(null, 0) < 0
            || libc::dup2(fd::STDOUT, 1) < 0
            || libc::dup2(fd::STDERR, 2) < 0
        {
            fail(stage::STREAMS);
        }
        for fd in [null, fd::STDOUT, fd::STDERR, fd::STATUS] {
            libc::close(fd);
        }
        libc::setpgid(0, 0);
        set_limits(plan).unwrap_or_else(|()| fail(stage::LIMITS));
        // Wait until the grader has put us in the run's cgroups and, when
        // tracing, attached.
        let mut byte = 0u8;
        if libc::read(fd::GO, (&raw mut byte).cast(), 1) != 1 {
            fail(stage::WAIT);
        }
        libc::close(fd::GO);
        for capability in 0..64 {
            libc::prctl(libc::PR_CAPBSET_DROP, capability);
        }
        // Raw system calls, not glibc's wrappers: those would make every
        // thread glibc believes this process has (the grader's) change
        // too, under a lock another thread of the grader may have held at
        // the clone, and wait for ever.
        if let Some((uid, gid)) = plan.drop_to
            && (libc::syscall(libc::SYS_setgroups, 0, std::ptr::null::<libc::gid_t>()) != 0
                || libc::syscall(libc::SYS_setresgid, gid, gid, gid) != 0
                || libc::syscall(libc::SYS_setresuid, uid, uid, uid) != 0)
        {
            fail(stage::IDENTITY);
        }
        drop_capabilities();
        if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 {
            fail(stage::NO_NEW_PRIVS);
        }
        for filter in &plan.filters {
            install_filter(filter).unwrap_or_else(|()| fail(stage::FILTER));
        }
        let mut argv: [*const libc::c_char; 64] = [std::ptr::null(); 64];
        for (slot, arg) in argv.iter_mut().zip(plan.argv.iter().take(63)) {
            *slot = arg.as_ptr();
        }
        let mut envp: [*const libc::c_char; 32] = [std::ptr::null(); 32];
        for (slot, var) in envp.iter_mut().zip(plan.envp.iter().take(31)) {
            *slot = var.as_ptr();
        }
        libc::execve(plan.exec.as_ptr(), argv.as_ptr(), envp.as_ptr());
        fail(stage::EXEC)
    }
}

/// The program's rlimits: its address space at the memory cap, no core
/// files, a bound on file size, and (with a uid of the run's own) its
/// tasks.
fn set_limits(plan: &Plan) -> Result<(), ()> {
    let limit = |resource, value: u64| {
        let limit = libc::rlimit {
            rlim_cur: value,
            rlim_max: value,
        };
        // SAFETY: one system call on a value on this stack.
        if unsafe { libc::setrlimit(resource, &limit) } == 0 {
            Ok(())
        } else {
            Err(())
        }
    };
    limit(libc::RLIMIT_AS, plan.caps.memory)?;
    limit(libc::RLIMIT_CORE, 0)?;
    limit(libc::RLIMIT_FSIZE, plan.caps.file_size)?;
    if plan.nproc {
        limit(libc::RLIMIT_NPROC, plan.caps.tasks)?;
    }
    Ok(())
}

/// Clears every capability this process has (in whatever user namespace
/// it is), and its ambient set.
fn drop_capabilities() {
    #[repr(C)]
    struct Header {
        version: u32,
        pid: libc::c_int,
    }
    #[repr(C)]
    struct Data {
        effective: u32,
        permitted: u32,
        inheritable: u32,
    }
    const VERSION_3: u32 = 0x2008_0522;
    let header = Header {
        version: VERSION_3,
        pid: 0,
    };
    let none = [
        Data {
            effective: 0,
            permitted: 0,
            inheritable: 0,
        },
        Data {
            effective: 0,
            permitted: 0,
            inheritable: 0,
        },
    ];
    // SAFETY: system calls on values on this stack, of the layout the
    // kernel's capability interface (version 3) reads.
    unsafe {
        libc::prctl(
            libc::PR_CAP_AMBIENT,
            libc::PR_CAP_AMBIENT_CLEAR_ALL,
            0,
            0,
            0,
        );
        libc::syscall(libc::SYS_capset, &raw const header, none.as_ptr());
    }
}

/// Installs `filter` on this process (`no_new_privs` must be set).
pub(super) fn install_filter(filter: &[seccompiler::sock_filter]) -> Result<(), ()> {
    let program = libc::sock_fprog {
        len: u16::try_from(filter.len()).map_err(|_| ())?,
        // seccompiler's instruction is `struct sock_filter`, `repr(C)`.
        filter: filter.as_ptr().cast::<libc::sock_filter>().cast_mut(),
    };
    // SAFETY: the kernel copies the program; `program` and `filter` outlive
    // the call.
    let done = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            libc::SECCOMP_SET_MODE_FILTER,
            0,
            &raw const program,
        )
    };
    if done == 0 { Ok(()) } else { Err(()) }
}
