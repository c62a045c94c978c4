//! [`Listener`] and [`client`]: connections between processes that did not
//! start each other, over a Unix socket with a path or over TCP, checked
//! with a shared authentication key (see `auth.rs`), like
//! `multiprocessing.connection.Listener` and `Client`.

use std::net::{TcpListener, TcpStream};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::path::Path;
use std::time::Duration;

use nix::sys::socket::{
    AddressFamily, Backlog, SockFlag, SockType, UnixAddr, accept4, bind, connect, listen, socket,
};

use super::Connection;
use super::address::Address;
use super::auth::{answer_challenge, deliver_challenge};
use crate::error::{Error, Result};

/// Accepts connections at an [`Address`], like
/// `multiprocessing.connection.Listener(address, authkey=key)`: a Unix
/// socket at a path (removed when the listener is dropped), or a TCP port
/// (`("127.0.0.1", 0)` takes a free one: [`address`](Listener::address)
/// says which).
///
/// Without a key, anyone who can reach the address is let in: over TCP,
/// give one, and listen on `127.0.0.1` unless other machines must
/// connect.
///
/// ```
/// use common::{Address, Listener, Process};
///
/// fn call_home(address: Address) {
///     let conn = common::client::<String>(address, Some(b"secret")).expect("let in");
///     conn.send(&"hello".to_owned()).expect("send");
/// }
///
/// let listener = Listener::bind(("127.0.0.1", 0), Some(b"secret"))?;
/// let mut child = Process::with_args(call_home, listener.address().clone());
/// child.start()?;
/// let conn = listener.accept::<String>()?;
/// assert_eq!(conn.recv()?, "hello");
/// child.join()?;
/// # Ok::<(), common::Error>(())
/// ```
#[derive(Debug)]
pub struct Listener {
    socket: Bound,
    address: Address,
    authkey: Option<Vec<u8>>,
}

/// The listening socket.
#[derive(Debug)]
enum Bound {
    /// `SOCK_SEQPACKET` at a path: connections carry records.
    Unix(OwnedFd),
    Tcp(TcpListener),
}

impl Listener {
    /// Listens at `address` (for a Unix socket, a path that must not exist
    /// yet); connections must prove they know `authkey`, if given.
    ///
    /// # Errors
    ///
    /// [`Error::Os`] when the socket cannot be made there (the path exists,
    /// the port is taken, the host is not this machine's).
    pub fn bind(address: impl Into<Address>, authkey: Option<&[u8]>) -> Result<Listener> {
        let (socket, address) = match address.into() {
            Address::Unix(path) => (Bound::Unix(bind_unix(&path)?), Address::Unix(path)),
            Address::Tcp(host, port) => {
                let listener = TcpListener::bind((host.as_str(), port))
                    .map_err(|e| Error::os("listen on a TCP address", e))?;
                listener
                    .set_nonblocking(true)
                    .map_err(|e| Error::os("fcntl", e))?;
                let bound = listener
                    .local_addr()
                    .map_err(|e| Error::os("getsockname", e))?;
                (Bound::Tcp(listener), Address::from(bound))
            }
        };
        Ok(Listener {
            socket,
            address,
            authkey: authkey.map(<[u8]>::to_vec),
        })
    }

    /// Where it listens, like `listener.address`: over TCP, the port the
    /// system chose for port 0.
    ///
    /// ```
    /// let listener = common::Listener::bind(("127.0.0.1", 0), Some(b"key"))?;
    /// assert!(matches!(listener.address(), common::Address::Tcp(host, port) if host == "127.0.0.1" && *port != 0));
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn address(&self) -> &Address {
        &self.address
    }

