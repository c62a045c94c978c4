//! A run's output: a socket per stream (stdout, stderr), and a thread per
//! stream that reads it into memory, so that what it read is kept even if
//! the stream never closes.
//!
//! Each stream is the end of a socket pair, not a pipe: a pipe can be
//! opened again through `/proc/self/fd/1`, for reading too, and a program
//! could then read its children's lines back out before the grader saw
//! them; `/proc` cannot open a socket, and the program's end is shut for
//! reading, so the program can only write to it. The tracer knows stdout by
//! the name `/proc/PID/fd` gives it (`socket:[INODE]`).
//!
//! The grader's end asks the kernel for each sender's credentials
//! (`SO_PASSCRED`): every byte read comes with the process that wrote it,
//! as the kernel recorded it at the write (a process can name only itself),
//! and the kernel never hands one read bytes of two writers. So stderr,
//! whose writes are not traced (a program may write a million lines to it),
//! is accounted for byte by byte at no cost per write beyond the socket's.

use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::sync::{Arc, Mutex, PoisonError, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::socket::{
    AddressFamily, ControlMessageOwned, MsgFlags, Shutdown, SockFlag, SockType, recvmsg,
    setsockopt, shutdown, socketpair, sockopt,
};
use nix::unistd::Pid;

use crate::error::Error;

/// One output stream: the end the grader reads, the end the program
/// writes to, and that end's name in `/proc/PID/fd`.
pub(super) struct Channel {
    pub(super) ours: OwnedFd,
    pub(super) theirs: OwnedFd,
    pub(super) name: String,
}

/// A socket pair, shut so that bytes go only from the program to the
/// grader, whose end is told who sent each byte.
pub(super) fn socket() -> Result<Channel, Error> {
    let (ours, theirs) = socketpair(
        AddressFamily::Unix,
        SockType::Stream,
        None,
        SockFlag::SOCK_CLOEXEC,
    )
    .map_err(|e| Error::os("socketpair", e))?;
    shutdown(theirs.as_raw_fd(), Shutdown::Read).map_err(|e| Error::os("shutdown", e))?;
    setsockopt(&ours, sockopt::PassCred, &true).map_err(|e| Error::os("setsockopt", e))?;
    let inode = nix::sys::stat::fstat(theirs.as_fd()).map_or(0, |stat| stat.st_ino);
    Ok(Channel {
        ours,
        theirs,
        name: format!("socket:[{inode}]"),
    })
}

/// How much of each output stream is kept; the rest is read and counted.
pub const OUTPUT_CAP: usize = 1 << 20;

/// Output captured from one stream.
#[derive(Debug, Clone, Default)]
pub struct Captured {
    /// The first [`OUTPUT_CAP`] bytes.
    pub bytes: Vec<u8>,
    /// How many bytes were written in all.
    pub total: u64,
    /// Who wrote them, by the kernel's account, in order: consecutive
    /// bytes of one process make one entry. A process the kernel could not
    /// name to the grader (one outside its view) is given as pid 0.
    pub writers: Vec<Wrote>,
}

/// A run of bytes of one stream that one process wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Wrote {
    /// The process (its thread group's id).
    pub pid: Pid,
    /// How many bytes.
    pub bytes: u64,
}

impl Captured {
    /// The kept bytes as text, with invalid UTF-8 replaced.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }
}

/// A thread reading one output stream.
pub(super) struct Capture {
    captured: Arc<Mutex<Captured>>,
    done: mpsc::Receiver<()>,
}

/// Starts reading `stream` on a thread of its own.
pub(super) fn capture(stream: OwnedFd) -> Capture {
    let captured = Arc::new(Mutex::new(Captured::default()));
    let (tx, done) = mpsc::channel();
    let shared = Arc::clone(&captured);
    thread::spawn(move || {
        let mut buffer = vec![0u8; 64 * 1024];
        while let Ok((n, pid)) = receive(&stream, &mut buffer) {
            if n == 0 {
                break;
            }
            let mut captured = shared.lock().unwrap_or_else(PoisonError::into_inner);
            let room = OUTPUT_CAP.saturating_sub(captured.bytes.len());
            captured.bytes.extend_from_slice(&buffer[..n.min(room)]);
            captured.total += n as u64;
            let pid = pid.unwrap_or(Pid::from_raw(0));
            match captured.writers.last_mut() {
                Some(last) if last.pid == pid => last.bytes += n as u64,
                _ => captured.writers.push(Wrote {
                    pid,
                    bytes: n as u64,
                }),
            }
        }
        drop(tx);
    });
    Capture { captured, done }
}

/// Reads what one writer sent next: how many bytes, and who sent them.
/// The room given for control messages holds the sender's credentials
/// only, so descriptors a program sends along are never installed here:
/// the kernel closes them (`MSG_CTRUNC`).
fn receive(stream: &OwnedFd, buffer: &mut [u8]) -> nix::Result<(usize, Option<Pid>)> {
    loop {
        let mut iov = [std::io::IoSliceMut::new(buffer)];
        let mut space = nix::cmsg_space!(libc::ucred);
        let message = match recvmsg::<()>(
            stream.as_raw_fd(),
            &mut iov,
            Some(&mut space),
            MsgFlags::MSG_CMSG_CLOEXEC,
        ) {
            Err(Errno::EINTR) => continue,
            other => other?,
        };
        let pid = message.cmsgs()?.find_map(|control| match control {
            ControlMessageOwned::ScmCredentials(creds) => Some(Pid::from_raw(creds.pid())),
            _ => None,
        });
        return Ok((message.bytes, pid));
    }
}

impl Capture {
    /// Whether every writer of the socket has closed it within `wait` (or already has).
    pub(super) fn closed_within(&self, wait: Duration) -> bool {
        matches!(
            self.done.recv_timeout(wait),
            Err(mpsc::RecvTimeoutError::Disconnected)
        )
    }

    /// What was read, once the socket closes or `by` has come (a stray
    /// process may hold it open; its reader is abandoned).
    pub(super) fn collect(self, by: Instant) -> Captured {
        self.closed_within(by.saturating_duration_since(Instant::now()));
        self.captured
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}
