//! [`pipe`] and [`Connection`]: two connected ends that send values of one
//! type between processes, like Python's `multiprocessing.Pipe()`; [`wait`]
//! on several at once; [`Listener`] and [`client`] to connect processes
//! that did not start each other, over a Unix socket or TCP ([`Address`]),
//! with an authentication key.
//!
//! An end made by [`pipe`], or over a Unix socket, is a `SOCK_SEQPACKET`
//! socket (see `records`): a message arrives whole or not at all, and a
//! peer killed in the middle of one leaves no torn message behind. Over
//! TCP, messages go as frames that the reader keeps until they are whole
//! (see `stream.rs`). An end reaches a child in a closure (fork) or as an
//! argument of [`Process::with_args`](crate::Process::with_args) (any start
//! method: see [`crossing`](crate::crossing) for how its descriptor
//! crosses).
//!
//! # Types
//!
//! A [`Connection<T>`] sends and receives values of `T`, checked by the
//! compiler; a `Connection` (of [`Dynamic`]) sends and receives values of
//! any type, as Python's does. Either way, each message carries a tag of
//! the type it was sent as, so that a value read as another type (a
//! `Dynamic` end asked for the wrong one, a program that thinks the
//! connection carries something else, raw bytes) is [`Error::WrongType`],
//! never a wrong value.

mod address;
mod auth;
mod listener;
mod stream;
mod tag;
mod wait;

use std::marker::PhantomData;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::time::{Duration, Instant};

use nix::poll::{PollFd, PollFlags};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::{Error, Result};
use crate::records;
use stream::Stream;
use tag::tag;

pub use address::Address;
pub use listener::{Listener, client};
pub use wait::wait;

/// One end of a [`pipe`], or of a connection a [`Listener`] accepted:
/// sends and receives whole serde values, or raw bytes, like a Python
/// `Connection`. Both ends carry values of `T`; a `Connection` with no
/// type named (`Connection<Dynamic>`) carries values of any type, named
/// at each `send` and `recv`, as Python's carries any object.
///
/// ```
/// let (parent, child) = common::pipe::<(u32, String)>()?;
/// child.send(&(1, "one".to_owned()))?;
/// assert_eq!(parent.recv()?, (1, "one".to_owned()));
///
/// let (parent, child) = common::pipe::<common::Dynamic>()?;
/// child.send(&1u32)?;
/// child.send(&"two")?;
/// assert_eq!(parent.recv::<u32>()?, 1);
/// assert!(matches!(parent.recv::<u32>(), Err(common::Error::WrongType { .. })));
/// # Ok::<(), common::Error>(())
/// ```
pub struct Connection<T = Dynamic> {
    socket: Socket,
    types: PhantomData<fn(T) -> T>,
}

/// The type of a [`Connection`] whose values may be of any type, named at
/// each [`send`](Connection::send) and [`recv`](Connection::recv) and
/// checked on arrival, as Python's `Connection` carries any object: a
/// `Connection` with no type named. It has no values itself.
#[derive(Debug, Clone, Copy)]
pub enum Dynamic {}

/// What a connection's messages go through.
#[derive(Debug)]
enum Socket {
    /// A `SOCK_SEQPACKET` socket: messages as records.
    Records(OwnedFd),
    /// A TCP socket: messages as frames.
    Stream(Stream),
}

/// Two connected ends, each able to send to and receive from the other, like
/// `multiprocessing.Pipe()` (duplex). Give one end to a child, through
/// [`Process::with_args`](crate::Process::with_args) (any start method)
/// or a closure (fork).
///
/// ```
/// use common::{Connection, Process};
///
/// fn child(conn: Connection<String>) {
///     conn.send(&"hello from the child".to_owned()).expect("the parent listens");
/// }
///
/// let (ours, theirs) = common::pipe()?;
/// let mut process = Process::with_args(child, theirs);
/// process.start()?;
/// assert_eq!(ours.recv()?, "hello from the child");
/// process.join()?;
/// # Ok::<(), common::Error>(())
/// ```
pub fn pipe<T>() -> Result<(Connection<T>, Connection<T>)> {
    let (a, b) = records::pair()?;
    Ok((
        Connection::of(Socket::Records(a)),
        Connection::of(Socket::Records(b)),
    ))
}

impl<T> Connection<T> {
    fn of(socket: Socket) -> Connection<T> {
        Connection {
            socket,
            types: PhantomData,
        }
    }

    /// An end made of a connected `SOCK_SEQPACKET` socket.
    pub(crate) fn from_records(socket: OwnedFd) -> Connection<T> {
        Connection::of(Socket::Records(socket))
    }

    /// An end made of a connected TCP socket (non-blocking).
    pub(crate) fn from_stream(socket: OwnedFd) -> Connection<T> {
        Connection::of(Socket::Stream(Stream::new(socket)))
    }

