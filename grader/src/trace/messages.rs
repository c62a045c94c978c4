//! What crossed the socket pairs a run made, by the kernel's account: each
//! message sent or received on one end of a pair, by which process, and
//! how many writes to stdout had been made when it returned.
//!
//! A `common::pipe` is a `SOCK_SEQPACKET` socket pair: each `sendmsg` on
//! one end is one record, and each `recvmsg` on the other end takes the
//! next record whole (or its first bytes, the rest dropped), in the order
//! they were sent. So for a run whose facts need it
//! ([`Tracer::record_messages`]), the run's filter stops at the tracer
//! `socketpair` and every call that moves bytes through a descriptor
//! other than stdout (`Stops::messages`):
//!
//! - at a `socketpair`'s exit, the tracer reads the two descriptors it
//!   made (from the caller's memory) and their sockets' inodes (in
//!   `/proc/TID/fd`), and pairs the two ends. Only `SOCK_SEQPACKET` pairs
//!   are followed: a byte stream has no records to match;
//! - at a call of the write or read family on an end of such a pair (by
//!   its inode, in `/proc/TID/fd`, whichever process holds it and however
//!   it got it), the call runs to its exit, where the tracer reads how
//!   many bytes it moved and copies them from the caller's memory
//!   ([`Message`]), noting how many writes to stdout were recorded by then;
//! - a call that moves several messages at once (`sendmmsg`,
//!   `recvmmsg`), or bytes past [`MESSAGES_CAP`], leaves that end's
//!   account incomplete ([`Events::messages_lost`]); the judge then takes
//!   nothing from that direction of the pair.
//!
//! For a run whose facts ask for a pool's answers ([`Tracer::follow_pipes`]),
//! the same calls on a pipe (`pipe:[INODE]` in `/proc/TID/fd`, whoever
//! made it) and on an end of a `SOCK_STREAM` socket pair the run made
//! (a spawned pool's workers talk through those) are followed too,
//! recorded by the pipe's or the socket's inode ([`Events::piped`], the
//! stream pairs in [`Events::streams`]): byte streams, judged by
//! `judge/returned.rs`. Their writes are recorded without their bytes,
//! their reads with the latest [`MESSAGES_CAP`] bytes read (a budget of
//! their own, the oldest let go first).
//!
//! The judge (`judge/data.rs`) matches the `k`-th record received on one
//! end with the `k`-th sent on its peer, which is what the kernel
//! delivered; the bytes received must begin the bytes sent, or the
//! direction is not used. What this does not see: a descriptor that is no
//! socket pair made by the run (a `pipe2`, a stream socket, a file), and
//! the order of two sends on one end by two tasks at once (their records
//! may then be matched wrongly, which only ever loses evidence).

use std::collections::HashMap;

use nix::sys::ptrace;
use nix::unistd::Pid;

use super::Tracer;
use super::events::{Events, Message};
use super::writes::{copy_moved, read_memory, syscall_info};
use crate::sandbox::seccomp::{MESSAGES, TRACE_MESSAGE, TRACED};

/// How many bytes of messages the tracer copies over a whole run.
pub const MESSAGES_CAP: usize = 1 << 20;

/// A call on its way to its exit.
#[derive(Debug, Clone, Copy)]
enum Call {
    /// `socketpair`, whose descriptors are written at its fourth argument.
    Pair { sockets: u64, kind: u64 },
    /// A call moving bytes through `end`, a socket of a pair, or a pipe.
    Moving {
        call: u64,
        args: [u64; 6],
        end: u64,
        sent: bool,
        pipe: bool,
    },
}

/// The socket pairs followed in a run, and the calls running on them.
#[derive(Debug, Default)]
pub(super) struct Messages {
    /// Each end of a pair made in the run (its inode), with its peer's.
    peers: HashMap<u64, u64>,
    /// Calls let run to their exit, by task.
    running: HashMap<Pid, Call>,
    /// Bytes copied so far.
    copied: usize,
    /// Whether calls on pipes and stream socket pairs are followed too.
    pipes: bool,
    /// Bytes received on pipes and stream pairs held now (a budget of
    /// their own, [`MESSAGES_CAP`]: the oldest are let go to hold new
    /// ones).
    piped_held: usize,
    /// The first of [`Events::piped`] whose bytes may still be held.
    piped_oldest: usize,
    /// Each end of a stream socket pair made in the run, with its peer's,
    /// when pipes are followed.
    streams: HashMap<u64, u64>,
}

/// What descriptor `fd` of task `tid` is, as `/proc/TID/fd` names it.
fn fd_link(tid: Pid, fd: u32) -> Option<String> {
    let link = crate::procfs::descriptor(tid, fd.into())?;
    link.into_os_string().into_string().ok()
}

