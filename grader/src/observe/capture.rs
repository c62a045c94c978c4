//! A run's output: a socket (stdout) or a pipe (stderr) per stream, and a
//! thread per stream that reads it into memory, so that what it read is
//! kept even if the stream never closes.
//!
//! The program's stdout is the end of a socket pair, not a pipe: a pipe can
//! be opened again through `/proc/self/fd/1`, for reading too, and a program
//! could then read its children's lines back out before the grader saw
//! them; `/proc` cannot open a socket, and the program's end is shut for
//! reading, so the program can only write to it. The tracer knows it by
//! the name `/proc/PID/fd` gives it (`socket:[INODE]`). Stderr, which no
//! verdict rests on, stays a pipe: a socket costs the writer a buffer per
//! write, and a program that writes a million short lines to stderr runs
//! two to three times as long into a socket.

use std::fs::File;
use std::io::Read;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::sync::{Arc, Mutex, PoisonError, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use nix::sys::socket::{AddressFamily, Shutdown, SockFlag, SockType, shutdown, socketpair};

use crate::error::Error;

/// One output stream: the end the grader reads, the end the program
/// writes to, and that end's name in `/proc/PID/fd`.
pub(super) struct Channel {
    pub(super) ours: File,
    pub(super) theirs: OwnedFd,
    pub(super) name: String,
}

/// Stdout: a socket pair, shut so that bytes go only from the program to
/// the grader.
pub(super) fn socket() -> Result<Channel, Error> {
    let (ours, theirs) = socketpair(
        AddressFamily::Unix,
        SockType::Stream,
        None,
        SockFlag::SOCK_CLOEXEC,
    )
    .map_err(|e| Error::os("socketpair", e))?;
    shutdown(theirs.as_raw_fd(), Shutdown::Read).map_err(|e| Error::os("shutdown", e))?;
    Ok(channel(ours, theirs, "socket"))
}

/// Stderr: a pipe.
pub(super) fn pipe() -> Result<Channel, Error> {
    let (ours, theirs) =
        nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(|e| Error::os("pipe", e))?;
    Ok(channel(ours, theirs, "pipe"))
}

fn channel(ours: OwnedFd, theirs: OwnedFd, kind: &str) -> Channel {
    let inode = nix::sys::stat::fstat(theirs.as_fd()).map_or(0, |stat| stat.st_ino);
    Channel {
        ours: File::from(ours),
        theirs,
        name: format!("{kind}:[{inode}]"),
    }
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
pub(super) fn capture(mut stream: impl Read + Send + 'static) -> Capture {
    let captured = Arc::new(Mutex::new(Captured::default()));
    let (tx, done) = mpsc::channel();
    let shared = Arc::clone(&captured);
    thread::spawn(move || {
        let mut buffer = [0u8; 64 * 1024];
        while let Ok(n) = stream.read(&mut buffer) {
            if n == 0 {
                break;
            }
            let mut captured = shared.lock().unwrap_or_else(PoisonError::into_inner);
            let room = OUTPUT_CAP.saturating_sub(captured.bytes.len());
            captured.bytes.extend_from_slice(&buffer[..n.min(room)]);
            captured.total += n as u64;
        }
        drop(tx);
    });
    Capture { captured, done }
}

impl Capture {
    /// Whether the pipe closes within `wait` (or already has).
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
