//! Messages as records on a `SOCK_SEQPACKET` socket, under every
//! [`Queue`](crate::Queue) and [`Connection`](crate::Connection): the
//! kernel delivers a record whole or not at all, so a message never
//! arrives torn, even when its writer is killed in the middle of sending.
//!
//! A message larger than one record goes as several, each with a flag byte
//! (`FIRST`, `LAST`); a queue's writer holds its write lock meanwhile. If
//! the writer dies (or its timed send gives up) before the last, the reader
//! drops the partial message when the next one's first record comes, and
//! drops stray tails that begin with no first record: the channel stays
//! usable and loses only the torn message. A reader that gives up at its
//! deadline in the middle of a message drops it the same way.

use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::time::Instant;

use nix::errno::Errno;
use nix::sys::socket::{MsgFlags, recv, send};

use crate::error::{Error, Result};

/// The largest record's payload.
pub(crate) const RECORD: usize = 32 * 1024;

const FIRST: u8 = 1;
const LAST: u8 = 2;

/// A connected pair of `SOCK_SEQPACKET` sockets: (read end, write end).
pub(crate) fn pair() -> Result<(OwnedFd, OwnedFd)> {
    use nix::sys::socket::{AddressFamily, SockFlag, SockType, socketpair};
    socketpair(
        AddressFamily::Unix,
        SockType::SeqPacket,
        None,
        SockFlag::SOCK_CLOEXEC | SockFlag::SOCK_NONBLOCK,
    )
    .map_err(|e| Error::os("socketpair", e))
}

/// Sends `value` as records by `deadline` (`None`: however long it
/// takes). `false` if the deadline passed first (a value cut short is
/// dropped by its reader).
pub(crate) fn send_value(to: &OwnedFd, value: &[u8], deadline: Option<Instant>) -> Result<bool> {
    let mut chunks = value.chunks(RECORD).peekable();
    let mut first = true;
    let mut record = Vec::with_capacity(RECORD + 1);
    loop {
        let chunk = chunks.next().unwrap_or_default();
        let last = chunks.peek().is_none();
        record.clear();
        record.push((u8::from(first) * FIRST) | (u8::from(last) * LAST));
        record.extend_from_slice(chunk);
        loop {
            match send(to.as_fd().as_raw_fd(), &record, MsgFlags::MSG_NOSIGNAL) {
                Ok(_) => break,
                Err(Errno::EAGAIN | Errno::EINTR) => {
                    if !writable(to, deadline)? {
                        return Ok(false);
                    }
                }
                Err(e) => return Err(Error::os("send a message", e)),
            }
        }
        if last {
            return Ok(true);
        }
        first = false;
    }
}

/// Receives one whole value by `deadline` (`None`: however long it
/// takes); `None` if the deadline passed first.
pub(crate) fn receive_value(from: &OwnedFd, deadline: Option<Instant>) -> Result<Option<Vec<u8>>> {
    let mut value: Option<Vec<u8>> = None;
    let mut record = vec![0u8; RECORD + 1];
    loop {
        let len = match recv(from.as_fd().as_raw_fd(), &mut record, MsgFlags::empty()) {
            Ok(0) => return Err(Error::PipeClosed),
            Ok(len) => len,
            Err(Errno::EAGAIN | Errno::EINTR) => {
                if !readable(from, deadline)? {
                    return Ok(None);
                }
                continue;
            }
            Err(e) => return Err(Error::os("receive a message", e)),
        };
        let flags = record[0];
        if flags & FIRST != 0 {
            // A partial value before it was torn: dropped.
            value = Some(Vec::new());
        }
        // A tail with no first record belongs to a torn value: dropped.
        if let Some(value) = value.as_mut() {
            value.extend_from_slice(&record[1..len]);
        }
        if flags & LAST != 0
            && let Some(value) = value.take()
        {
            return Ok(Some(value));
        }
    }
}

fn readable(fd: &OwnedFd, deadline: Option<Instant>) -> Result<bool> {
    ready(fd, deadline, nix::poll::PollFlags::POLLIN)
}

fn writable(fd: &OwnedFd, deadline: Option<Instant>) -> Result<bool> {
    ready(fd, deadline, nix::poll::PollFlags::POLLOUT)
}

/// Waits until `fd` is ready for `events`, by `deadline`.
fn ready(fd: &OwnedFd, deadline: Option<Instant>, events: nix::poll::PollFlags) -> Result<bool> {
    let mut fds = [nix::poll::PollFd::new(fd.as_fd(), events)];
    crate::sys::poll_until(&mut fds, deadline).map_err(|e| Error::os("poll a socket", e))
}