/// The inode in `link` if it names a `kind` (`socket`, `pipe`):
/// `kind:[INODE]`.
fn inode(link: &str, kind: &str) -> Option<u64> {
    link.strip_prefix(kind)?
        .strip_prefix(":[")?
        .strip_suffix(']')?
        .parse()
        .ok()
}

/// The inode of the socket that descriptor `fd` of task `tid` is, if it is
/// one (`socket:[INODE]` in `/proc/TID/fd`).
fn socket_inode(tid: Pid, fd: u32) -> Option<u64> {
    inode(&fd_link(tid, fd)?, "socket")
}

/// Whether system call `call` is one of `calls`.
fn among(call: u64, calls: &[libc::c_long]) -> bool {
    calls
        .iter()
        .any(|&c| u64::try_from(c).is_ok_and(|c| c == call))
}

impl Messages {
    /// What a call stopped at its seccomp stop is to the tracer: a call to
    /// follow to its exit, or nothing (it goes on unread).
    fn called(&self, tid: Pid, call: u64, args: [u64; 6], events: &mut Events) -> Option<Call> {
        if among(call, &[libc::SYS_socketpair]) {
            return Some(Call::Pair {
                sockets: args[3],
                kind: args[1],
            });
        }
        // The kernel reads a descriptor as a 32-bit number.
        let link = fd_link(tid, args[0] as u32)?;
        let sent = among(call, TRACED) || among(call, &[libc::SYS_sendmmsg]);
        let stream = inode(&link, "socket").filter(|end| self.streams.contains_key(end));
        if self.pipes
            && let Some(pipe) = inode(&link, "pipe").or(stream)
        {
            // `sendmmsg` and `recvmmsg` take sockets only.
            return Some(Call::Moving {
                call,
                args,
                end: pipe,
                sent,
                pipe: true,
            });
        }
        let end = inode(&link, "socket")?;
        if !self.peers.contains_key(&end) {
            return None;
        }
        if among(call, &[libc::SYS_sendmmsg, libc::SYS_recvmmsg]) {
            events.messages_lost.insert((end, sent));
            return None;
        }
        debug_assert!(sent || among(call, MESSAGES));
        Some(Call::Moving {
            call,
            args,
            end,
            sent,
            pipe: false,
        })
    }
}

impl Tracer {
    /// Has the tracer record what crosses the socket pairs the run makes
    /// (see the module's docs); the run's filter must stop their calls.
    pub fn record_messages(&mut self) {
        self.messages.get_or_insert_with(Messages::default);
    }

    /// Has the tracer also record what crosses the run's pipes (see the
    /// module's docs); the run's filter must stop their calls, as for
    /// [`Tracer::record_messages`].
    pub fn follow_pipes(&mut self) {
        self.messages.get_or_insert_with(Messages::default).pipes = true;
    }

    /// At a seccomp stop: a call on a socket pair (or one that makes a
    /// pair) is let run to its exit, any other of the message stops goes
    /// on; `false` for a stop that is not a message stop.
    pub(super) fn message_called(&mut self, tid: Pid) -> bool {
        let Some(messages) = self.messages.as_mut() else {
            return false;
        };
        let Ok(info) = syscall_info(tid) else {
            return false;
        };
        if info.op != libc::PTRACE_SYSCALL_INFO_SECCOMP {
            return false;
        }
        // SAFETY: `op` says the `seccomp` member is the one filled in.
        let call = unsafe { info.u.seccomp };
        if call.ret_data != TRACE_MESSAGE {
            return false;
        }
        match messages.called(tid, call.nr, call.args, &mut self.events) {
            Some(followed) => {
                messages.running.insert(tid, followed);
                let _ = ptrace::syscall(tid, None);
            }
            None => {
                let _ = ptrace::cont(tid, None);
            }
        }
        true
    }

    /// At a system call's exit: if it was a call followed here, record
    /// what it made or moved; `false` for any other call.
    pub(super) fn message_returned(&mut self, tid: Pid) -> bool {
        let Some(call) = self
            .messages
            .as_mut()
            .and_then(|messages| messages.running.remove(&tid))
        else {
            return false;
        };
        let exit = syscall_info(tid)
            .ok()
            .filter(|info| info.op == libc::PTRACE_SYSCALL_INFO_EXIT)
            // SAFETY: `op` says the `exit` member is the one filled in.
            .map(|info| unsafe { info.u.exit })
            .filter(|exit| exit.is_error == 0);
        if let Some(exit) = exit {
            match call {
                Call::Pair { sockets, kind } => self.paired(tid, sockets, kind),
                Call::Moving {
                    call,
                    args,
                    end,
                    sent,
                    pipe,
                } => {
                    let moved = usize::try_from(exit.sval).unwrap_or(0);
                    self.moved(tid, (call, &args), (end, sent, pipe), moved);
                }
            }
        }
        if self.runs_on() {
            let _ = ptrace::cont(tid, None);
        }
        true
    }

