//! The filter's behaviour, not its shape: a child process makes each
//! refused system call, once under the filters and once without them, and
//! reports what the kernel answered. Under the filters each answer is the
//! policy's errno; without them the same calls, with the same arguments,
//! get other answers (a bad descriptor, a bad address, a missing path, or
//! nothing done), so the refusals are the filter's and not the kernel's.
//!
//! The arguments are chosen so that without the filter every call fails
//! harmlessly or does nothing: no process, mount, key or module is made.
//!
//! The test process is multi-threaded (libtest), so each child is made as
//! the sandbox makes its own: a raw `clone`, then only raw system calls on
//! data prepared before it, answers sent on a socket (`send` is not of the
//! write family, which a traced filter stops), then `_exit`.

use std::ffi::CStr;
use std::io::Read;
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::UnixStream;

use seccompiler::BpfProgram;

use super::{Stops, TRACED, filters, x32_guard};
use crate::sandbox::init::install_filter;

/// A path that does not exist: calls that take one fail to find it.
const MISSING: &CStr = c"/nonexistent-grader-probe";

/// One system call to make, and whether only privilege lets the kernel
/// get past its first check (so that, without privilege, the kernel says
/// `EPERM` before the filter's `EPERM` can be told apart).
#[derive(Debug, Clone, Copy)]
struct Call {
    name: &'static str,
    number: libc::c_long,
    args: [libc::c_long; 6],
    privileged: bool,
}

/// What the kernel answered a call: its return value, or `-errno`.
type Answer = i64;

fn call(name: &'static str, number: libc::c_long, args: [libc::c_long; 6]) -> Call {
    Call {
        name,
        number,
        args,
        privileged: false,
    }
}

fn privileged(name: &'static str, number: libc::c_long, args: [libc::c_long; 6]) -> Call {
    Call {
        privileged: true,
        ..call(name, number, args)
    }
}

