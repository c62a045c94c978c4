//! The seccomp filter every graded program runs under: its rules as data,
//! compiled to classic BPF by `seccompiler` (rust-vmm's, as Firecracker
//! uses it) before the `clone`, and checked by the kernel at each system
//! call.
//!
//! - the write family ([`TRACED`]) on descriptor 1 (by its low 32 bits,
//!   which is all the kernel reads of a descriptor) stops at the tracer
//!   (`SECCOMP_RET_TRACE`), which reads what was written to the run's
//!   stdout and by which process: that is how a line is attributed to the
//!   process that printed it. Writes to other descriptors (stderr, files,
//!   the pipes between processes) do not stop: a byte that reaches stdout
//!   through one is a byte the grader reads but no write it saw accounts
//!   for, which fails the output. Untraced, the family is allowed;
//! - for a run whose facts need them ([`Stops`]), more calls stop at the
//!   tracer, each in a filter of its own: shared `mmap`s, where a value
//!   may appear; `socketpair` with the write and read families on
//!   every descriptor but 1 ([`MESSAGES`]), for what crossed a pipe; and
//!   `nanosleep` and `clock_nanosleep`, who sleeps while a line is held;
//! - ways around that attribution or around the tracer are refused with
//!   `ENOSYS` ([`NOT_THERE`]: `sendfile`, `splice`, `vmsplice`, `tee` and
//!   `copy_file_range`, after which Rust's std falls back to `write`;
//!   `io_uring_setup`, and AIO's `io_setup` and `io_submit`; `clone3`,
//!   after which glibc uses `clone`, whose flags the filter can see;
//!   `sendmmsg` on descriptor 1 ([`NOT_THERE_ON_STDOUT`])), and `clone`
//!   with `CLONE_UNTRACED` or a namespace flag ([`CLONE_REFUSED`]) with
//!   `EPERM`;
//! - what could reach outside the sandbox, or above this filter, is
//!   refused with `EPERM` ([`REFUSED`]): `ptrace`, `process_vm_writev`,
//!   `mount` and its kin, `unshare`, `setns`, `chroot`, `bpf`,
//!   `perf_event_open`, keys, modules, `kexec`, `reboot`, swap,
//!   `userfaultfd`, `open_by_handle_at`; and `seccomp`, with `prctl`'s
//!   `PR_SET_SECCOMP` ([`PRCTL_REFUSED`]): a filter of the program's own
//!   could answer a write with a user notification, which the kernel
//!   ranks above this filter's trace;
//! - a system call of another architecture (i386's `int 0x80` on x86_64)
//!   kills the process, and an x32 call (a number with bit 30 set) is
//!   refused with `ENOSYS`, so that no number slips past the rules above.
//!
//! # Why several filters
//!
//! A `seccompiler` filter has one action for the calls its rules match and
//! one for the others; the policy has three (trace, `ENOSYS`, `EPERM`), so
//! it is three filters, installed one after the other. The kernel runs
//! every filter at each call and takes the strictest answer (`ERRNO`
//! before `TRACE` before `ALLOW`); the rules of the three are disjoint, so
//! each call gets its own rule's answer. Each filter starts with
//! `seccompiler`'s check of the architecture, which kills the process on
//! a mismatch.
//!
//! One rule `seccompiler` cannot state: its rules match a system call by
//! its exact number, and x32 calls are every number with bit 30 set. That
//! range is a fourth filter of six instructions, written here
//! ([`x32_guard`]). The tests (`tests.rs`) run a child under these
//! filters and show what the kernel answered each call, against what it
//! answers the same calls without them.

use std::collections::BTreeMap;

use seccompiler::{
    BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter,
    SeccompRule, TargetArch, sock_filter,
};

/// The write family, which the tracer attributes when it writes to
/// descriptor 1 (stdout): every call that writes a buffer of the caller's
/// memory to a socket.
pub const TRACED: &[libc::c_long] = &[
    libc::SYS_write,
    libc::SYS_writev,
    libc::SYS_pwrite64,
    libc::SYS_pwritev,
    libc::SYS_pwritev2,
    libc::SYS_sendto,
    libc::SYS_sendmsg,
];

