//! [`Address`]: where a [`Listener`](crate::Listener) listens and a
//! [`client`](crate::client) connects, as Python's `multiprocessing`
//! addresses go: a string is a Unix socket's path, a `(host, port)` pair a
//! TCP address.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Where to listen or connect: a Unix socket's path (`"/tmp/app.sock"`,
/// Python's `'/tmp/app.sock'`) or a TCP host and port
/// (`("127.0.0.1", 6000)`, Python's `('127.0.0.1', 6000)`; port 0 asks
/// the system for a free one, which [`Listener::address`] then tells).
///
/// [`Listener::address`]: crate::Listener::address
///
/// ```
/// use common::Address;
///
/// assert_eq!(Address::from("/tmp/app.sock"), Address::Unix("/tmp/app.sock".into()));
/// assert_eq!(Address::from(("127.0.0.1", 6000)), Address::Tcp("127.0.0.1".into(), 6000));
/// assert_eq!(Address::from(("::1", 80)).to_string(), "[::1]:80");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Address {
    /// A Unix socket at this path (Python's `AF_UNIX`).
    Unix(PathBuf),
    /// A TCP host (a name or an IP address) and port (Python's `AF_INET`).
    Tcp(String, u16),
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Address::Unix(path) => write!(f, "{}", path.display()),
            Address::Tcp(host, port) if host.contains(':') => write!(f, "[{host}]:{port}"),
            Address::Tcp(host, port) => write!(f, "{host}:{port}"),
        }
    }
}

impl From<SocketAddr> for Address {
    fn from(address: SocketAddr) -> Address {
        Address::Tcp(address.ip().to_string(), address.port())
    }
}

impl From<&Address> for Address {
    fn from(address: &Address) -> Address {
        address.clone()
    }
}

macro_rules! unix_from {
    ($($t:ty),*) => {$(
        impl From<$t> for Address {
            /// A Unix socket's path, as Python takes a string address.
            fn from(path: $t) -> Address {
                Address::Unix(PathBuf::from(path))
            }
        }
    )*};
}

unix_from!(&str, String, &String, &Path, PathBuf, &PathBuf);

macro_rules! tcp_from {
    ($($t:ty),*) => {$(
        impl From<($t, u16)> for Address {
            /// A TCP host and port, as Python takes a `(host, port)` tuple.
            fn from((host, port): ($t, u16)) -> Address {
                Address::Tcp(host.to_string(), port)
            }
        }
    )*};
}

tcp_from!(&str, String, IpAddr, Ipv4Addr, Ipv6Addr);