    /// Another handle to the same end, to give to another process.
    ///
    /// ```
    /// let (a, b) = common::pipe::<u8>()?;
    /// a.try_clone()?.send(&5)?;
    /// assert_eq!(b.recv()?, 5);
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn try_clone(&self) -> Result<Connection<T>> {
        let dup = |fd: &OwnedFd| fd.try_clone().map_err(|e| Error::os("dup", e));
        Ok(Connection::of(match &self.socket {
            Socket::Records(fd) => Socket::Records(dup(fd)?),
            Socket::Stream(stream) => Socket::Stream(Stream::new(dup(&stream.socket)?)),
        }))
    }

    /// Sends raw bytes, like `Connection.send_bytes`: the other end takes
    /// them with [`recv_bytes`](Connection::recv_bytes).
    ///
    /// ```
    /// let (a, b) = common::pipe::<()>()?;
    /// a.send_bytes(b"raw")?;
    /// assert_eq!(b.recv_bytes()?, b"raw");
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn send_bytes(&self, bytes: &[u8]) -> Result<()> {
        match &self.socket {
            Socket::Records(fd) => records::send_value(fd, bytes, None).map(drop),
            Socket::Stream(stream) => stream.send(bytes),
        }
    }

    /// Waits for the next message as raw bytes, like
    /// `Connection.recv_bytes`.
    pub fn recv_bytes(&self) -> Result<Vec<u8>> {
        Ok(self.recv_bytes_by(None)?.expect("no deadline"))
    }

    /// As [`recv_bytes`](Connection::recv_bytes), for at most `timeout`:
    /// [`Error::Timeout`] if no whole message came.
    pub fn recv_bytes_timeout(&self, timeout: Duration) -> Result<Vec<u8>> {
        self.recv_bytes_by(crate::sys::deadline_in(timeout))?
            .ok_or(Error::Timeout(timeout))
    }

    fn recv_bytes_by(&self, deadline: Option<Instant>) -> Result<Option<Vec<u8>>> {
        match &self.socket {
            Socket::Records(fd) => records::receive_value(fd, deadline),
            Socket::Stream(stream) => stream.receive(deadline, usize::MAX),
        }
    }

    /// The next message as raw bytes within `timeout`, if it is at most
    /// `longest` bytes (over TCP, a longer one is refused before it is
    /// read): for a peer not trusted yet.
    pub(crate) fn recv_bytes_limited(&self, longest: usize, timeout: Duration) -> Result<Vec<u8>> {
        let deadline = crate::sys::deadline_in(timeout);
        let message = match &self.socket {
            Socket::Records(fd) => records::receive_value(fd, deadline)?,
            Socket::Stream(stream) => stream.receive(deadline, longest)?,
        }
        .ok_or(Error::Timeout(timeout))?;
        if message.len() > longest {
            return Err(Error::os(
                "receive a message",
                std::io::Error::new(std::io::ErrorKind::InvalidData, "a message too long"),
            ));
        }
        Ok(message)
    }

    /// Whether something (a message, or the end of the connection) is
    /// ready to be received, waiting at most `timeout`, like
    /// `Connection.poll(timeout)`.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let (a, b) = common::pipe::<u8>()?;
    /// assert!(!b.poll(Duration::ZERO)?);
    /// a.send(&1u8)?;
    /// assert!(b.poll(Duration::from_secs(1))?);
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn poll(&self, timeout: Duration) -> Result<bool> {
        let mut fds = [PollFd::new(self.as_fd(), PollFlags::POLLIN)];
        crate::sys::poll_until_spinning(&mut fds, crate::sys::deadline_in(timeout))
            .map_err(|e| Error::os("poll a connection", e))
    }

    /// Sends `value`, of any type, tagged as that type.
    pub(crate) fn send_as<U: Serialize + ?Sized>(&self, value: &U) -> Result<()> {
        let message = postcard::to_extend(value, tag::<U>().to_le_bytes().to_vec())
            .map_err(|e| Error::os("encode a message", std::io::Error::other(e)))?;
        self.send_bytes(&message)
    }

    /// A value of type `U` if one has begun to arrive (`None` at once if
    /// not, consuming nothing), its rest waited for by `rest_deadline`.
    pub(crate) fn try_recv_as<U: DeserializeOwned>(
        &self,
        rest_deadline: Option<Instant>,
    ) -> Result<Option<U>> {
        let bytes = match &self.socket {
            Socket::Records(fd) => records::try_receive_value(fd, rest_deadline)?,
            // A frame begun is kept for the next call (see `stream.rs`).
            Socket::Stream(stream) => stream.receive(Some(Instant::now()), usize::MAX)?,
        };
        bytes.map(|bytes| decode::<U>(&bytes)).transpose()
    }

    /// Receives a value of type `U` by `deadline`.
    pub(crate) fn recv_as<U: DeserializeOwned>(
        &self,
        deadline: Option<Instant>,
    ) -> Result<Option<U>> {
        self.recv_bytes_by(deadline)?
            .map(|bytes| decode::<U>(&bytes))
            .transpose()
    }
}

impl<T: Serialize + DeserializeOwned> Connection<T> {
    /// Sends `value` to the other end, like `Connection.send`; it arrives
    /// whole or not at all.
    ///
    /// ```
    /// let (a, b) = common::pipe::<Vec<i32>>()?;
    /// a.send(&vec![1, 2, 3])?;
    /// assert_eq!(b.recv()?, [1, 2, 3]);
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn send(&self, value: &T) -> Result<()> {
        self.send_as(value)
    }