    /// A `socketpair` of type `kind` returned, its descriptors at `sockets`
    /// in `tid`'s memory: pair their sockets, if they are records (or a
    /// byte stream, when pipes are followed).
    fn paired(&mut self, tid: Pid, sockets: u64, kind: u64) {
        // The type's low bits; the others are flags (SOCK_CLOEXEC, ...).
        let stream = kind & 0xf == libc::SOCK_STREAM as u64
            && self.messages.as_ref().is_some_and(|m| m.pipes);
        if kind & 0xf != libc::SOCK_SEQPACKET as u64 && !stream {
            return;
        }
        let bytes = read_memory(tid, sockets, 8);
        let Ok(bytes) = <[u8; 8]>::try_from(bytes) else {
            return;
        };
        let fd = |at: usize| u32::from_ne_bytes(bytes[at..at + 4].try_into().expect("4 bytes"));
        let (Some(a), Some(b)) = (socket_inode(tid, fd(0)), socket_inode(tid, fd(4))) else {
            return;
        };
        let Some(messages) = self.messages.as_mut() else {
            return;
        };
        if stream {
            messages.streams.insert(a, b);
            messages.streams.insert(b, a);
            self.events.streams.push((a, b));
            return;
        }
        messages.peers.insert(a, b);
        messages.peers.insert(b, a);
        self.events.pairs.push((a, b));
    }

    /// `moved` bytes went through `end` (a socket of a pair, or a
    /// `pipe`) in call `call` with `args` of task `tid`: record them,
    /// within [`MESSAGES_CAP`].
    fn moved(
        &mut self,
        tid: Pid,
        (call, args): (u64, &[u64; 6]),
        (end, sent, pipe): (u64, bool, bool),
        moved: usize,
    ) {
        let Some(messages) = self.messages.as_mut() else {
            return;
        };
        if moved == 0 {
            // The peer closed (a receive of nothing), or an empty record.
            return;
        }
        let pid = self.tasks.get(&tid).copied().unwrap_or(tid);
        if pipe {
            self.piped(tid, pid, (call, args), (end, sent), moved);
            return;
        }
        if messages.copied + moved > MESSAGES_CAP {
            self.events.messages_lost.insert((end, sent));
            return;
        }
        messages.copied += moved;
        let bytes = copy_moved(tid, call, args, moved);
        self.events.messages.push(Message {
            pid,
            end,
            sent,
            bytes,
            writes_before: self.events.writes.len(),
        });
    }

    /// `moved` bytes went through the pipe (or stream pair's end) `end` in
    /// call `call` with `args` of task `tid`, of process `pid`. A send is
    /// recorded without its bytes: who wrote on each end is what the judge
    /// asks of sends, and every send is kept, however much moved. What was
    /// received is copied within [`MESSAGES_CAP`] bytes held, the oldest
    /// let go first (the run's last answers are the ones printed; a
    /// warm-up that moved more before them must not crowd them out).
    fn piped(
        &mut self,
        tid: Pid,
        pid: Pid,
        (call, args): (u64, &[u64; 6]),
        (end, sent): (u64, bool),
        moved: usize,
    ) {
        let Some(messages) = self.messages.as_mut() else {
            return;
        };
        let mut message = Message {
            pid,
            end,
            sent,
            bytes: Vec::new(),
            writes_before: self.events.writes.len(),
        };
        if !sent {
            if moved > MESSAGES_CAP {
                self.events.piped_lost = true;
                return;
            }
            let bytes = copy_moved(tid, call, args, moved);
            while messages.piped_held + bytes.len() > MESSAGES_CAP {
                let oldest = &mut self.events.piped[messages.piped_oldest];
                messages.piped_held -= oldest.bytes.len();
                if !oldest.bytes.is_empty() {
                    self.events.piped_lost = true;
                }
                oldest.bytes = Vec::new();
                messages.piped_oldest += 1;
            }
            messages.piped_held += bytes.len();
            message.bytes = bytes;
        }
        self.events.piped.push(message);
    }

    /// Task `tid` is gone: its call, if one was followed, is over.
    pub(super) fn message_gone(&mut self, tid: Pid) {
        if let Some(messages) = self.messages.as_mut() {
            messages.running.remove(&tid);
        }
    }
}
