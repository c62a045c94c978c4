//! Proxies: handles on the objects a [`Manager`](super::Manager) keeps,
//! which any process can use, and which cross to children (as the
//! manager's address, key and the object's id) under every start method,
//! inside pool tasks too.

use std::collections::HashMap;
use std::hash::Hash;
use std::marker::PhantomData;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::server::unexpected;
use super::wire::{Reply, Request};
use crate::connection::{Connection, client};
use crate::error::{Error, Result};
use crate::sys::holder::{self, Holder};

/// How to reach a manager's server, and this process's connection to it
/// (made on first use, and again in a child, which must not share its
/// parent's).
#[derive(Debug)]
pub(super) struct Remote {
    pub(super) address: PathBuf,
    pub(super) authkey: Vec<u8>,
    connection: Mutex<Option<(Holder, Connection)>>,
}

impl Remote {
    pub(super) fn new(address: PathBuf, authkey: Vec<u8>) -> Arc<Remote> {
        Arc::new(Remote {
            address,
            authkey,
            connection: Mutex::new(None),
        })
    }

    /// Sends `request` and returns the server's reply.
    pub(super) fn ask(&self, request: &Request) -> Result<Reply> {
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
        conn.send(request)?;
        conn.recv()
    }
}

/// Where a proxy crosses as: the manager and the object.
#[derive(Serialize, Deserialize)]
struct Address {
    address: PathBuf,
    authkey: Vec<u8>,
    id: u64,
}

fn encode<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>> {
    postcard::to_stdvec(value)
        .map_err(|e| Error::os("encode a managed value", std::io::Error::other(e)))
}

fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T> {
    postcard::from_bytes(bytes)
        .map_err(|e| Error::os("decode a managed value", std::io::Error::other(e)))
}

