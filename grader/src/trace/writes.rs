//! Who wrote what to the run's standard output, in the order the bytes
//! reached it.
//!
//! The run's filter stops every call of the write family whose descriptor
//! is 1 (by its low 32 bits, which is all the kernel reads of it) at the
//! tracer (`PTRACE_EVENT_SECCOMP`). When that descriptor is the run's
//! stdout (the socket's inode, in `/proc/TID/fd/1`), the call is let run to
//! its exit (`PTRACE_SYSCALL`), where the tracer reads how many bytes it
//! wrote and copies them from the writer's memory (`process_vm_readv`).
//!
//! # One write at a time
//!
//! Only one such write is let run at a time: a second writer waits at its
//! seccomp stop until the first has returned. So the writes are recorded
//! in the very order their bytes entered the socket, and the judge can
//! check that the bytes read from stdout are exactly the bytes recorded,
//! one after the other: a byte that reached stdout by any other route
//! (another descriptor number, AIO, a call the filter does not stop) shows
//! as a difference, and so does a buffer changed after the kernel took it.
//! A writer never waits long: the grader reads the socket without pause.
//!
//! Past [`WRITTEN_CAP`] bytes the writes are let through unread (the output
//! check fails on the size then anyway).
//!
//! # What the main process's writes carry
//!
//! When the main process writes, the tracer notes, with the writer still
//! stopped before the call, which of its child processes had not been
//! reaped, and which of those were still running (any thread alive, in
//! `/proc`): the evidence that a final line came, or did not come, after
//! the children ended and were joined.

use std::collections::VecDeque;

use nix::sys::ptrace;
use nix::unistd::Pid;

use super::{Taken, Tracer, Unjoined, Written};
use crate::procfs;

/// How many bytes of stdout the tracer copies over a whole run.
pub const WRITTEN_CAP: usize = 1 << 20;

/// A write to stdout stopped at its seccomp stop.
#[derive(Debug, Clone)]
pub(super) struct Pending {
    pub(super) tid: Pid,
    call: u64,
    args: [u64; 6],
    /// The main process's unjoined children when it made the call.
    unjoined: Vec<Unjoined>,
    /// What it had taken out of queues then (when they are followed).
    taken: Vec<Taken>,
}

/// The writes to stdout on their way: the one running, the ones waiting.
#[derive(Debug, Default)]
pub(super) struct Queue {
    running: Option<Pending>,
    waiting: VecDeque<Pending>,
    /// Bytes copied so far.
    copied: usize,
}

impl Queue {
    /// Forgets task `tid`, which is gone: if its write was running, the
    /// next may run (returned, to be let go).
    pub(super) fn gone(&mut self, tid: Pid) -> Option<Pid> {
        self.waiting.retain(|p| p.tid != tid);
        if self.running.as_ref().is_some_and(|p| p.tid == tid) {
            self.running = None;
            return self.next();
        }
        None
    }

    /// Lets the next waiting write run; its task, to be let go.
    fn next(&mut self) -> Option<Pid> {
        let next = self.waiting.pop_front()?;
        let tid = next.tid;
        self.running = Some(next);
        Some(tid)
    }
}

impl Tracer {
    /// A call of the write family stopped at entry: if it writes to the
    /// run's stdout, let it run to its exit (or wait its turn), where it is
    /// read.
    pub(super) fn write_called(&mut self, tid: Pid) {
        let call = syscall_info(tid).ok().and_then(|info| {
            if info.op != libc::PTRACE_SYSCALL_INFO_SECCOMP {
                return None;
            }
            // SAFETY: `op` says the `seccomp` member is the one filled in.
            let call = unsafe { info.u.seccomp };
            // The kernel reads a descriptor as a 32-bit number.
            let fd = call.args[0] as u32;
            self.is_stdout(tid, fd).then_some(call)
        });
        let Some(call) = call else {
            let _ = ptrace::cont(tid, None);
            return;
        };
        if self.queue.copied >= WRITTEN_CAP {
            self.events.over_copy_cap = true;
            let _ = ptrace::cont(tid, None);
            return;
        }
        let pid = self.tasks.get(&tid).copied().unwrap_or(tid);
        let unjoined = if pid == self.main {
            self.unjoined_children()
        } else {
            Vec::new()
        };
        let taken = self.taken_by(tid, pid);
        let pending = Pending {
            tid,
            call: call.nr,
            args: call.args,
            unjoined,
            taken,
        };
        if !self.hold_write(pid, &pending) {
            self.queue_write(pending);
        }
    }

    /// Lets a write to stdout run now, or once those before it have.
    pub(super) fn queue_write(&mut self, pending: Pending) {
        if self.queue.running.is_none() {
            let tid = pending.tid;
            self.queue.running = Some(pending);
            if self.runs_on() {
                let _ = ptrace::syscall(tid, None);
            }
        } else {
            self.queue.waiting.push_back(pending);
        }
    }

    /// Whether descriptor `fd` of task `tid` is the run's stdout.
    fn is_stdout(&self, tid: Pid, fd: u32) -> bool {
        std::fs::read_link(format!("/proc/{tid}/fd/{fd}"))
            .is_ok_and(|link| link.as_os_str() == self.stdout.as_str())
    }

