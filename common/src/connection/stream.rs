//! Messages on a TCP connection: a byte stream, so each message goes as a
//! frame, its length (8 bytes, little-endian) then its bytes.
//!
//! A stream has no records to keep a message whole (see `records` for the
//! Unix sockets), so the reader does: it keeps what it has read of a frame
//! until the frame is whole, and hands over only whole messages. A reader
//! that gives up at its deadline in the middle of a frame keeps the part
//! it has for its next call; a writer that dies in the middle of a frame
//! leaves a connection that reads as closed, never a torn message. A frame
//! is read into memory as its bytes come (in steps of at most [`STEP`]),
//! so a peer that announces an enormous length costs only what it really
//! sends.

use std::io::IoSlice;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::sync::{Mutex, PoisonError};
use std::time::Instant;

use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags};
use nix::sys::socket::{MsgFlags, recv, sendmsg};

use crate::error::{Error, Result};

/// How many bytes say a frame's length.
const LENGTH: usize = 8;

/// The most a frame's buffer grows by before those bytes have come.
const STEP: usize = 1 << 20;

/// A connected TCP socket (non-blocking), and the frame being read.
#[derive(Debug)]
pub(super) struct Stream {
    pub(super) socket: OwnedFd,
    /// What has come of the next frame: its length, then its first bytes.
    partial: Mutex<Vec<u8>>,
}

impl Stream {
    pub(super) fn new(socket: OwnedFd) -> Stream {
        Stream {
            socket,
            partial: Mutex::new(Vec::new()),
        }
    }

    /// Sends `message` as one frame, however long it takes.
    pub(super) fn send(&self, message: &[u8]) -> Result<()> {
        let length = (message.len() as u64).to_le_bytes();
        let total = LENGTH + message.len();
        let mut sent = 0;
        while sent < total {
            let pieces = if sent < LENGTH {
                [IoSlice::new(&length[sent..]), IoSlice::new(message)]
            } else {
                [IoSlice::new(&[]), IoSlice::new(&message[sent - LENGTH..])]
            };
            match sendmsg::<()>(
                self.socket.as_raw_fd(),
                &pieces,
                &[],
                MsgFlags::MSG_NOSIGNAL,
                None,
            ) {
                Ok(n) => sent += n,
                Err(Errno::EAGAIN | Errno::EINTR) => {
                    self.ready(PollFlags::POLLOUT, None)?;
                }
                Err(Errno::EPIPE | Errno::ECONNRESET) => return Err(Error::PipeClosed),
                Err(e) => return Err(Error::os("send a message", e)),
            }
        }
        Ok(())
    }

    /// Receives the next whole message by `deadline` (`None`: however long
    /// it takes); `None` if the deadline passed first. A frame longer than
    /// `longest` is an error, found before its bytes are read.
    pub(super) fn receive(
        &self,
        deadline: Option<Instant>,
        longest: usize,
    ) -> Result<Option<Vec<u8>>> {
        let mut partial = self.partial.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            let wanted = match partial.get(..LENGTH) {
                None => LENGTH,
                Some(length) => {
                    let length = u64::from_le_bytes(length.try_into().expect("8 bytes"));
                    let length = usize::try_from(length).unwrap_or(usize::MAX);
                    if length > longest {
                        partial.clear();
                        return Err(Error::os(
                            "receive a message",
                            std::io::Error::new(
                                std::io::ErrorKind::InvalidData,
                                format!("a message of {length} bytes, above {longest}"),
                            ),
                        ));
                    }
                    LENGTH.saturating_add(length)
                }
            };
            if partial.len() >= LENGTH && partial.len() == wanted {
                let message = partial.split_off(LENGTH);
                partial.clear();
                return Ok(Some(message));
            }
            let have = partial.len();
            let step = (wanted - have).min(STEP);
            partial.resize(have + step, 0);
            let got = recv(
                self.socket.as_raw_fd(),
                &mut partial[have..],
                MsgFlags::empty(),
            );
            match got {
                Ok(0) => {
                    // The peer closed; a frame it had begun is dropped.
                    partial.clear();
                    return Err(Error::PipeClosed);
                }
                Ok(n) => partial.truncate(have + n),
                Err(Errno::EAGAIN | Errno::EINTR) => {
                    partial.truncate(have);
                    if !self.ready(PollFlags::POLLIN, deadline)? {
                        return Ok(None);
                    }
                }
                Err(Errno::ECONNRESET) => {
                    partial.clear();
                    return Err(Error::PipeClosed);
                }
                Err(e) => {
                    partial.truncate(have);
                    return Err(Error::os("receive a message", e));
                }
            }
        }
    }

    /// Waits until the socket is ready for `events`, by `deadline`.
    fn ready(&self, events: PollFlags, deadline: Option<Instant>) -> Result<bool> {
        let mut fds = [PollFd::new(self.socket.as_fd(), events)];
        crate::sys::poll_until_spinning(&mut fds, deadline)
            .map_err(|e| Error::os("poll a socket", e))
    }
}
