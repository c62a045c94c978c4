//! [`pipe`] and [`Connection`]: two connected ends that send values
//! between processes, like Python's `multiprocessing.Pipe()`; [`wait`] on
//! several at once; [`Listener`] and [`client`] to connect processes that
//! did not start each other, with an authentication key.
//!
//! An end is a `SOCK_SEQPACKET` socket (see `records`): a message arrives
//! whole or not at all, and a peer killed in the middle of one leaves no
//! torn message behind. An end reaches a child in a closure (fork) or as an
//! argument of [`Process::with_args`](crate::Process::with_args) (any start
//! method: see [`crossing`](crate::crossing) for how its descriptor
//! crosses).

mod listener;
mod wait;

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::time::Duration;

use nix::poll::{PollFd, PollFlags};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::records;

pub use listener::{Listener, client};
pub use wait::wait;

/// One end of a [`pipe`]: sends and receives whole serde values, or raw
/// bytes, like a Python `Connection`.
///
/// ```
/// let (parent, child) = common::pipe()?;
/// child.send(&(1u32, "one"))?;
/// assert_eq!(parent.recv::<(u32, String)>()?, (1, "one".to_owned()));
/// # Ok::<(), common::Error>(())
/// ```
#[derive(Debug, Serialize, Deserialize)]
pub struct Connection {
    #[serde(with = "crate::crossing")]
    socket: OwnedFd,
}

/// Two connected ends, each able to send to and receive from the other, like
/// `multiprocessing.Pipe()` (duplex). Give one end to a child, through
/// [`Process::with_args`](crate::Process::with_args) (any start method)
/// or a closure (fork).
///
/// ```
/// use common::{Connection, Process};
///
/// fn child(conn: Connection) {
///     conn.send(&"hello from the child").expect("the parent listens");
/// }
///
/// let (ours, theirs) = common::pipe()?;
/// let mut process = Process::with_args(child, theirs);
/// process.start()?;
/// assert_eq!(ours.recv::<String>()?, "hello from the child");
/// process.join()?;
/// # Ok::<(), common::Error>(())
/// ```
pub fn pipe() -> Result<(Connection, Connection)> {
    let (a, b) = records::pair()?;
    Ok((Connection { socket: a }, Connection { socket: b }))
}

impl Connection {
    /// An end made of a connected `SOCK_SEQPACKET` socket.
    pub(crate) fn from_socket(socket: OwnedFd) -> Connection {
        Connection { socket }
    }

    /// Another handle to the same end, to give to another process.
    ///
    /// ```
    /// let (a, b) = common::pipe()?;
    /// a.try_clone()?.send(&5u8)?;
    /// assert_eq!(b.recv::<u8>()?, 5);
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn try_clone(&self) -> Result<Connection> {
        let socket = self.socket.try_clone().map_err(|e| Error::os("dup", e))?;
        Ok(Connection { socket })
    }

    /// Sends `value` to the other end, like `Connection.send`; it arrives
    /// whole or not at all.
    ///
    /// ```
    /// let (a, b) = common::pipe()?;
    /// a.send(&vec![1, 2, 3])?;
    /// assert_eq!(b.recv::<Vec<i32>>()?, [1, 2, 3]);
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn send<T: Serialize + ?Sized>(&self, value: &T) -> Result<()> {
        let bytes = postcard::to_stdvec(value)
            .map_err(|e| Error::os("encode a message", std::io::Error::other(e)))?;
        self.send_bytes(&bytes)
    }

    /// Sends raw bytes, like `Connection.send_bytes`: the other end takes
    /// them with [`recv_bytes`](Connection::recv_bytes).
    ///
    /// ```
    /// let (a, b) = common::pipe()?;
    /// a.send_bytes(b"raw")?;
    /// assert_eq!(b.recv_bytes()?, b"raw");
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn send_bytes(&self, bytes: &[u8]) -> Result<()> {
        records::send_value(&self.socket, bytes, None).map(drop)
    }

    /// Waits for the next value from the other end, like `Connection.recv`.
    /// When every copy of the other end is closed (its process ended, say),
    /// returns [`Error::PipeClosed`], where Python raises `EOFError`.
    ///
    /// ```
    /// let (a, b) = common::pipe()?;
    /// drop(a);
    /// assert!(matches!(b.recv::<u32>(), Err(common::Error::PipeClosed)));
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn recv<T: DeserializeOwned>(&self) -> Result<T> {
        decode(&self.recv_bytes()?)
    }

    /// As [`recv`](Connection::recv), for at most `timeout`:
    /// [`Error::Timeout`] if no whole value came (a value half sent by a
    /// peer that stopped is then dropped).
    ///
    /// ```
    /// let (a, b) = common::pipe()?;
    /// assert!(b.recv_timeout::<u8>(std::time::Duration::from_millis(5)).is_err());
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn recv_timeout<T: DeserializeOwned>(&self, timeout: Duration) -> Result<T> {
        decode(&self.recv_bytes_timeout(timeout)?)
    }

    /// Waits for the next message as raw bytes, like
    /// `Connection.recv_bytes`.
    pub fn recv_bytes(&self) -> Result<Vec<u8>> {
        Ok(records::receive_value(&self.socket, None)?.expect("no deadline"))
    }

    /// As [`recv_bytes`](Connection::recv_bytes), for at most `timeout`:
    /// [`Error::Timeout`] if no whole message came.
    pub fn recv_bytes_timeout(&self, timeout: Duration) -> Result<Vec<u8>> {
        records::receive_value(&self.socket, crate::sys::deadline_in(timeout))?
            .ok_or(Error::Timeout(timeout))
    }

    /// Whether something (a message, or the end of the pipe) is ready to be
    /// received, waiting at most `timeout`, like `Connection.poll(timeout)`.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let (a, b) = common::pipe()?;
    /// assert!(!b.poll(Duration::ZERO)?);
    /// a.send(&1u8)?;
    /// assert!(b.poll(Duration::from_secs(1))?);
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn poll(&self, timeout: Duration) -> Result<bool> {
        let mut fds = [PollFd::new(self.socket.as_fd(), PollFlags::POLLIN)];
        crate::sys::poll_until_spinning(&mut fds, crate::sys::deadline_in(timeout))
            .map_err(|e| Error::os("poll a pipe", e))
    }
}

fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T> {
    postcard::from_bytes(bytes).map_err(|e| Error::os("decode a message", std::io::Error::other(e)))
}

impl AsFd for Connection {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.socket.as_fd()
    }
}