/// The descriptor whose writes are traced.
pub const STDOUT: u64 = 1;

/// Refused with `ENOSYS`, as if the kernel did not have them: ways around
/// the tracer's view of writes and of new processes.
pub const NOT_THERE: &[libc::c_long] = &[
    libc::SYS_sendfile,
    libc::SYS_splice,
    libc::SYS_vmsplice,
    libc::SYS_tee,
    libc::SYS_copy_file_range,
    libc::SYS_clone3,
    libc::SYS_io_uring_setup,
    libc::SYS_io_setup,
    libc::SYS_io_submit,
];

/// Refused with `ENOSYS` on descriptor 1 only: several messages in one
/// call, which the tracer does not read.
pub const NOT_THERE_ON_STDOUT: &[libc::c_long] = &[libc::SYS_sendmmsg];

/// Refused with `EPERM`: what could reach outside the sandbox.
pub const REFUSED: &[libc::c_long] = &[
    libc::SYS_ptrace,
    libc::SYS_process_vm_writev,
    libc::SYS_mount,
    libc::SYS_umount2,
    libc::SYS_pivot_root,
    libc::SYS_chroot,
    libc::SYS_unshare,
    libc::SYS_setns,
    libc::SYS_open_tree,
    libc::SYS_move_mount,
    libc::SYS_fsopen,
    libc::SYS_fsconfig,
    libc::SYS_fsmount,
    libc::SYS_fspick,
    libc::SYS_bpf,
    libc::SYS_perf_event_open,
    libc::SYS_keyctl,
    libc::SYS_add_key,
    libc::SYS_request_key,
    libc::SYS_init_module,
    libc::SYS_finit_module,
    libc::SYS_delete_module,
    libc::SYS_kexec_load,
    libc::SYS_kexec_file_load,
    libc::SYS_reboot,
    libc::SYS_swapon,
    libc::SYS_swapoff,
    libc::SYS_userfaultfd,
    libc::SYS_open_by_handle_at,
    libc::SYS_seccomp,
];

/// `prctl` options refused with `EPERM`: a seccomp filter of the
/// program's own.
pub const PRCTL_REFUSED: &[libc::c_int] = &[libc::PR_SET_SECCOMP];

/// `clone` flags refused with `EPERM`: a task the tracer would not see,
/// or a namespace of the program's own.
pub const CLONE_REFUSED: &[libc::c_int] = &[
    libc::CLONE_UNTRACED,
    libc::CLONE_NEWUSER,
    libc::CLONE_NEWPID,
    libc::CLONE_NEWNET,
    libc::CLONE_NEWNS,
    libc::CLONE_NEWIPC,
    libc::CLONE_NEWUTS,
    libc::CLONE_NEWCGROUP,
];

/// What the tracer is told a traced call is: a write to attribute.
pub const TRACE_WRITE: u32 = 1;

/// What the tracer is told a traced call is: a shared mapping made, where
/// a `common::Value` may now lie (see [`Stops::shared_maps`]).
pub const TRACE_MAP: u32 = 2;

/// What the tracer is told a traced call is: a message sent or received
/// on a descriptor other than stdout, or a socket pair made (see
/// [`Stops::messages`]).
pub const TRACE_MESSAGE: u32 = 3;

/// The calls that move bytes through a socket or a pipe, or make a socket
/// pair, which stop at the tracer for a run that records messages: the
/// write family ([`TRACED`]) and the read family on any descriptor but 1,
/// and `socketpair`. The calls that move several messages at once
/// (`sendmmsg`, `recvmmsg`) stop too, so that the tracer knows where its
/// account of a socket is incomplete.
pub const MESSAGES: &[libc::c_long] = &[
    libc::SYS_read,
    libc::SYS_readv,
    libc::SYS_pread64,
    libc::SYS_preadv,
    libc::SYS_preadv2,
    libc::SYS_recvfrom,
    libc::SYS_recvmsg,
    libc::SYS_recvmmsg,
    libc::SYS_sendmmsg,
];

