//! [`Listener`] and [`client`]: connections between processes that did not
//! start each other, over a Unix socket with a path, checked with a shared
//! authentication key, like `multiprocessing.connection.Listener` and
//! `Client`.
//!
//! # The handshake
//!
//! With a key, each side proves it knows the key without sending it: the
//! listener sends a random 32-byte challenge, the client answers with its
//! HMAC-SHA256 under the key, the listener checks it (in constant time) and
//! says `welcome` or `failure`; then the same the other way round. Python
//! does the same, with its own message format, so the two do not talk to
//! each other. A handshake has [`HANDSHAKE`] to finish, so a silent peer
//! cannot hold up `accept` for good.

use std::io::Read;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::time::Duration;

use hmac::{Hmac, Mac};
use nix::sys::socket::{
    AddressFamily, Backlog, SockFlag, SockType, UnixAddr, accept4, bind, connect, listen, socket,
};
use sha2::Sha256;

use super::Connection;
use crate::error::{Error, Result};

/// How long either side of a handshake waits for the other.
pub const HANDSHAKE: Duration = Duration::from_secs(10);

const CHALLENGE: &[u8] = b"#CHALLENGE#";
const WELCOME: &[u8] = b"#WELCOME#";
const FAILURE: &[u8] = b"#FAILURE#";

/// Accepts connections on a Unix socket at a path, like
/// `multiprocessing.connection.Listener(address, authkey=key)`. The socket
/// file is removed when the listener is dropped.
///
/// ```
/// use common::{Listener, Process};
///
/// fn call_home(path: std::path::PathBuf) {
///     let conn = common::client(&path, Some(b"secret")).expect("let in");
///     conn.send(&"hello").expect("send");
/// }
///
/// let dir = std::env::temp_dir().join(format!("listener-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir).expect("a directory");
/// let listener = Listener::bind(dir.join("socket"), Some(b"secret"))?;
/// let mut child = Process::with_args(call_home, listener.address().to_owned());
/// child.start()?;
/// let conn = listener.accept()?;
/// assert_eq!(conn.recv::<String>()?, "hello");
/// child.join()?;
/// # drop(listener);
/// # std::fs::remove_dir_all(&dir).ok();
/// # Ok::<(), common::Error>(())
/// ```
#[derive(Debug)]
pub struct Listener {
    socket: OwnedFd,
    address: PathBuf,
    authkey: Option<Vec<u8>>,
}

impl Listener {
    /// Listens at `path` (which must not exist yet); connections must prove
    /// they know `authkey`, if given.
    ///
    /// # Errors
    ///
    /// [`Error::Os`] when the socket cannot be made there.
    pub fn bind(path: impl AsRef<Path>, authkey: Option<&[u8]>) -> Result<Listener> {
        let address = path.as_ref().to_owned();
        let socket = seqpacket()?;
        let name = UnixAddr::new(&address).map_err(|e| Error::os("a socket's path", e))?;
        bind(socket.as_raw_fd(), &name).map_err(|e| Error::os("bind", e))?;
        listen(&socket, Backlog::new(64).unwrap_or(Backlog::MAXCONN))
            .map_err(|e| Error::os("listen", e))?;
        Ok(Listener {
            socket,
            address,
            authkey: authkey.map(<[u8]>::to_vec),
        })
    }

    /// Where it listens, like `listener.address`.
    pub fn address(&self) -> &Path {
        &self.address
    }

    /// Waits for a connection and, with a key, checks it, like
    /// `listener.accept()`.
    ///
    /// # Errors
    ///
    /// [`Error::AuthenticationFailed`] when the peer does not know the key
    /// (or does not finish the handshake in time); the listener goes on.
    pub fn accept(&self) -> Result<Connection> {
        while !crate::sys::readable(self.socket.as_fd(), Duration::from_secs(3600))
            .map_err(|e| Error::os("poll", e))?
        {}
        let accepted = accept4(
            self.socket.as_raw_fd(),
            SockFlag::SOCK_CLOEXEC | SockFlag::SOCK_NONBLOCK,
        )
        .map_err(|e| Error::os("accept", e))?;
        let socket = crate::sys::own_fd(accepted);
        crate::records::widen(&socket);
        let conn = Connection::from_socket(socket);
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
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.socket.as_fd()
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.address);
    }
}

/// Connects to the [`Listener`] at `path`, proving it knows `authkey` (and
/// checking that the listener does), like
/// `multiprocessing.connection.Client(address, authkey=key)`.
///
/// # Errors
///
/// [`Error::Os`] when nothing listens there,
/// [`Error::AuthenticationFailed`] when the keys differ.
pub fn client(path: impl AsRef<Path>, authkey: Option<&[u8]>) -> Result<Connection> {
    let socket = seqpacket()?;
    crate::records::widen(&socket);
    let name = UnixAddr::new(path.as_ref()).map_err(|e| Error::os("a socket's path", e))?;
    connect(socket.as_raw_fd(), &name).map_err(|e| Error::os("connect", e))?;
    nix::fcntl::fcntl(
        &socket,
        nix::fcntl::FcntlArg::F_SETFL(nix::fcntl::OFlag::O_NONBLOCK),
    )
    .map_err(|e| Error::os("fcntl", e))?;
    let conn = Connection::from_socket(socket);
    if let Some(key) = authkey {
        answer_challenge(&conn, key)?;
        deliver_challenge(&conn, key)?;
    }
    Ok(conn)
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

/// Sends a challenge and checks the answer; tells the peer the verdict.
fn deliver_challenge(conn: &Connection, key: &[u8]) -> Result<()> {
    let mut nonce = [0u8; 32];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut random| random.read_exact(&mut nonce))
        .map_err(|e| Error::os("read /dev/urandom", e))?;
    conn.send_bytes(&[CHALLENGE, &nonce].concat())?;
    let answer: Vec<u8> = conn
        .recv_bytes_timeout(HANDSHAKE)
        .map_err(|_| Error::AuthenticationFailed)?;
    if mac(key).chain_update(nonce).verify_slice(&answer).is_ok() {
        conn.send_bytes(WELCOME)
    } else {
        let _ = conn.send_bytes(FAILURE);
        Err(Error::AuthenticationFailed)
    }
}

/// Answers the peer's challenge; fails unless it says welcome.
fn answer_challenge(conn: &Connection, key: &[u8]) -> Result<()> {
    let challenge = conn
        .recv_bytes_timeout(HANDSHAKE)
        .map_err(|_| Error::AuthenticationFailed)?;
    let Some(nonce) = challenge.strip_prefix(CHALLENGE) else {
        return Err(Error::AuthenticationFailed);
    };
    let answer = mac(key).chain_update(nonce).finalize().into_bytes();
    conn.send_bytes(&answer)?;
    match conn.recv_bytes_timeout(HANDSHAKE) {
        Ok(verdict) if verdict == WELCOME => Ok(()),
        _ => Err(Error::AuthenticationFailed),
    }
}

fn mac(key: &[u8]) -> Hmac<Sha256> {
    <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes a key of any length")
}