/// A table more than a function (one call a line, hence its length):
/// each refused call and the errno the policy gives it (as the README and
/// the module's docs state it, written out here rather than taken from
/// the filter's own lists), with arguments the kernel refuses (or
/// ignores) harmlessly when no filter stops it first.
fn refused_calls() -> Vec<(Call, i32)> {
    use libc::*;
    let missing = MISSING.as_ptr() as c_long;
    let enosys = [
        call("sendfile", SYS_sendfile, [-1, -1, 0, 1, 0, 0]),
        call("splice", SYS_splice, [-1, 0, -1, 0, 1, 0]),
        call("vmsplice", SYS_vmsplice, [-1, 0, 0, 0, 0, 0]),
        call("tee", SYS_tee, [-1, -1, 1, 0, 0, 0]),
        call("copy_file_range", SYS_copy_file_range, [-1, 0, -1, 0, 1, 0]),
        call("clone3", SYS_clone3, [0, 0, 0, 0, 0, 0]),
        call("io_uring_setup", SYS_io_uring_setup, [0, 0, 0, 0, 0, 0]),
        call("io_setup", SYS_io_setup, [0, 0, 0, 0, 0, 0]),
        call("io_submit", SYS_io_submit, [0, 0, 0, 0, 0, 0]),
        // Descriptor 1 here is the test's own output, no socket.
        call("sendmmsg(1)", SYS_sendmmsg, [1, 0, 0, 0, 0, 0]),
    ];
    let eperm = [
        call(
            "ptrace",
            SYS_ptrace,
            [PTRACE_GETREGS as c_long, -1, 0, 0, 0, 0],
        ),
        // Writes nothing: no vectors.
        call(
            "process_vm_writev",
            SYS_process_vm_writev,
            [0, 0, 0, 0, 0, 0],
        ),
        call("mount", SYS_mount, [0, 0, 0, 0, 0, 0]),
        call("umount2", SYS_umount2, [missing, 0, 0, 0, 0, 0]),
        privileged("pivot_root", SYS_pivot_root, [missing, missing, 0, 0, 0, 0]),
        call("chroot", SYS_chroot, [missing, 0, 0, 0, 0, 0]),
        // Unshares nothing.
        call("unshare", SYS_unshare, [0, 0, 0, 0, 0, 0]),
        call("setns", SYS_setns, [-1, 0, 0, 0, 0, 0]),
        call("open_tree", SYS_open_tree, [-1, missing, 0, 0, 0, 0]),
        privileged("move_mount", SYS_move_mount, [-1, 0, -1, 0, 0, 0]),
        privileged("fsopen", SYS_fsopen, [0, 0, 0, 0, 0, 0]),
        call("fsconfig", SYS_fsconfig, [-1, 0, 0, 0, 0, 0]),
        privileged("fsmount", SYS_fsmount, [-1, 0, 0, 0, 0, 0]),
        privileged("fspick", SYS_fspick, [-1, missing, 0, 0, 0, 0]),
        call("bpf", SYS_bpf, [-1, 0, 0, 0, 0, 0]),
        call("perf_event_open", SYS_perf_event_open, [0, 0, -1, -1, 0, 0]),
        call("keyctl", SYS_keyctl, [-1, 0, 0, 0, 0, 0]),
        call("add_key", SYS_add_key, [0, 0, 0, 0, 0, 0]),
        call("request_key", SYS_request_key, [0, 0, 0, 0, 0, 0]),
        privileged("init_module", SYS_init_module, [0, 0, 0, 0, 0, 0]),
        privileged("finit_module", SYS_finit_module, [-1, 0, 0, 0, 0, 0]),
        privileged("delete_module", SYS_delete_module, [0, 0, 0, 0, 0, 0]),
        // A flag no kernel knows.
        privileged("kexec_load", SYS_kexec_load, [0, 0, 0, 0x100, 0, 0]),
        privileged(
            "kexec_file_load",
            SYS_kexec_file_load,
            [-1, -1, 0, 0, 0x100, 0],
        ),
        // Without the magic numbers.
        privileged("reboot", SYS_reboot, [0, 0, 0, 0, 0, 0]),
        privileged("swapon", SYS_swapon, [0, 0, 0, 0, 0, 0]),
        privileged("swapoff", SYS_swapoff, [0, 0, 0, 0, 0, 0]),
        // Flags no kernel knows.
        privileged("userfaultfd", SYS_userfaultfd, [!0xff, 0, 0, 0, 0, 0]),
        privileged(
            "open_by_handle_at",
            SYS_open_by_handle_at,
            [-1, 0, 0, 0, 0, 0],
        ),
        // No filter given: the kernel would refuse the null pointer.
        call(
            "seccomp",
            SYS_seccomp,
            [SECCOMP_SET_MODE_FILTER as c_long, 0, 0, 0, 0, 0],
        ),
        call(
            "prctl(PR_SET_SECCOMP)",
            SYS_prctl,
            [
                c_long::from(PR_SET_SECCOMP),
                SECCOMP_MODE_FILTER as c_long,
                0,
                0,
                0,
                0,
            ],
        ),
    ];
    // CLONE_SIGHAND without CLONE_VM is refused by the kernel before it
    // makes anything, so no process is ever created here.
    let clones = [
        ("clone(CLONE_UNTRACED)", CLONE_UNTRACED),
        ("clone(CLONE_NEWUSER)", CLONE_NEWUSER),
        ("clone(CLONE_NEWPID)", CLONE_NEWPID),
        ("clone(CLONE_NEWNET)", CLONE_NEWNET),
        ("clone(CLONE_NEWNS)", CLONE_NEWNS),
        ("clone(CLONE_NEWIPC)", CLONE_NEWIPC),
        ("clone(CLONE_NEWUTS)", CLONE_NEWUTS),
        ("clone(CLONE_NEWCGROUP)", CLONE_NEWCGROUP),
    ]
    .map(|(name, flag)| {
        let flags = c_long::from(flag | CLONE_SIGHAND);
        (call(name, SYS_clone, [flags, 0, 0, 0, 0, 0]), EPERM)
    });
    enosys
        .into_iter()
        .map(|c| (c, ENOSYS))
        .chain(eperm.into_iter().map(|c| (c, EPERM)))
        .chain(clones)
        .collect()
}