/// What the tracer is told a traced call is: a sleep (`nanosleep`,
/// `clock_nanosleep`), which it follows to its end (see
/// [`Stops::sleeps`]).
pub const TRACE_SLEEP: u32 = 4;

/// Calls that stop at the tracer besides the writes to stdout, for what a
/// run's facts need; none by default.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stops {
    /// `mmap` with `MAP_SHARED` in its flags: where shared memory appears
    /// in a process (a spawned child maps its values only once it has
    /// received them), to be watched from then on.
    pub shared_maps: bool,
    /// Every call of [`MESSAGES`] and [`TRACED`] on a descriptor other
    /// than 1, and `socketpair`: what crossed the socket pairs the run
    /// made (`trace/messages.rs`).
    pub messages: bool,
    /// `nanosleep` and `clock_nanosleep`: who is sleeping (and so will go
    /// on by itself) while the tracer holds a process.
    pub sleeps: bool,
}

#[cfg(target_arch = "x86_64")]
const ARCH: TargetArch = TargetArch::x86_64;
#[cfg(target_arch = "aarch64")]
const ARCH: TargetArch = TargetArch::aarch64;

/// The filters to install, in order. `traced`: whether writes stop at the
/// tracer (a filter that asks for a tracer where there is none makes
/// every write fail, so untraced runs do not have that one), and with
/// them the calls of `stops` (in a filter of their own, with their own
/// answer: no call is in two trace filters, so each gets one answer).
pub fn filters(traced: bool, stops: Stops) -> Vec<BpfProgram> {
    let every = |calls: &[libc::c_long]| -> BTreeMap<i64, Vec<SeccompRule>> {
        calls.iter().map(|&call| (call, Vec::new())).collect()
    };
    let on_stdout = |calls: &[libc::c_long]| -> BTreeMap<i64, Vec<SeccompRule>> {
        calls
            .iter()
            .map(|&call| (call, vec![argument_is(0, STDOUT)]))
            .collect()
    };
    let mut refused = every(REFUSED);
    refused.insert(libc::SYS_clone, clone_rules());
    refused.insert(
        libc::SYS_prctl,
        PRCTL_REFUSED
            .iter()
            .map(|&option| argument_is(0, u64::from(option.unsigned_abs())))
            .collect(),
    );
    let mut not_there = every(NOT_THERE);
    not_there.extend(on_stdout(NOT_THERE_ON_STDOUT));
    let mut filters = Vec::new();
    if let Some(guard) = x32_guard() {
        filters.push(guard);
    }
    if traced {
        filters.push(compile(
            on_stdout(TRACED),
            SeccompAction::Trace(TRACE_WRITE),
        ));
        if stops.shared_maps {
            let shared = u64::from(libc::MAP_SHARED.unsigned_abs());
            let condition = SeccompCondition::new(
                3,
                SeccompCmpArgLen::Dword,
                SeccompCmpOp::MaskedEq(shared),
                shared,
            )
            .expect("argument 3 exists");
            let rule = SeccompRule::new(vec![condition]).expect("one condition");
            filters.push(compile(
                BTreeMap::from([(libc::SYS_mmap, vec![rule])]),
                SeccompAction::Trace(TRACE_MAP),
            ));
        }
        if stops.messages {
            // Not on descriptor 1, which the writes' filter has: each call
            // is in one trace filter only.
            let elsewhere =
                SeccompCondition::new(0, SeccompCmpArgLen::Dword, SeccompCmpOp::Ne, STDOUT)
                    .expect("the argument exists");
            let mut rules: BTreeMap<i64, Vec<SeccompRule>> = TRACED
                .iter()
                .chain(MESSAGES)
                .map(|&call| {
                    let rule = SeccompRule::new(vec![elsewhere.clone()]).expect("one condition");
                    (call, vec![rule])
                })
                .collect();
            rules.insert(libc::SYS_socketpair, Vec::new());
            filters.push(compile(rules, SeccompAction::Trace(TRACE_MESSAGE)));
        }
        if stops.sleeps {
            #[cfg(target_arch = "x86_64")]
            let sleeps = [libc::SYS_nanosleep, libc::SYS_clock_nanosleep];
            #[cfg(not(target_arch = "x86_64"))]
            let sleeps = [libc::SYS_clock_nanosleep];
            filters.push(compile(
                sleeps.into_iter().map(|call| (call, Vec::new())).collect(),
                SeccompAction::Trace(TRACE_SLEEP),
            ));
        }
    }
    filters.push(compile(
        not_there,
        SeccompAction::Errno(errno(libc::ENOSYS)),
    ));
    filters.push(compile(refused, SeccompAction::Errno(errno(libc::EPERM))));
    filters
}

