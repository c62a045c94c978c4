//! The processor's debug registers of a stopped task, shared by the
//! watches that need them (`values.rs`, `puts.rs`): x86-64 has four, each
//! watching 8 bytes for writes or for any access.

use nix::unistd::Pid;

/// How many debug registers a task has.
pub const REGISTERS: usize = 4;

/// What a debug register watches at its address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Access {
    /// Writes only.
    Write,
    /// Reads and writes.
    Any,
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    //! By `PTRACE_PEEKUSER` and `PTRACE_POKEUSER` at their place in
    //! `struct user`.

    use nix::sys::ptrace;
    use nix::unistd::Pid;

    use super::{Access, REGISTERS};

    /// `offsetof(struct user, u_debugreg)` on x86-64.
    const DEBUGREG: usize = 848;

    fn offset(register: usize) -> ptrace::AddressType {
        (DEBUGREG + 8 * register) as ptrace::AddressType
    }

    /// Register `i` watches the 8 bytes at the `i`-th of `watches` in task
    /// `tid` (the first [`REGISTERS`]), the others nothing.
    pub(in super::super) fn arm(tid: Pid, watches: &[(u64, Access)]) -> bool {
        let mut control: i64 = 0;
        for (i, &(address, access)) in watches.iter().take(REGISTERS).enumerate() {
            let rw = match access {
                Access::Write => 0b01,
                Access::Any => 0b11,
            };
            // Enabled (L bit); RW; LEN 10 = 8 bytes.
            control |= 1 << (2 * i) | rw << (16 + 4 * i) | 0b10 << (18 + 4 * i);
            if ptrace::write_user(tid, offset(i), address as i64).is_err() {
                return false;
            }
        }
        ptrace::write_user(tid, offset(7), control).is_ok()
    }

    /// Which registers stopped task `tid` (bit `i`: register `i`),
    /// cleared for the next.
    pub(in super::super) fn hit(tid: Pid) -> u64 {
        let status = ptrace::read_user(tid, offset(6)).unwrap_or(0) as u64;
        if status & 0b1111 != 0 {
            let _ = ptrace::write_user(tid, offset(6), 0);
        }
        status & 0b1111
    }
}

#[cfg(target_arch = "x86_64")]
pub(super) use x86::{arm, hit};

/// No debug registers are set on this architecture: nothing is watched
/// (the report says so).
#[cfg(not(target_arch = "x86_64"))]
pub(super) fn arm(_: Pid, _: &[(u64, Access)]) -> bool {
    false
}

/// No register ever stops a task here.
#[cfg(not(target_arch = "x86_64"))]
pub(super) fn hit(_: Pid) -> u64 {
    0
}

/// Every task of process `pid`, as each has registers of its own.
pub(super) fn tasks_of(pid: Pid) -> Vec<Pid> {
    std::fs::read_dir(format!("/proc/{pid}/task"))
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse().ok())
        .map(Pid::from_raw)
        .collect()
}