    /// The main process's children not yet reaped, and whether each is
    /// still running, as `/proc` shows them now.
    fn unjoined_children(&self) -> Vec<Unjoined> {
        self.events
            .children_of(self.main)
            .filter_map(|child| {
                let exists = std::path::Path::new(&format!("/proc/{}", child.pid)).exists();
                let running = procfs::alive(child.pid);
                // Its pid taken by another process after it ended and was
                // reaped: reaped.
                let reused = child.exit.is_some() && running;
                (exists && !reused).then_some(Unjoined {
                    pid: child.pid,
                    running,
                })
            })
            .collect()
    }

    /// A write to stdout returned: copy what it wrote, and let the next
    /// one run.
    pub(super) fn write_returned(&mut self, tid: Pid) {
        let running = self.queue.running.take_if(|p| p.tid == tid);
        if let Some(pending) = running
            && let Ok(info) = syscall_info(tid)
            && info.op == libc::PTRACE_SYSCALL_INFO_EXIT
        {
            // SAFETY: `op` says the `exit` member is the one filled in.
            let exit = unsafe { info.u.exit };
            let written = usize::try_from(exit.sval).unwrap_or(0);
            if exit.is_error == 0 && written > 0 {
                let room = WRITTEN_CAP - self.queue.copied;
                let bytes = copy_moved(tid, pending.call, &pending.args, written.min(room));
                self.queue.copied += written.min(room);
                if written > room {
                    self.events.over_copy_cap = true;
                }
                let pid = self.tasks.get(&tid).copied().unwrap_or(tid);
                self.events.writes.push(Written {
                    pid,
                    bytes,
                    unjoined: pending.unjoined,
                    taken: pending.taken,
                });
            }
        }
        if self.queue.running.is_none()
            && let Some(next) = self.queue.next()
            && self.runs_on()
        {
            let _ = ptrace::syscall(next, None);
        }
        if self.runs_on() {
            let _ = ptrace::cont(tid, None);
        }
    }

    /// Task `tid` is gone: its write, if it had one, is over.
    pub(super) fn write_gone(&mut self, tid: Pid) {
        if let Some(next) = self.queue.gone(tid)
            && self.runs_on()
        {
            let _ = ptrace::syscall(next, None);
        }
    }
}

/// `PTRACE_GET_SYSCALL_INFO` for task `tid`, stopped at a system call.
/// (nix's wrapper passes a size of 0, so the kernel fills in nothing.)
pub(super) fn syscall_info(tid: Pid) -> Result<libc::ptrace_syscall_info, nix::errno::Errno> {
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

/// Whether task `tid` is at a seccomp stop the run's filter made with
/// return data `data` (which says what kind of call it stopped).
pub(super) fn stopped_for(tid: Pid, data: u32) -> bool {
    syscall_info(tid).is_ok_and(|info| {
        // SAFETY: at a seccomp stop the `seccomp` member is filled in.
        info.op == libc::PTRACE_SYSCALL_INFO_SECCOMP && unsafe { info.u.seccomp.ret_data } == data
    })
}

/// Reads `len` bytes at `base` in task `tid`'s memory (fewer where its
/// memory ends).
pub(super) fn read_memory(tid: Pid, base: u64, len: usize) -> Vec<u8> {
    use nix::sys::uio::{RemoteIoVec, process_vm_readv};
    let mut bytes = vec![0u8; len];
    let remote = [RemoteIoVec {
        base: usize::try_from(base).unwrap_or(0),
        len,
    }];
    let got =
        process_vm_readv(tid, &mut [std::io::IoSliceMut::new(&mut bytes)], &remote).unwrap_or(0);
    bytes.truncate(got);
    bytes
}

/// The `len` bytes a call of task `tid` moved, from its memory: one
/// buffer for `write`, `pwrite64`, `sendto`, `read`, `pread64` and
/// `recvfrom`, an array of buffers for the vectored calls, and the array a
/// `sendmsg` or `recvmsg` header points to. `call` and `args` are the
/// call's number and arguments, as its seccomp stop gave them.
pub(super) fn copy_moved(tid: Pid, call: u64, args: &[u64; 6], len: usize) -> Vec<u8> {
    let is = |numbers: &[libc::c_long]| {
        numbers
            .iter()
            .any(|&c| u64::try_from(c).is_ok_and(|c| c == call))
    };
    if is(&[
        libc::SYS_write,
        libc::SYS_pwrite64,
        libc::SYS_sendto,
        libc::SYS_read,
        libc::SYS_pread64,
        libc::SYS_recvfrom,
    ]) {
        return read_memory(tid, args[1], len);
    }
    let (vectors, count) = if is(&[libc::SYS_sendmsg, libc::SYS_recvmsg]) {
        // struct msghdr: name, namelen, iov (at 16), iovlen (at 24).
        let header = read_memory(tid, args[1], 32);
        if header.len() < 32 {
            return Vec::new();
        }
        let word = |at: usize| u64::from_ne_bytes(header[at..at + 8].try_into().expect("8 bytes"));
        (word(16), word(24))
    } else {
        (args[1], args[2])
    };
    // An array of (base, len) pairs, 16 bytes each.
    let count = usize::try_from(count).unwrap_or(0).min(1024);
    let array = read_memory(tid, vectors, count * 16);
    let mut bytes = Vec::with_capacity(len);
    for pair in array.chunks_exact(16) {
        if bytes.len() >= len {
            break;
        }
        let base = u64::from_ne_bytes(pair[..8].try_into().expect("8 bytes"));
        let size = usize::try_from(u64::from_ne_bytes(pair[8..].try_into().expect("8 bytes")))
            .unwrap_or(0);
        bytes.extend(read_memory(tid, base, size.min(len - bytes.len())));
    }
    bytes
}