/// Makes every call of `calls` in a child under `filters` (none: no
/// filter) and returns each answer; `None` when the child was killed, with
/// the signal.
fn answers(calls: &[Call], filters: &[BpfProgram]) -> Result<Vec<Answer>, i32> {
    let (mut ours, theirs) = UnixStream::pair().expect("a socket pair");
    let socket = theirs.as_raw_fd();
    // SAFETY: a fork-like clone; the child runs `child` only, which makes
    // raw system calls on data made before the clone and never returns.
    let pid = unsafe { libc::syscall(libc::SYS_clone, libc::SIGCHLD as libc::c_ulong, 0, 0, 0, 0) };
    if pid == 0 {
        child(calls, filters, socket);
    }
    assert!(pid > 0, "clone: {}", std::io::Error::last_os_error());
    drop(theirs);
    let pid = libc::pid_t::try_from(pid).expect("a pid");
    let mut status = 0;
    // SAFETY: waits for our own child, into a local.
    let waited = unsafe { libc::waitpid(pid, &raw mut status, 0) };
    assert_eq!(waited, pid, "{}", std::io::Error::last_os_error());
    if libc::WIFSIGNALED(status) {
        return Err(libc::WTERMSIG(status));
    }
    let mut bytes = Vec::new();
    ours.read_to_end(&mut bytes).expect("the answers");
    Ok(bytes
        .chunks_exact(8)
        .map(|c| i64::from_ne_bytes(c.try_into().expect("8 bytes")))
        .collect())
}

/// The child: installs `filters`, makes each call, sends each answer.
fn child(calls: &[Call], filters: &[BpfProgram], socket: RawFd) -> ! {
    // SAFETY: raw system calls on memory made before the clone; nothing
    // allocates or takes a lock.
    unsafe {
        if !filters.is_empty() && libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 {
            libc::_exit(101);
        }
        for filter in filters {
            if install_filter(filter).is_err() {
                libc::_exit(102);
            }
        }
        for c in calls {
            let [a, b, d, e, f, g] = c.args;
            let done = libc::syscall(c.number, a, b, d, e, f, g);
            let answer: i64 = if done < 0 {
                -i64::from(*libc::__errno_location())
            } else {
                done
            };
            libc::send(socket, (&raw const answer).cast(), 8, 0);
        }
        libc::_exit(0)
    }
}

/// The answers of `calls` under no filter, and under the filters of an
/// untraced and a traced run.
fn three_ways(calls: &[Call]) -> [Vec<Answer>; 3] {
    [
        Vec::new(),
        filters(false, Stops::default()),
        filters(true, Stops::default()),
    ]
    .map(|f| answers(calls, &f).unwrap_or_else(|signal| panic!("killed by signal {signal}")))
}

fn errno_name(answer: Answer) -> String {
    match i32::try_from(-answer) {
        Ok(code) if answer < 0 => nix::errno::Errno::from_raw(code).to_string(),
        _ => format!("returned {answer}"),
    }
}

#[test]
fn each_refused_call_gets_its_errno_from_the_filter() {
    let expected = refused_calls();
    let calls: Vec<Call> = expected.iter().map(|(c, _)| *c).collect();
    let [bare, untraced, traced] = three_ways(&calls);
    // SAFETY: reads this process's effective uid.
    let root = unsafe { libc::geteuid() } == 0;
    let mut unexplained = Vec::new();
    for (i, (c, errno)) in expected.iter().enumerate() {
        let want = -i64::from(*errno);
        for (answers, filter) in [(&untraced, "untraced"), (&traced, "traced")] {
            assert_eq!(
                answers[i],
                want,
                "{} under the {filter} filter: got {}, the policy says {}",
                c.name,
                errno_name(answers[i]),
                errno_name(want)
            );
        }
        // Without the filter, the kernel answers otherwise: the refusal is
        // the filter's. Only privilege, which this process may lack, can
        // make the kernel's own first answer an EPERM too.
        if bare[i] == want && (root || !c.privileged) {
            unexplained.push((c.name, errno_name(bare[i])));
        }
    }
    assert!(
        unexplained.is_empty(),
        "without the filter the kernel already answered these as the filter does, so the test \
         shows nothing of the filter for them: {unexplained:?}"
    );
}

