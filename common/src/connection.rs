//! [`pipe`]: two connected ends that send serde values between processes,
//! like Python's `multiprocessing.Pipe()`.
//!
//! # How an end reaches a child
//!
//! Under fork the child is a copy of the parent and has every end already.
//! Under spawn the child is a new run of the binary, so an end passed in
//! [`Process::with_args`](crate::Process::with_args) crosses as its file
//! descriptor: while the arguments are encoded, each [`Connection`] in them
//! is duplicated and replaced by its position in a list; the list goes to
//! the child beside the encoded arguments (`SCM_RIGHTS` on the socket that
//! starts it, as Python's spawn duplicates handles for its children), and
//! the child's decoding takes each descriptor back by position. An end
//! encoded anywhere else (in a pool task, say) is refused with a clear
//! error, since no descriptor could go with it.

use std::cell::RefCell;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::time::Duration;

use serde::de::{DeserializeOwned, Error as _};
use serde::ser::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

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
#[derive(Debug)]
pub struct Connection {
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
        use nix::poll::{PollFd, PollFlags, PollTimeout};
        let millis = u16::try_from(timeout.as_millis()).unwrap_or(u16::MAX);
        let mut fds = [PollFd::new(self.stream.as_fd(), PollFlags::POLLIN)];
        nix::poll::poll(&mut fds, PollTimeout::from(millis))
            .map(|ready| ready > 0)
            .map_err(|e| Error::os("poll a pipe", e))
    }
}

thread_local! {
    /// While arguments for a spawned child are encoded: the descriptors of
    /// the connections met so far.
    static OUTGOING: RefCell<Option<Vec<OwnedFd>>> = const { RefCell::new(None) };
    /// While a spawned child decodes its arguments: the descriptors that
    /// came with them, each taken once.
    static INCOMING: RefCell<Vec<Option<OwnedFd>>> = const { RefCell::new(Vec::new()) };
    /// Why the last connection was refused, which postcard's error drops.
    static REFUSED: std::cell::Cell<Option<&'static str>> = const { std::cell::Cell::new(None) };
}

/// Why the last attempt to encode a connection outside
/// [`Process::with_args`](crate::Process::with_args) failed, once.
pub(crate) fn take_refusal() -> Option<&'static str> {
    REFUSED.take()
}

/// What encoding a connection anywhere else says.
const REFUSAL: &str = "a Connection can cross to a child only as an argument of Process::with_args";

/// Runs `encode`, collecting a duplicate of every connection it serializes.
pub(crate) fn collect_fds<R>(encode: impl FnOnce() -> R) -> (R, Vec<OwnedFd>) {
    let previous = OUTGOING.replace(Some(Vec::new()));
    let result = encode();
    let fds = OUTGOING.replace(previous).unwrap_or_default();
    (result, fds)
}

/// Makes `fds` the descriptors that connections decoded from now on take.
pub(crate) fn install_fds(fds: Vec<OwnedFd>) {
    INCOMING.set(fds.into_iter().map(Some).collect());
}

impl Serialize for Connection {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let index = OUTGOING.with_borrow_mut(|outgoing| {
            let Some(list) = outgoing.as_mut() else {
                REFUSED.set(Some(REFUSAL));
                return Err(S::Error::custom(REFUSAL));
            };
            let fd = self
                .stream
                .as_fd()
                .try_clone_to_owned()
                .map_err(|e| S::Error::custom(format!("cannot duplicate a pipe: {e}")))?;
            list.push(fd);
            Ok(list.len() - 1)
        })?;
        serializer.serialize_u64(index as u64)
    }
}

impl<'de> Deserialize<'de> for Connection {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Connection, D::Error> {
        let index = usize::try_from(u64::deserialize(deserializer)?)
            .map_err(|_| D::Error::custom("a pipe's position is out of range"))?;
        let fd = INCOMING
            .with_borrow_mut(|incoming| incoming.get_mut(index).and_then(Option::take))
            .ok_or_else(|| D::Error::custom("no descriptor came with this pipe"))?;
        Ok(Connection {
            stream: UnixStream::from(fd),
        })
    }
}

impl AsFd for Connection {
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.stream.as_fd()
    }
}
