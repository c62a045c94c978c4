//! The run's init (pid 1 of the run), and the program it forks, up to the
//! moment it executes the exercise: the code that runs in the children of
//! `clone`. Only raw system calls
//! on data prepared before the `clone` (`Plan`).

use std::ffi::CString;
use std::os::fd::RawFd;

use super::plan::{Plan, Step};

/// Failed-layer bits the init reports.
pub(super) const FS_FAILED: u32 = 1;

/// The last `errno`.
fn errno() -> i32 {
    // SAFETY: reads this thread's errno; no other effect.
    unsafe { *libc::__errno_location() }
}

/// Writes all of `bytes` to `fd`; errors are ignored (the reader sees end
/// of file).
fn put(fd: RawFd, bytes: &[u8]) {
    // SAFETY: a write of a live buffer; async-signal-safe.
    unsafe {
        libc::write(fd, bytes.as_ptr().cast(), bytes.len());
    }
}

/// Descriptor numbers in the children of `clone`, fixed so that every
/// other inherited descriptor can be closed at once.
const FD_STDOUT: RawFd = 3;

const FD_STDERR: RawFd = 4;

const FD_GO: RawFd = 5;

const FD_REPORT: RawFd = 6;

const FD_STATUS: RawFd = 7;

const FD_LAST: RawFd = 7;

/// In the init, after `clone`: only system calls from here on.
pub(super) fn init_main(plan: &Plan, fds: [RawFd; 5]) -> ! {
    // SAFETY: every call below is a raw system call on memory prepared
    // before the clone (`plan`), as is safe in the child of a
    // multi-threaded process; nothing allocates or takes a lock.
    unsafe {
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
        // Only our descriptors stay: the grader's others (other runs'
        // pipes among them) must not be held open by this process, which
        // never executes anything.
        // All out of the way first: a source may already have one of the
        // numbers they go to.
        let mut high = [0 as RawFd; 5];
        for (slot, &fd) in high.iter_mut().zip(&fds) {
            *slot = libc::fcntl(fd, libc::F_DUPFD, 900);
        }
        for (i, &fd) in (0..).zip(&high) {
            libc::dup2(fd, FD_STDOUT + i);
        }
        libc::syscall(libc::SYS_close_range, FD_LAST + 1, libc::c_uint::MAX, 0);
        let mut failed: u32 = 0;
        for step in &plan.steps {
            if !take(step) {
                failed |= FS_FAILED;
                break;
            }
        }
        if failed & FS_FAILED == 0 && !plan.steps.is_empty() {
            libc::chdir(c"/tmp".as_ptr());
        }
        put(FD_REPORT, &failed.to_ne_bytes());
        let program = libc::syscall(libc::SYS_clone, libc::SIGCHLD as libc::c_ulong, 0, 0, 0, 0);
        if program == 0 {
            program_main(plan);
        }
        for fd in [0, 1, 2, FD_STDOUT, FD_STDERR, FD_GO, FD_REPORT] {
            libc::close(fd);
        }
        loop {
            let mut status: libc::c_int = 0;
            let reaped = libc::waitpid(-1, &mut status, libc::__WALL);
            if reaped > 0 && libc::c_long::from(reaped) == program {
                put(FD_STATUS, &status.to_ne_bytes());
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

/// One step of building the root; whether it worked.
fn take(step: &Step) -> bool {
    let opt = |s: &Option<CString>| s.as_ref().map_or(std::ptr::null(), |s| s.as_ptr());
    // SAFETY: raw system calls on C strings made before the clone.
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
            Step::PivotInto(root) => {
                libc::chdir(root.as_ptr()) == 0
                    && libc::syscall(libc::SYS_pivot_root, c".".as_ptr(), c".".as_ptr()) == 0
                    && libc::umount2(c".".as_ptr(), libc::MNT_DETACH) == 0
                    && libc::chdir(c"/".as_ptr()) == 0
                    && libc::mount(
                        c"none".as_ptr(),
                        c"/".as_ptr(),
                        std::ptr::null(),
                        libc::MS_REMOUNT | libc::MS_RDONLY | libc::MS_NOSUID | libc::MS_NODEV,
                        std::ptr::null(),
                    ) == 0
            }
        }
    }
}

/// In the program, after its fork from the init: the last set-up, then
/// `exec`. Failures are reported as (stage, errno) on the report pipe.
fn program_main(plan: &Plan) -> ! {
    let fail = |stage: u32| -> ! {
        let mut record = [0u8; 8];
        record[..4].copy_from_slice(&stage.to_ne_bytes());
        record[4..].copy_from_slice(&errno().to_ne_bytes());
        // `send`, not `write`: once the filter is in, a write would stop at
        // the tracer, which is waiting for this very record.
        // SAFETY: a send of a live buffer on a socket we own.
        unsafe {
            libc::send(FD_REPORT, record.as_ptr().cast(), record.len(), 0);
        }
        // SAFETY: ends this process at once.
        unsafe { libc::_exit(127) }
    };
    // SAFETY: raw system calls on memory prepared before the clone.
    unsafe {
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
        libc::fcntl(FD_REPORT, libc::F_SETFD, libc::FD_CLOEXEC);
        let null = libc::open(c"/dev/null".as_ptr(), libc::O_RDONLY);
        if null < 0
            || libc::dup2(null, 0) < 0
            || libc::dup2(FD_STDOUT, 1) < 0
            || libc::dup2(FD_STDERR, 2) < 0
        {
            fail(1);
        }
        for fd in [null, FD_STDOUT, FD_STDERR, FD_STATUS] {
            libc::close(fd);
        }
        libc::setpgid(0, 0);
        let memory = libc::rlimit {
            rlim_cur: plan.memory,
            rlim_max: plan.memory,
        };
        let nothing = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        let files = libc::rlimit {
            rlim_cur: 64 << 20,
            rlim_max: 64 << 20,
        };
        if libc::setrlimit(libc::RLIMIT_AS, &memory) != 0
            || libc::setrlimit(libc::RLIMIT_CORE, &nothing) != 0
            || libc::setrlimit(libc::RLIMIT_FSIZE, &files) != 0
        {
            fail(2);
        }
        // Wait until the grader has put us in the run's cgroups and, when
        // tracing, attached.
        let mut byte = 0u8;
        if libc::read(FD_GO, (&raw mut byte).cast(), 1) != 1 {
            fail(3);
        }
        libc::close(FD_GO);
        for capability in 0..64 {
            libc::prctl(libc::PR_CAPBSET_DROP, capability);
        }
        if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 {
            fail(4);
        }
        for filter in &plan.filters {
            install_filter(filter).unwrap_or_else(|()| fail(5));
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
        fail(6)
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