/// `clone` is refused for its flags, not for being `clone`: the same call
/// without a refused flag gets the kernel's own answer (`EINVAL`, for
/// `CLONE_SIGHAND` without `CLONE_VM`) under the filter too.
#[test]
fn clone_is_refused_only_with_a_refused_flag() {
    let plain = [call(
        "clone(CLONE_SIGHAND)",
        libc::SYS_clone,
        [libc::c_long::from(libc::CLONE_SIGHAND), 0, 0, 0, 0, 0],
    )];
    for answers in three_ways(&plain) {
        assert_eq!(
            answers,
            [-i64::from(libc::EINVAL)],
            "{}",
            errno_name(answers[0])
        );
    }
}

/// The write family is let through untraced; traced, with no tracer there,
/// every write to descriptor 1 fails (the kernel answers `ENOSYS` to a
/// `SECCOMP_RET_TRACE` without a tracer), which is why an untraced run gets
/// the filters without that rule, and a write to any other descriptor goes
/// through. Descriptor 1 is read as the kernel reads it, by its low 32
/// bits: `1 | 1 << 32` is descriptor 1 too. (A traced write reaching the
/// tracer is shown by the grader's own tests:
/// `hostile::every_write_route_is_attributed`.)
#[test]
fn writes_to_descriptor_1_stop_for_a_tracer_only_in_a_traced_filter() {
    let (ours, _theirs) = UnixStream::pair().expect("a socket pair");
    let fd = libc::c_long::from(ours.as_raw_fd());
    let byte = c"x".as_ptr() as libc::c_long;
    let vector = libc::iovec {
        iov_base: c"x".as_ptr().cast_mut().cast(),
        iov_len: 1,
    };
    let vec = (&raw const vector) as libc::c_long;
    // SAFETY: an all-zero msghdr is valid (no name, no control).
    let mut message: libc::msghdr = unsafe { std::mem::zeroed() };
    message.msg_iov = (&raw const vector).cast_mut();
    message.msg_iovlen = 1;
    let message = (&raw const message) as libc::c_long;
    let high = (1 << 32) | 1;
    let writes = [
        // The socket becomes descriptor 1 of the child.
        call("dup2", libc::SYS_dup2, [fd, 1, 0, 0, 0, 0]),
        call("write", libc::SYS_write, [1, byte, 1, 0, 0, 0]),
        call(
            "write(1 | 1 << 32)",
            libc::SYS_write,
            [high, byte, 1, 0, 0, 0],
        ),
        call("writev", libc::SYS_writev, [1, vec, 1, 0, 0, 0]),
        call("pwritev2", libc::SYS_pwritev2, [1, vec, 1, -1, -1, 0]),
        call("sendto", libc::SYS_sendto, [1, byte, 1, 0, 0, 0]),
        call("sendmsg", libc::SYS_sendmsg, [1, message, 0, 0, 0, 0]),
        call("write(socket)", libc::SYS_write, [fd, byte, 1, 0, 0, 0]),
    ];
    assert_eq!(
        writes.len() - 3 + 2,
        TRACED.len(),
        "every traced call but pwrite64 and pwritev, which need a file"
    );
    let [bare, untraced, traced] = three_ways(&writes);
    assert_eq!(bare, [1, 1, 1, 1, 1, 1, 1, 1]);
    assert_eq!(untraced, [1, 1, 1, 1, 1, 1, 1, 1]);
    let enosys = -i64::from(libc::ENOSYS);
    assert_eq!(
        traced,
        [1, enosys, enosys, enosys, enosys, enosys, enosys, 1]
    );
}