/// A rule: argument `index`'s low 32 bits are `value` (a descriptor, or
/// an option: the kernel reads no more of either).
fn argument_is(index: u8, value: u64) -> SeccompRule {
    let condition = SeccompCondition::new(index, SeccompCmpArgLen::Dword, SeccompCmpOp::Eq, value)
        .expect("the argument exists");
    SeccompRule::new(vec![condition]).expect("one condition")
}

/// `clone` with any of [`CLONE_REFUSED`] in its flags (the first argument,
/// whose low word holds them all): a rule per flag, any of which matches.
fn clone_rules() -> Vec<SeccompRule> {
    CLONE_REFUSED
        .iter()
        .map(|&flag| {
            let flag = u64::from(flag.unsigned_abs());
            let condition = SeccompCondition::new(
                0,
                SeccompCmpArgLen::Dword,
                SeccompCmpOp::MaskedEq(flag),
                flag,
            )
            .expect("argument 0 exists");
            SeccompRule::new(vec![condition]).expect("one condition")
        })
        .collect()
}

/// A filter that answers `action` to the calls of `rules` and allows the
/// others.
fn compile(rules: BTreeMap<i64, Vec<SeccompRule>>, action: SeccompAction) -> BpfProgram {
    let filter =
        SeccompFilter::new(rules, SeccompAction::Allow, action, ARCH).expect("the actions differ");
    BpfProgram::try_from(filter).expect("a filter of a few dozen rules fits")
}

/// `errno` as a filter's return data.
fn errno(code: i32) -> u32 {
    code.unsigned_abs()
}

/// The x32 range refused with `ENOSYS`: on x86_64, a call whose number has
/// bit 30 set; everything else is left to the other filters (another
/// architecture is theirs to kill).
#[cfg(target_arch = "x86_64")]
fn x32_guard() -> Option<BpfProgram> {
    const X32_BIT: u32 = 0x4000_0000;
    const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;
    /// Offsets in `struct seccomp_data`.
    const NR: u32 = 0;
    const ARCH: u32 = 4;
    let load = (libc::BPF_LD | libc::BPF_W | libc::BPF_ABS) as u16;
    let jeq = (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16;
    let jge = (libc::BPF_JMP | libc::BPF_JGE | libc::BPF_K) as u16;
    let ret = (libc::BPF_RET | libc::BPF_K) as u16;
    let op = |code, k, jt, jf| sock_filter { code, jt, jf, k };
    Some(vec![
        op(load, ARCH, 0, 0),
        // Another architecture: 2 on, to ALLOW.
        op(jeq, AUDIT_ARCH_X86_64, 0, 2),
        op(load, NR, 0, 0),
        // Bit 30: 1 on, to ERRNO.
        op(jge, X32_BIT, 1, 0),
        op(ret, libc::SECCOMP_RET_ALLOW, 0, 0),
        op(
            ret,
            libc::SECCOMP_RET_ERRNO | (errno(libc::ENOSYS) & libc::SECCOMP_RET_DATA),
            0,
            0,
        ),
    ])
}

#[cfg(not(target_arch = "x86_64"))]
fn x32_guard() -> Option<BpfProgram> {
    None
}

#[cfg(test)]
mod tests;
