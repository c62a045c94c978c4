//! [`DictProxy`]: a dict a manager keeps, like the proxy
//! `manager.dict()` returns.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::Hash;
use std::marker::PhantomData;
use std::sync::Arc;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::proxy::{Remote, decode, encode, proxy};
use super::server::unexpected;
use super::wire::{Reply, Request};
use crate::error::Result;

/// The types of a dict's entries, invariant and `Send`.
type Entry<K, V> = fn((K, V)) -> (K, V);

/// A dict a [`Manager`](super::Manager) keeps, like `manager.dict()`:
/// every process holding a handle sees the same entries, in the order
/// they were first inserted (as Python's). Each call is one request, done
/// whole by the server.
///
/// A key may be looked up by a borrowed form that serializes as the key
/// does, as with a `HashMap`: `&str` for `String`, `&[T]` for `Vec<T>`.
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

impl<K, V> DictProxy<K, V>
where
    K: Serialize + DeserializeOwned + Eq + Hash,
    V: Serialize + DeserializeOwned,
{
    /// The value under `key`, like `d.get(key)`.
    ///
    /// ```
    /// let manager = common::Manager::new()?;
    /// let ages = manager.dict::<String, u32>()?;
    /// ages.insert("ada", &36)?;
    /// assert_eq!(ages.get("ada")?, Some(36));
    /// assert_eq!(ages.get("bob")?, None);
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn get<Q>(&self, key: &Q) -> Result<Option<V>>
    where
        K: Borrow<Q>,
        Q: Serialize + ?Sized,
    {
        self.remote.value(&Request::Get(self.id, encode(key)?))
    }

    /// Sets `key` to `value`, like `d[key] = value`; a new key goes last.
    pub fn insert<Q, W>(&self, key: &Q, value: &W) -> Result<()>
    where
        K: Borrow<Q>,
        V: Borrow<W>,
        Q: Serialize + ?Sized,
        W: Serialize + ?Sized,
    {
        self.remote
            .tell(&Request::Set(self.id, encode(key)?, encode(value)?))
    }

    /// Sets every key of `pairs` to its value, in one request, like
    /// `d.update(pairs)`.
    ///
    /// ```
    /// use std::collections::BTreeMap;
    ///
    /// let manager = common::Manager::new()?;
    /// let d = manager.dict::<String, u32>()?;
    /// d.update([("one".to_owned(), 1), ("two".to_owned(), 2)])?;
    /// d.update(&BTreeMap::from([("two".to_owned(), 22)]))?;
    /// assert_eq!(d.items()?, [("one".to_owned(), 1), ("two".to_owned(), 22)]);
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn update<Q, W>(&self, pairs: impl IntoIterator<Item = (Q, W)>) -> Result<()>
    where
        Q: Borrow<K>,
        W: Borrow<V>,
    {
        let pairs = pairs
            .into_iter()
            .map(|(k, v)| Ok((encode(k.borrow())?, encode(v.borrow())?)))
            .collect::<Result<_>>()?;
        self.remote.tell(&Request::Update(self.id, pairs))
    }

    /// Removes `key` and returns its value, like `d.pop(key, None)`.
    pub fn remove<Q>(&self, key: &Q) -> Result<Option<V>>
    where
        K: Borrow<Q>,
        Q: Serialize + ?Sized,
    {
        self.remote.value(&Request::Remove(self.id, encode(key)?))
    }

    /// Whether `key` has a value, like `key in d`.
    pub fn contains_key<Q>(&self, key: &Q) -> Result<bool>
    where
        K: Borrow<Q>,
        Q: Serialize + ?Sized,
    {
        match self.remote.ask(&Request::Get(self.id, encode(key)?))? {
            Reply::Value(value) => Ok(value.is_some()),
            other => Err(unexpected(other)),
        }
    }

    /// How many entries, like `len(d)`.
    pub fn len(&self) -> Result<usize> {
        self.remote.len(self.id)
    }

    /// Whether it has no entry.
    pub fn is_empty(&self) -> Result<bool> {
        Ok(self.len()? == 0)
    }

    /// Removes every entry, like `d.clear()`.
    pub fn clear(&self) -> Result<()> {
        self.remote.tell(&Request::Clear(self.id))
    }

    /// Every key, in insertion order, like `list(d.keys())`.
    ///
    /// ```
    /// let manager = common::Manager::new()?;
    /// let d = manager.dict::<String, u32>()?;
    /// d.insert("b", &2)?;
    /// d.insert("a", &1)?;
    /// assert_eq!(d.keys()?, ["b", "a"]);
    /// assert_eq!(d.values()?, [2, 1]);
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn keys(&self) -> Result<Vec<K>> {
        self.remote.values(&Request::Keys(self.id))
    }

    /// Every value, in insertion order of their keys, like
    /// `list(d.values())`.
    pub fn values(&self) -> Result<Vec<V>> {
        self.remote.values(&Request::Values(self.id))
    }

    /// Every entry, in insertion order, like `list(d.items())`.
    pub fn items(&self) -> Result<Vec<(K, V)>> {
        match self.remote.ask(&Request::Items(self.id))? {
            Reply::Pairs(pairs) => pairs
                .iter()
                .map(|(k, v)| Ok((decode(k)?, decode(v)?)))
                .collect(),
            other => Err(unexpected(other)),
        }
    }

    /// A copy of every entry, like `d.copy()` (or `dict(d)`), as a
    /// `HashMap` (in no order: [`items`](DictProxy::items) keeps it).
    pub fn to_hash_map(&self) -> Result<HashMap<K, V>> {
        Ok(self.items()?.into_iter().collect())
    }
}