    /// Waits for the next value from the other end, like `Connection.recv`.
    /// When every copy of the other end is closed (its process ended, say),
    /// returns [`Error::PipeClosed`], where Python raises `EOFError`; a
    /// message that is not a `T` is [`Error::WrongType`].
    ///
    /// ```
    /// let (a, b) = common::pipe::<u32>()?;
    /// drop(a);
    /// assert!(matches!(b.recv(), Err(common::Error::PipeClosed)));
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn recv(&self) -> Result<T> {
        Ok(self.recv_as(None)?.expect("no deadline"))
    }

    /// As [`recv`](Connection::recv), for at most `timeout`:
    /// [`Error::Timeout`] if no whole value came (a value half sent by a
    /// peer that stopped is then dropped, or, over TCP, kept until the
    /// rest comes).
    ///
    /// ```
    /// let (a, b) = common::pipe::<u8>()?;
    /// assert!(b.recv_timeout(std::time::Duration::from_millis(5)).is_err());
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn recv_timeout(&self, timeout: Duration) -> Result<T> {
        self.recv_as(crate::sys::deadline_in(timeout))?
            .ok_or(Error::Timeout(timeout))
    }
}

impl Connection<Dynamic> {
    /// Sends `value`, of any type, like `Connection.send`; the receiver
    /// must ask for the same type.
    ///
    /// ```
    /// let (a, b) = common::pipe::<common::Dynamic>()?;
    /// a.send(&"text")?;
    /// assert_eq!(b.recv::<String>()?, "text");
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn send<U: Serialize + ?Sized>(&self, value: &U) -> Result<()> {
        self.send_as(value)
    }

    /// Waits for the next value, which must be a `U`, like
    /// `Connection.recv`: [`Error::WrongType`] if it was sent as another
    /// type (it is then consumed), [`Error::PipeClosed`] at the end.
    pub fn recv<U: DeserializeOwned>(&self) -> Result<U> {
        Ok(self.recv_as(None)?.expect("no deadline"))
    }

    /// As [`recv`](Connection::recv), for at most `timeout`.
    pub fn recv_timeout<U: DeserializeOwned>(&self, timeout: Duration) -> Result<U> {
        self.recv_as(crate::sys::deadline_in(timeout))?
            .ok_or(Error::Timeout(timeout))
    }
}

/// How many bytes a message's type tag takes, before the value (a
/// `u64`, little-endian: see `tag.rs`).
pub(crate) const TAG_BYTES: usize = 8;

/// `bytes` read as a tagged `U`: the tag must be `U`'s (see `tag.rs`),
/// and the value take every byte that follows it.
fn decode<U: DeserializeOwned>(bytes: &[u8]) -> Result<U> {
    let expected = std::any::type_name::<U>();
    let wrong = |why: String| Error::WrongType { expected, why };
    let Some((head, body)) = bytes.split_first_chunk::<TAG_BYTES>() else {
        return Err(wrong("the message is too short to be a value".to_owned()));
    };
    if u64::from_le_bytes(*head) != tag::<U>() {
        return Err(wrong(
            "it was sent as another type, or as raw bytes".to_owned(),
        ));
    }
    match postcard::take_from_bytes::<U>(body) {
        Ok((value, [])) => Ok(value),
        Ok((_, rest)) => Err(wrong(format!("{} bytes were left over", rest.len()))),
        Err(error) => Err(wrong(error.to_string())),
    }
}

impl<T> AsFd for Connection<T> {
    fn as_fd(&self) -> BorrowedFd<'_> {
        match &self.socket {
            Socket::Records(fd) => fd.as_fd(),
            Socket::Stream(stream) => stream.socket.as_fd(),
        }
    }
}

impl<T> std::fmt::Debug for Connection<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("fd", &self.as_fd())
            .field("tcp", &matches!(self.socket, Socket::Stream(_)))
            .finish()
    }
}

/// How an end crosses to a child: whether it is TCP, and its descriptor
/// (see `crossing`). Over TCP, a frame half read stays with this handle.
#[derive(Deserialize)]
struct Crossing {
    tcp: bool,
    #[serde(with = "crate::crossing")]
    socket: OwnedFd,
}

impl<T> Serialize for Connection<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        // The descriptor is duplicated as it is encoded (see `crossing`).
        let borrowed = self.as_fd();
        CrossingRef {
            tcp: matches!(self.socket, Socket::Stream(_)),
            socket: borrowed,
        }
        .serialize(serializer)
    }
}

/// [`Crossing`], encoded from a borrowed descriptor.
#[derive(Serialize)]
struct CrossingRef<'a> {
    tcp: bool,
    #[serde(with = "crate::crossing")]
    socket: BorrowedFd<'a>,
}

impl<'de, T> Deserialize<'de> for Connection<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        let crossing = Crossing::deserialize(deserializer)?;
        Ok(if crossing.tcp {
            Connection::from_stream(crossing.socket)
        } else {
            Connection::from_records(crossing.socket)
        })
    }
}
