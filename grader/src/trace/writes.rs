//! Who wrote what: a call of the write family stopped by the run's filter
//! (`PTRACE_EVENT_SECCOMP`) is let run to its exit when it writes to an
//! output pipe; then the bytes it wrote are copied from the writer's
//! memory (`process_vm_readv`) and recorded with the writer's process.

use nix::sys::ptrace;
use nix::unistd::Pid;

use super::{Stream, Tracer, Written};

/// How many bytes of output the tracer copies, over a whole run; beyond
/// it, writes are let through unread (the output check then fails on the
/// size anyway).
const WRITTEN_CAP: usize = 1 << 20;

/// A write stopped at its seccomp stop, let run to its exit.
#[derive(Debug, Clone, Copy)]
pub(super) struct Pending {
    stream: Stream,
    call: u64,
    args: [u64; 6],
}

impl Tracer {
    /// A call of the write family stopped at entry: if it writes to an
    /// output pipe, let it run to its exit, where it is read.
    pub(super) fn write_called(&mut self, tid: Pid) {
        let stream = syscall_info(tid).ok().and_then(|info| {
            if info.op != libc::PTRACE_SYSCALL_INFO_SECCOMP {
                return None;
            }
            // SAFETY: `op` says the `seccomp` member is the one filled in.
            let call = unsafe { info.u.seccomp };
            let stream = self.output(tid, call.args[0])?;
            self.pending.insert(
                tid,
                Pending {
                    stream,
                    call: call.nr,
                    args: call.args,
                },
            );
            Some(stream)
        });
        let _ = match stream {
            Some(_) => ptrace::syscall(tid, None),
            None => ptrace::cont(tid, None),
        };
    }

    /// Which output pipe descriptor `fd` of task `tid` is, if any.
    fn output(&self, tid: Pid, fd: u64) -> Option<Stream> {
        let link = std::fs::read_link(format!("/proc/{tid}/fd/{fd}")).ok()?;
        let link = link.to_str()?;
        let inode: u64 = link
            .strip_prefix("pipe:[")?
            .strip_suffix(']')?
            .parse()
            .ok()?;
        self.outputs
            .iter()
            .find(|(ino, _)| *ino == inode)
            .map(|(_, stream)| *stream)
    }

    /// A write to an output pipe returned: copy what it wrote.
    pub(super) fn write_returned(&mut self, tid: Pid) {
        if let Some(pending) = self.pending.remove(&tid)
            && let Ok(info) = syscall_info(tid)
            && info.op == libc::PTRACE_SYSCALL_INFO_EXIT
        {
            // SAFETY: `op` says the `exit` member is the one filled in.
            let exit = unsafe { info.u.exit };
            let written = usize::try_from(exit.sval).unwrap_or(0);
            if exit.is_error == 0 && written > 0 && self.copied < WRITTEN_CAP {
                let bytes = copy_written(tid, &pending, written.min(WRITTEN_CAP - self.copied));
                self.copied += bytes.len();
                let pid = self.tasks.get(&tid).copied().unwrap_or(tid);
                self.events.writes.push(Written {
                    pid,
                    stream: pending.stream,
                    bytes,
                });
            }
        }
        if self.runs_on() {
            let _ = ptrace::cont(tid, None);
        }
    }
}

/// `PTRACE_GET_SYSCALL_INFO` for task `tid`, stopped at a system call.
/// (nix's wrapper passes a size of 0, so the kernel fills in nothing.)
fn syscall_info(tid: Pid) -> Result<libc::ptrace_syscall_info, nix::errno::Errno> {
    let mut info = std::mem::MaybeUninit::<libc::ptrace_syscall_info>::zeroed();
    let size = std::mem::size_of::<libc::ptrace_syscall_info>();
    // SAFETY: the kernel writes at most `size` bytes into `info`, which is
    // that large and zeroed, so every byte is initialized afterwards.
    let filled = unsafe {
        libc::ptrace(
            libc::PTRACE_GET_SYSCALL_INFO,
            tid.as_raw(),
            size as *mut libc::c_void,
            info.as_mut_ptr(),
        )
    };
    if filled <= 0 {
        return Err(nix::errno::Errno::last());
    }
    // SAFETY: zeroed, then filled in by the kernel.
    Ok(unsafe { info.assume_init() })
}

/// The `len` bytes a write call of task `tid` wrote, from its memory: one
/// buffer for `write` and `pwrite64`, an array of buffers for the others.
fn copy_written(tid: Pid, call: &Pending, len: usize) -> Vec<u8> {
    use nix::sys::uio::{RemoteIoVec, process_vm_readv};
    let read = |base: u64, len: usize| -> Vec<u8> {
        let mut bytes = vec![0u8; len];
        let remote = [RemoteIoVec {
            base: usize::try_from(base).unwrap_or(0),
            len,
        }];
        let got = process_vm_readv(tid, &mut [std::io::IoSliceMut::new(&mut bytes)], &remote)
            .unwrap_or(0);
        bytes.truncate(got);
        bytes
    };
    let single = [libc::SYS_write, libc::SYS_pwrite64]
        .iter()
        .any(|&c| u64::try_from(c).is_ok_and(|c| c == call.call));
    if single {
        return read(call.args[1], len);
    }
    // An array of (base, len) pairs, 16 bytes each.
    let count = usize::try_from(call.args[2]).unwrap_or(0).min(1024);
    let array = read(call.args[1], count * 16);
    let mut bytes = Vec::with_capacity(len);
    for pair in array.chunks_exact(16) {
        if bytes.len() >= len {
            break;
        }
        let base = u64::from_ne_bytes(pair[..8].try_into().expect("8 bytes"));
        let size = usize::try_from(u64::from_ne_bytes(pair[8..].try_into().expect("8 bytes")))
            .unwrap_or(0);
        bytes.extend(read(base, size.min(len - bytes.len())));
    }
    bytes
}
