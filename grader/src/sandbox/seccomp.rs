//! The seccomp filter every graded program runs under.
//!
//! A classic BPF program, checked by the kernel at each system call:
//!
//! - the write family (`write`, `writev`, `pwrite64`, `pwritev`,
//!   `pwritev2`) stops at the tracer (`SECCOMP_RET_TRACE`), which reads what
//!   was written to the output pipes and by which process: that is how a
//!   line is attributed to the process that printed it. Untraced, they are
//!   allowed;
//! - ways around that attribution or around the tracer are refused:
//!   `sendfile`, `splice`, `vmsplice`, `tee` and `copy_file_range` with
//!   `ENOSYS` (Rust's std then falls back to `write`), `io_uring_setup`,
//!   and `clone` with `CLONE_UNTRACED` or a namespace flag with `EPERM`,
//!   `clone3` with `ENOSYS` (glibc then uses `clone`, whose flags the
//!   filter can see);
//! - what could reach outside the sandbox is refused with `EPERM`:
//!   `ptrace`, `process_vm_writev`, `mount` and its kin, `unshare`,
//!   `setns`, `chroot`, `bpf`, `perf_event_open`, keys, modules, `kexec`,
//!   `reboot`, swap, `userfaultfd`;
//! - a system call of another architecture (32-bit calls on x86_64) is
//!   refused, so that no number can slip past the checks above.

/// A filter instruction, as `struct sock_filter`.
type Instruction = libc::sock_filter;

const LD_W_ABS: u16 = (libc::BPF_LD | libc::BPF_W | libc::BPF_ABS) as u16;
const JEQ_K: u16 = (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16;
const JGE_K: u16 = (libc::BPF_JMP | libc::BPF_JGE | libc::BPF_K) as u16;
const JSET_K: u16 = (libc::BPF_JMP | libc::BPF_JSET | libc::BPF_K) as u16;
const RET_K: u16 = (libc::BPF_RET | libc::BPF_K) as u16;

/// Offsets in `struct seccomp_data`.
const NR: u32 = 0;
const ARCH: u32 = 4;
const ARG0_LOW: u32 = 16;

#[cfg(target_arch = "x86_64")]
const AUDIT_ARCH: u32 = 0xc000_003e;
#[cfg(target_arch = "aarch64")]
const AUDIT_ARCH: u32 = 0xc000_00b7;

/// What the tracer is told a traced call is: a write to attribute.
pub const TRACE_WRITE: u16 = 1;

fn stmt(code: u16, k: u32) -> Instruction {
    Instruction {
        code,
        jt: 0,
        jf: 0,
        k,
    }
}

fn jump(code: u16, k: u32, jt: u8, jf: u8) -> Instruction {
    Instruction { code, jt, jf, k }
}

fn errno(code: i32) -> u32 {
    libc::SECCOMP_RET_ERRNO | (code.unsigned_abs() & libc::SECCOMP_RET_DATA)
}

fn nr(call: libc::c_long) -> u32 {
    u32::try_from(call).expect("system call numbers are small")
}

/// The write family, which the tracer attributes.
pub fn write_calls() -> [libc::c_long; 5] {
    [
        libc::SYS_write,
        libc::SYS_writev,
        libc::SYS_pwrite64,
        libc::SYS_pwritev,
        libc::SYS_pwritev2,
    ]
}

/// The filter's instructions. `traced`: whether writes stop at the tracer
/// (a filter that asks for a tracer where there is none makes every write
/// fail).
pub fn program(traced: bool) -> Vec<Instruction> {
    let write = if traced {
        libc::SECCOMP_RET_TRACE | u32::from(TRACE_WRITE)
    } else {
        libc::SECCOMP_RET_ALLOW
    };
    let mut rules: Vec<(libc::c_long, u32)> = write_calls().iter().map(|&c| (c, write)).collect();
    for call in [
        libc::SYS_sendfile,
        libc::SYS_splice,
        libc::SYS_vmsplice,
        libc::SYS_tee,
        libc::SYS_copy_file_range,
        libc::SYS_clone3,
        libc::SYS_io_uring_setup,
    ] {
        rules.push((call, errno(libc::ENOSYS)));
    }
    for call in [
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
    ] {
        rules.push((call, errno(libc::EPERM)));
    }
    let mut filter = vec![
        stmt(LD_W_ABS, ARCH),
        jump(JEQ_K, AUDIT_ARCH, 1, 0),
        stmt(RET_K, libc::SECCOMP_RET_KILL_PROCESS),
        stmt(LD_W_ABS, NR),
    ];
    #[cfg(target_arch = "x86_64")]
    {
        // x32 system calls carry this bit; none is wanted.
        filter.push(jump(JGE_K, 0x4000_0000, 0, 1));
        filter.push(stmt(RET_K, errno(libc::ENOSYS)));
    }
    for (call, action) in rules {
        filter.push(jump(JEQ_K, nr(call), 0, 1));
        filter.push(stmt(RET_K, action));
    }
    // clone: its flags are the first argument.
    let refused = u32::try_from(
        libc::CLONE_UNTRACED
            | libc::CLONE_NEWUSER
            | libc::CLONE_NEWPID
            | libc::CLONE_NEWNET
            | libc::CLONE_NEWNS
            | libc::CLONE_NEWIPC
            | libc::CLONE_NEWUTS
            | libc::CLONE_NEWCGROUP,
    )
    .expect("flags in the low word");
    filter.push(jump(JEQ_K, nr(libc::SYS_clone), 0, 3));
    filter.push(stmt(LD_W_ABS, ARG0_LOW));
    filter.push(jump(JSET_K, refused, 0, 1));
    filter.push(stmt(RET_K, errno(libc::EPERM)));
    filter.push(stmt(RET_K, libc::SECCOMP_RET_ALLOW));
    filter
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_jump_lands_inside_the_program() {
        for traced in [true, false] {
            let filter = program(traced);
            for (i, insn) in filter.iter().enumerate() {
                if insn.code & 0x07 == libc::BPF_JMP as u16 {
                    assert!(i + 1 + usize::from(insn.jt.max(insn.jf)) < filter.len());
                }
            }
            assert_eq!(
                filter.last().map(|i| (i.code, i.k)),
                Some((RET_K, libc::SECCOMP_RET_ALLOW))
            );
        }
    }
}