    /// Waits for a connection and, with a key, checks it, like
    /// `listener.accept()`. The connection carries values of `T` (of any
    /// type for a [`Dynamic`](crate::Dynamic) one).
    ///
    /// # Errors
    ///
    /// [`Error::AuthenticationFailed`] when the peer does not know the key
    /// (or does not finish the handshake in time); the listener goes on.
    pub fn accept<T>(&self) -> Result<Connection<T>> {
        while !crate::sys::readable(self.as_fd(), Duration::from_secs(3600))
            .map_err(|e| Error::os("poll", e))?
        {}
        let conn = match &self.socket {
            Bound::Unix(socket) => {
                let accepted = accept4(
                    socket.as_raw_fd(),
                    SockFlag::SOCK_CLOEXEC | SockFlag::SOCK_NONBLOCK,
                )
                .map_err(|e| Error::os("accept", e))?;
                let socket = crate::sys::own_fd(accepted);
                crate::records::widen(&socket);
                Connection::from_records(socket)
            }
            Bound::Tcp(listener) => {
                let (stream, _) = listener.accept().map_err(|e| Error::os("accept", e))?;
                Connection::from_stream(tcp_socket(stream)?)
            }
        };
        if let Some(key) = &self.authkey {
            deliver_challenge(&conn, key)?;
            answer_challenge(&conn, key)?;
        }
        Ok(conn)
    }
}

impl AsFd for Listener {
    /// The listening socket: readable when a connection waits, for
    /// [`wait`](crate::wait).
    fn as_fd(&self) -> BorrowedFd<'_> {
        match &self.socket {
            Bound::Unix(socket) => socket.as_fd(),
            Bound::Tcp(listener) => listener.as_fd(),
        }
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        if let Address::Unix(path) = &self.address {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// Connects to the [`Listener`] at `address`, proving it knows `authkey`
/// (and checking that the listener does), like
/// `multiprocessing.connection.Client(address, authkey=key)`. The
/// connection carries values of `T`.
///
/// # Errors
///
/// [`Error::Os`] when nothing listens there,
/// [`Error::AuthenticationFailed`] when the keys differ.
pub fn client<T>(address: impl Into<Address>, authkey: Option<&[u8]>) -> Result<Connection<T>> {
    let conn = match address.into() {
        Address::Unix(path) => Connection::from_records(connect_unix(&path)?),
        Address::Tcp(host, port) => {
            let stream =
                TcpStream::connect((host.as_str(), port)).map_err(|e| Error::os("connect", e))?;
            Connection::from_stream(tcp_socket(stream)?)
        }
    };
    if let Some(key) = authkey {
        answer_challenge(&conn, key)?;
        deliver_challenge(&conn, key)?;
    }
    Ok(conn)
}

/// A listening `SOCK_SEQPACKET` socket at `path`.
fn bind_unix(path: &Path) -> Result<OwnedFd> {
    let socket = seqpacket()?;
    let name = UnixAddr::new(path).map_err(|e| Error::os("a socket's path", e))?;
    bind(socket.as_raw_fd(), &name).map_err(|e| Error::os("bind", e))?;
    listen(&socket, Backlog::new(64).unwrap_or(Backlog::MAXCONN))
        .map_err(|e| Error::os("listen", e))?;
    Ok(socket)
}

/// A `SOCK_SEQPACKET` socket connected to `path`, non-blocking.
fn connect_unix(path: &Path) -> Result<OwnedFd> {
    let socket = seqpacket()?;
    crate::records::widen(&socket);
    let name = UnixAddr::new(path).map_err(|e| Error::os("a socket's path", e))?;
    connect(socket.as_raw_fd(), &name).map_err(|e| Error::os("connect", e))?;
    nix::fcntl::fcntl(
        &socket,
        nix::fcntl::FcntlArg::F_SETFL(nix::fcntl::OFlag::O_NONBLOCK),
    )
    .map_err(|e| Error::os("fcntl", e))?;
    Ok(socket)
}

/// A connected TCP socket as a connection needs it: non-blocking, and
/// with no delay for small messages (a request and its answer are often
/// each smaller than a packet).
fn tcp_socket(stream: TcpStream) -> Result<OwnedFd> {
    stream
        .set_nonblocking(true)
        .map_err(|e| Error::os("fcntl", e))?;
    stream
        .set_nodelay(true)
        .map_err(|e| Error::os("setsockopt TCP_NODELAY", e))?;
    Ok(OwnedFd::from(stream))
}

fn seqpacket() -> Result<OwnedFd> {
    socket(
        AddressFamily::Unix,
        SockType::SeqPacket,
        SockFlag::SOCK_CLOEXEC,
        None,
    )
    .map_err(|e| Error::os("socket", e))
}