/// Bit 30 of the call number (the x32 calls) is refused whatever the call,
/// and a call of another architecture (i386's `int 0x80`) kills the
/// process.
#[cfg(target_arch = "x86_64")]
#[test]
fn other_abis_are_refused() {
    let x32_getpid = [call("x32 getpid", 0x4000_0000 | libc::SYS_getpid, [0; 6])];
    let [bare, untraced, traced] = three_ways(&x32_getpid);
    let enosys = -i64::from(libc::ENOSYS);
    assert_eq!((untraced[0], traced[0]), (enosys, enosys));
    if bare[0] == enosys {
        // This kernel has no x32 calls to refuse, so it cannot show the
        // guard at work; what the guard answers is shown below, by
        // running its six instructions on the calls' numbers.
        let guard = x32_guard().expect("x86_64 has the guard");
        let errno = libc::SECCOMP_RET_ERRNO | libc::ENOSYS.unsigned_abs();
        let x86_64 = 0xc000_003e;
        let i386 = 0x4000_0003;
        assert_eq!(run_bpf(&guard, 0x4000_0001, x86_64), errno, "x32 write");
        assert_eq!(
            run_bpf(&guard, 0x4000_0000 | 547, x86_64),
            errno,
            "x32 pwritev2"
        );
        assert_eq!(run_bpf(&guard, 1, x86_64), libc::SECCOMP_RET_ALLOW, "write");
        assert_eq!(
            run_bpf(&guard, 0x4000_0001, i386),
            libc::SECCOMP_RET_ALLOW,
            "i386"
        );
    }
    // Without the filter i386's getpid answers; under it, SIGSYS.
    assert!(i386_getpid(&[]).is_ok(), "this kernel runs i386 calls");
    for f in [
        filters(false, Stops::default()),
        filters(true, Stops::default()),
    ] {
        assert_eq!(i386_getpid(&f), Err(libc::SIGSYS));
    }
}

/// A child that makes i386's `getpid` through `int 0x80` under `filters`;
/// `Err` is the signal that killed it.
#[cfg(target_arch = "x86_64")]
fn i386_getpid(filters: &[BpfProgram]) -> Result<(), i32> {
    // SAFETY: as in `answers`.
    let pid = unsafe { libc::syscall(libc::SYS_clone, libc::SIGCHLD as libc::c_ulong, 0, 0, 0, 0) };
    if pid == 0 {
        // SAFETY: raw system calls only, as in `child`; `int 0x80` with
        // eax = 20 is i386's getpid, which reads nothing of our memory.
        unsafe {
            if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 {
                libc::_exit(101);
            }
            for filter in filters {
                if install_filter(filter).is_err() {
                    libc::_exit(102);
                }
            }
            let mut eax: u32 = 20;
            std::arch::asm!("int 0x80", inout("eax") eax);
            libc::_exit(if eax > 0 { 0 } else { 103 })
        }
    }
    let pid = libc::pid_t::try_from(pid).expect("a pid");
    let mut status = 0;
    // SAFETY: waits for our own child, into a local.
    unsafe { libc::waitpid(pid, &raw mut status, 0) };
    if libc::WIFSIGNALED(status) {
        Err(libc::WTERMSIG(status))
    } else {
        assert_eq!(libc::WEXITSTATUS(status), 0, "the child's set-up failed");
        Ok(())
    }
}

/// The answer of a classic BPF program (of the loads, jumps and returns
/// the guard uses) for a call numbered `nr` of architecture `arch`.
#[cfg(target_arch = "x86_64")]
fn run_bpf(program: &[seccompiler::sock_filter], nr: u32, arch: u32) -> u32 {
    let mut accumulator = 0;
    let mut pc = 0;
    loop {
        let op = &program[pc];
        let class = u32::from(op.code) & 0x07;
        match (class, u32::from(op.code) & 0xf0) {
            (libc::BPF_LD, _) => accumulator = if op.k == 0 { nr } else { arch },
            (libc::BPF_RET, _) => return op.k,
            (libc::BPF_JMP, libc::BPF_JEQ) | (libc::BPF_JMP, libc::BPF_JGE) => {
                let taken = if u32::from(op.code) & 0xf0 == libc::BPF_JEQ {
                    accumulator == op.k
                } else {
                    accumulator >= op.k
                };
                pc += usize::from(if taken { op.jt } else { op.jf });
            }
            _ => panic!("an instruction the guard does not use: {op:?}"),
        }
        pc += 1;
    }
}
