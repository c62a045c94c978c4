//! What every proxy shares: how it reaches its manager's server (this
//! process's connection, made on first use), and how it crosses to a child
//! (as the manager's address, key and the object's id), under every start
//! method, inside pool tasks, and to processes of other programs.

use std::sync::{Arc, Mutex, PoisonError};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::server::unexpected;
use super::wire::{Reply, Request};
use crate::connection::{Address, Connection, client};
use crate::error::{Error, Result};
use crate::sys::holder::{self, Holder};

/// How to reach a manager's server, and this process's connection to it
/// (made on first use, and again in a child, which must not share its
/// parent's).
#[derive(Debug)]
pub(super) struct Remote {
    pub(super) address: Address,
    pub(super) authkey: Vec<u8>,
    connection: Mutex<Option<(Holder, Connection<Request>)>>,
}

impl Remote {
    pub(super) fn new(address: Address, authkey: Vec<u8>) -> Arc<Remote> {
        Arc::new(Remote {
            address,
            authkey,
            connection: Mutex::new(None),
        })
    }

    /// Sends `request` and returns the server's reply; [`Error::ManagerGone`]
    /// when the server has ended (its socket closed, reset or removed).
    pub(super) fn ask(&self, request: &Request) -> Result<Reply> {
        self.with_connection(|conn| {
            conn.send(request)?;
            Ok(conn.recv_as(None)?.expect("no deadline"))
        })
        .map_err(|error| match error {
            Error::PipeClosed => Error::ManagerGone,
            Error::Os { ref source, .. }
                if matches!(
                    source.raw_os_error(),
                    Some(libc::EPIPE | libc::ECONNRESET | libc::ECONNREFUSED | libc::ENOENT)
                ) =>
            {
                Error::ManagerGone
            }
            other => other,
        })
    }

    /// Makes this process's connection now, if it has none: an address
    /// where nothing listens, or a wrong key, is an error here.
    pub(super) fn connect(&self) -> Result<()> {
        self.with_connection(|_| Ok(()))
    }

    /// Runs `talk` on this process's connection, made first if need be.
    fn with_connection<R>(
        &self,
        talk: impl FnOnce(&Connection<Request>) -> Result<R>,
    ) -> Result<R> {
        let mut connection = self
            .connection
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        // Who this process is, known without a system call (see
        // `sys::holder`): a forked child is someone else.
        let me = holder::me();
        if connection.as_ref().is_none_or(|(owner, _)| *owner != me) {
            if let Some((_, inherited)) = connection.take() {
                // A forked child's copy of its parent's connection: never
                // used here, so the two never interleave.
                std::mem::forget(inherited);
            }
            *connection = Some((me, client(&self.address, Some(&self.authkey))?));
        }
        let (_, conn) = connection.as_ref().expect("connected above");
        talk(conn)
    }

    /// Sends `request`, which the server answers with `Done`.
    pub(super) fn tell(&self, request: &Request) -> Result<()> {
        match self.ask(request)? {
            Reply::Done => Ok(()),
            other => Err(unexpected(other)),
        }
    }

    /// Sends `request`, which the server answers with a value or none.
    pub(super) fn value<T: DeserializeOwned>(&self, request: &Request) -> Result<Option<T>> {
        match self.ask(request)? {
            Reply::Value(value) => value.as_deref().map(decode).transpose(),
            other => Err(unexpected(other)),
        }
    }

    /// Sends `request`, which the server answers with encoded values.
    pub(super) fn values<T: DeserializeOwned>(&self, request: &Request) -> Result<Vec<T>> {
        match self.ask(request)? {
            Reply::Values(values) => values.iter().map(|v| decode(v)).collect(),
            other => Err(unexpected(other)),
        }
    }

    /// How many entries object `id` has.
    pub(super) fn len(&self, id: u64) -> Result<usize> {
        match self.ask(&Request::Len(id))? {
            Reply::Len(len) => Ok(len),
            other => Err(unexpected(other)),
        }
    }
}

/// Where a proxy crosses as: the manager and the object.
#[derive(Serialize, Deserialize)]
pub(super) struct Handle {
    pub(super) address: Address,
    pub(super) authkey: Vec<u8>,
    pub(super) id: u64,
}

pub(super) fn encode<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>> {
    postcard::to_stdvec(value)
        .map_err(|e| Error::os("encode a managed value", std::io::Error::other(e)))
}

pub(super) fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T> {
    postcard::from_bytes(bytes)
        .map_err(|e| Error::os("decode a managed value", std::io::Error::other(e)))
}

/// What every proxy type has: made from a remote and an id, crossing as a
/// [`Handle`], cloned (as `Clone` and `try_clone`) and shown.
macro_rules! proxy {
    ($name:ident: $($t:ident),*) => {
        impl<$($t),*> $name<$($t),*> {
            pub(super) fn new(remote: std::sync::Arc<super::proxy::Remote>, id: u64) -> Self {
                $name { remote, id, types: std::marker::PhantomData }
            }

            /// Another handle on the same object: the same as [`Clone`],
            /// which cannot fail (kept for code written before it).
            pub fn try_clone(&self) -> crate::error::Result<Self> {
                Ok(self.clone())
            }
        }

        impl<$($t),*> serde::Serialize for $name<$($t),*> {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
                super::proxy::Handle {
                    address: self.remote.address.clone(),
                    authkey: self.remote.authkey.clone(),
                    id: self.id,
                }
                .serialize(serializer)
            }
        }

        impl<'de, $($t),*> serde::Deserialize<'de> for $name<$($t),*> {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
                let handle = super::proxy::Handle::deserialize(deserializer)?;
                Ok($name::new(super::proxy::Remote::new(handle.address, handle.authkey), handle.id))
            }
        }

        impl<$($t),*> Clone for $name<$($t),*> {
            /// Another handle on the same object (sharing this process's
            /// connection).
            fn clone(&self) -> Self {
                $name::new(std::sync::Arc::clone(&self.remote), self.id)
            }
        }

        impl<$($t),*> std::fmt::Debug for $name<$($t),*> {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($name))
                    .field("manager", &self.remote.address)
                    .field("id", &self.id)
                    .finish()
            }
        }
    };
}

pub(super) use proxy;