macro_rules! proxy {
    ($name:ident: $($t:ident),*) => {
        impl<$($t),*> $name<$($t),*> {
            pub(super) fn new(remote: Arc<Remote>, id: u64) -> Self {
                $name { remote, id, types: PhantomData }
            }
        }

        impl<$($t),*> Serialize for $name<$($t),*> {
            fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
                Address {
                    address: self.remote.address.clone(),
                    authkey: self.remote.authkey.clone(),
                    id: self.id,
                }
                .serialize(serializer)
            }
        }

        impl<'de, $($t),*> Deserialize<'de> for $name<$($t),*> {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
                let address = Address::deserialize(deserializer)?;
                Ok($name::new(Remote::new(address.address, address.authkey), address.id))
            }
        }

        impl<$($t),*> Clone for $name<$($t),*> {
            /// Another handle on the same object (sharing this process's
            /// connection).
            fn clone(&self) -> Self {
                $name::new(Arc::clone(&self.remote), self.id)
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

/// The types of a dict's entries, invariant and `Send`.
type Entry<K, V> = fn((K, V)) -> (K, V);

/// A dict a [`Manager`](super::Manager) keeps, like `manager.dict()`:
/// every process holding a handle sees the same entries. Each call is one
/// request, done whole by the server.
///
/// ```
/// fn square_into((d, n): (common::DictProxy<u32, u32>, u32)) -> u32 {
///     d.insert(&n, &(n * n)).expect("the manager");
///     n
/// }
///
/// let manager = common::Manager::new()?;
/// let squares = manager.dict::<u32, u32>()?;
/// let mut pool = common::Pool::new(2)?;
/// pool.map(square_into, (1..=4).map(|n| (squares.clone(), n)))?;
/// assert_eq!(squares.get(&3)?, Some(9));
/// assert_eq!(squares.len()?, 4);
/// # Ok::<(), common::Error>(())
/// ```
pub struct DictProxy<K, V> {
    remote: Arc<Remote>,
    id: u64,
    types: PhantomData<Entry<K, V>>,
}

proxy!(DictProxy: K, V);

impl<K: Serialize + DeserializeOwned + Eq + Hash, V: Serialize + DeserializeOwned> DictProxy<K, V> {
    /// The value under `key`, like `d.get(key)`.
    pub fn get(&self, key: &K) -> Result<Option<V>> {
        match self.remote.ask(&Request::Get(self.id, encode(key)?))? {
            Reply::Value(value) => value.as_deref().map(decode).transpose(),
            other => Err(unexpected(other)),
        }
    }

    /// Sets `key` to `value`, like `d[key] = value`.
    pub fn insert(&self, key: &K, value: &V) -> Result<()> {
        match self
            .remote
            .ask(&Request::Set(self.id, encode(key)?, encode(value)?))?
        {
            Reply::Done => Ok(()),
            other => Err(unexpected(other)),
        }
    }

    /// Removes `key` and returns its value, like `d.pop(key, None)`.
    pub fn remove(&self, key: &K) -> Result<Option<V>> {
        match self.remote.ask(&Request::Remove(self.id, encode(key)?))? {
            Reply::Value(value) => value.as_deref().map(decode).transpose(),
            other => Err(unexpected(other)),
        }
    }

    /// Whether `key` has a value, like `key in d`.
    pub fn contains_key(&self, key: &K) -> Result<bool> {
        match self.remote.ask(&Request::Get(self.id, encode(key)?))? {
            Reply::Value(value) => Ok(value.is_some()),
            other => Err(unexpected(other)),
        }
    }

    /// How many entries, like `len(d)`.
    pub fn len(&self) -> Result<usize> {
        len(&self.remote, self.id)
    }

    /// Whether it has no entry.
    pub fn is_empty(&self) -> Result<bool> {
        Ok(self.len()? == 0)
    }

    /// A copy of every entry, like `d.copy()` (or `dict(d)`).
    pub fn to_hash_map(&self) -> Result<HashMap<K, V>> {
        match self.remote.ask(&Request::Items(self.id))? {
            Reply::Pairs(pairs) => pairs
                .iter()
                .map(|(k, v)| Ok((decode(k)?, decode(v)?)))
                .collect(),
            other => Err(unexpected(other)),
        }
    }
}

/// A list a [`Manager`](super::Manager) keeps, like `manager.list()`.
///
/// ```
/// let manager = common::Manager::new()?;
/// let list = manager.list::<String>()?;
/// list.push(&"a".to_owned())?;
/// list.push(&"b".to_owned())?;
/// list.set(0, &"A".to_owned())?;
/// assert_eq!(list.to_vec()?, ["A", "b"]);
/// assert_eq!(list.pop()?, Some("b".to_owned()));
/// # Ok::<(), common::Error>(())
/// ```
pub struct ListProxy<T> {
    remote: Arc<Remote>,
    id: u64,
    types: PhantomData<fn(T) -> T>,
}

proxy!(ListProxy: T);

impl<T: Serialize + DeserializeOwned> ListProxy<T> {
    /// Appends `value`, like `l.append(value)`.
    pub fn push(&self, value: &T) -> Result<()> {
        match self.remote.ask(&Request::Push(self.id, encode(value)?))? {
            Reply::Done => Ok(()),
            other => Err(unexpected(other)),
        }
    }

    /// Item `index`, like `l[index]`; `None` when out of range.
    pub fn get(&self, index: usize) -> Result<Option<T>> {
        match self.remote.ask(&Request::At(self.id, index))? {
            Reply::Value(value) => value.as_deref().map(decode).transpose(),
            other => Err(unexpected(other)),
        }
    }

    /// Replaces item `index`, like `l[index] = value`; an error when out of
    /// range.
    pub fn set(&self, index: usize, value: &T) -> Result<()> {
        match self
            .remote
            .ask(&Request::SetAt(self.id, index, encode(value)?))?
        {
            Reply::Done => Ok(()),
            other => Err(unexpected(other)),
        }
    }

    /// Removes and returns the last item, like `l.pop()`.
    pub fn pop(&self) -> Result<Option<T>> {
        match self.remote.ask(&Request::Pop(self.id))? {
            Reply::Value(value) => value.as_deref().map(decode).transpose(),
            other => Err(unexpected(other)),
        }
    }

    /// How many items, like `len(l)`.
    pub fn len(&self) -> Result<usize> {
        len(&self.remote, self.id)
    }

    /// Whether it has no item.
    pub fn is_empty(&self) -> Result<bool> {
        Ok(self.len()? == 0)
    }

    /// A copy of every item, like `l[:]`.
    pub fn to_vec(&self) -> Result<Vec<T>> {
        match self.remote.ask(&Request::All(self.id))? {
            Reply::Values(values) => values.iter().map(|v| decode(v)).collect(),
            other => Err(unexpected(other)),
        }
    }
}

/// Named attributes a [`Manager`](super::Manager) keeps, like
/// `manager.Namespace()`: `ns.set("x", &1)` is `ns.x = 1`, and each
/// attribute may have a type of its own.
///
/// ```
/// let manager = common::Manager::new()?;
/// let ns = manager.namespace()?;
/// ns.set("count", &3u32)?;
/// ns.set("label", &"ready")?;
/// assert_eq!(ns.get::<u32>("count")?, Some(3));
/// assert_eq!(ns.get::<String>("label")?, Some("ready".to_owned()));
/// assert_eq!(ns.get::<u32>("missing")?, None);
/// # Ok::<(), common::Error>(())
/// ```
pub struct Namespace {
    remote: Arc<Remote>,
    id: u64,
    types: PhantomData<()>,
}

proxy!(Namespace:);

impl Namespace {
    /// Attribute `name`, like `ns.name` (`None` where Python raises
    /// `AttributeError`).
    pub fn get<T: DeserializeOwned>(&self, name: &str) -> Result<Option<T>> {
        match self.remote.ask(&Request::Get(self.id, encode(name)?))? {
            Reply::Value(value) => value.as_deref().map(decode).transpose(),
            other => Err(unexpected(other)),
        }
    }

    /// Sets attribute `name`, like `ns.name = value`.
    pub fn set<T: Serialize + ?Sized>(&self, name: &str, value: &T) -> Result<()> {
        match self
            .remote
            .ask(&Request::Set(self.id, encode(name)?, encode(value)?))?
        {
            Reply::Done => Ok(()),
            other => Err(unexpected(other)),
        }
    }
}

fn len(remote: &Remote, id: u64) -> Result<usize> {
    match remote.ask(&Request::Len(id))? {
        Reply::Len(len) => Ok(len),
        other => Err(unexpected(other)),
    }
}
