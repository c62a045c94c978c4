//! [`pipe`]: two connected ends that send serde values between processes,
//! like Python's `multiprocessing.Pipe()`. An end reaches a child in a
//! closure (fork) or as an argument of
//! [`Process::with_args`](crate::Process::with_args) (either start method:
//! see [`crossing`](crate::crossing) for how its descriptor crosses).

use std::os::fd::AsFd;
use std::os::unix::net::UnixStream;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::frame;

/// One end of a [`pipe`]: sends and receives whole serde values, like a
/// Python `Connection`.
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
    stream: UnixStream,
}

/// Two connected ends, each able to send to and receive from the other, like
/// `multiprocessing.Pipe()` (duplex). Give one end to a child, through
/// [`Process::with_args`](crate::Process::with_args) (either start method)
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
    let (a, b) = UnixStream::pair().map_err(|e| Error::os("socketpair", e))?;
    Ok((Connection { stream: a }, Connection { stream: b }))
}

impl Connection {
    /// Another handle to the same end, to give to another process.
    ///
    /// ```
    /// let (a, b) = common::pipe()?;
    /// a.try_clone()?.send(&5u8)?;
    /// assert_eq!(b.recv::<u8>()?, 5);
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn try_clone(&self) -> Result<Connection> {
        let stream = self.stream.try_clone().map_err(|e| Error::os("dup", e))?;
        Ok(Connection { stream })
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
        frame::write(&mut &self.stream, value).map_err(|e| Error::os("send on a pipe", e))
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
        match frame::read(&mut &self.stream) {
            Ok(Some(value)) => Ok(value),
            Ok(None) => Err(Error::PipeClosed),
            Err(e) => Err(Error::os("receive on a pipe", e)),
        }
    }

    /// Whether a value (or the end of the pipe) is ready to be received,
    /// waiting at most `timeout`, like `Connection.poll(timeout)`.
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
        crate::sys::readable(self.stream.as_fd(), timeout).map_err(|e| Error::os("poll a pipe", e))
    }
}

impl AsFd for Connection {
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.stream.as_fd()
    }
}
