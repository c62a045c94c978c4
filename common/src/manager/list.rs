//! [`ListProxy`]: a list a manager keeps, like the proxy `manager.list()`
//! returns.

use std::borrow::Borrow;
use std::marker::PhantomData;
use std::sync::Arc;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::proxy::{Remote, decode, encode, proxy};
use super::server::unexpected;
use super::wire::{Reply, Request};
use crate::error::Result;

/// A list a [`Manager`](super::Manager) keeps, like `manager.list()`:
/// every process holding a handle sees the same items. Each call is one
/// request, done whole by the server.
///
/// ```
/// let manager = common::Manager::new()?;
/// let list = manager.list::<String>()?;
/// list.push("a")?;
/// list.push("b")?;
/// list.set(0, "A")?;
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
    pub fn push<Q>(&self, value: &Q) -> Result<()>
    where
        T: Borrow<Q>,
        Q: Serialize + ?Sized,
    {
        self.remote.tell(&Request::Push(self.id, encode(value)?))
    }

    /// Appends every value of `values`, in one request, like
    /// `l.extend(values)`.
    ///
    /// ```
    /// let manager = common::Manager::new()?;
    /// let list = manager.list::<u32>()?;
    /// list.extend(1..=3)?;
    /// list.extend(&[4, 5])?;
    /// assert_eq!(list.to_vec()?, [1, 2, 3, 4, 5]);
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn extend<Q: Borrow<T>>(&self, values: impl IntoIterator<Item = Q>) -> Result<()> {
        let values = values
            .into_iter()
            .map(|value| encode(value.borrow()))
            .collect::<Result<_>>()?;
        self.remote.tell(&Request::Extend(self.id, values))
    }

    /// Item `index`, like `l[index]`; `None` when out of range.
    pub fn get(&self, index: usize) -> Result<Option<T>> {
        self.remote.value(&Request::At(self.id, index))
    }

    /// Replaces item `index`, like `l[index] = value`; an error when out of
    /// range.
    pub fn set<Q>(&self, index: usize, value: &Q) -> Result<()>
    where
        T: Borrow<Q>,
        Q: Serialize + ?Sized,
    {
        self.remote
            .tell(&Request::SetAt(self.id, index, encode(value)?))
    }

    /// Removes and returns the last item, like `l.pop()`.
    pub fn pop(&self) -> Result<Option<T>> {
        self.remote.value(&Request::Pop(self.id))
    }

    /// How many items, like `len(l)`.
    pub fn len(&self) -> Result<usize> {
        self.remote.len(self.id)
    }

    /// Whether it has no item.
    pub fn is_empty(&self) -> Result<bool> {
        Ok(self.len()? == 0)
    }

    /// Removes every item, like `l.clear()`.
    pub fn clear(&self) -> Result<()> {
        self.remote.tell(&Request::Clear(self.id))
    }

    /// A copy of every item, like `l[:]`.
    pub fn to_vec(&self) -> Result<Vec<T>> {
        self.remote.values(&Request::All(self.id))
    }

    /// Reverses the items in place, like `l.reverse()`.
    ///
    /// ```
    /// let manager = common::Manager::new()?;
    /// let list = manager.list_from(["a", "b", "c"].map(String::from))?;
    /// list.reverse()?;
    /// assert_eq!(list.to_vec()?, ["c", "b", "a"]);
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn reverse(&self) -> Result<()> {
        self.remote.tell(&Request::Reverse(self.id))
    }

    /// Sorts the items in place, like `l.sort()`: as one step, so that no
    /// process sees the list half sorted, nor loses an item another
    /// process added meanwhile.
    ///
    /// ```
    /// let manager = common::Manager::new()?;
    /// let list = manager.list_from([3, 1, 2])?;
    /// list.sort()?;
    /// assert_eq!(list.to_vec()?, [1, 2, 3]);
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn sort(&self) -> Result<()>
    where
        T: Ord,
    {
        self.rearrange(|items| items.sort())
    }

    /// Sorts the items in place by `compare`, like `l.sort()` with a
    /// comparison (for floats, say: `|a, b| a.total_cmp(b)`).
    pub fn sort_by(&self, mut compare: impl FnMut(&T, &T) -> std::cmp::Ordering) -> Result<()> {
        self.rearrange(|items| items.sort_by(&mut compare))
    }

    /// Sorts the items in place by a key, like `l.sort(key=f)`; with
    /// [`std::cmp::Reverse`] around the key, like `l.sort(key=f,
    /// reverse=True)`.
    ///
    /// ```
    /// let manager = common::Manager::new()?;
    /// let words = manager.list_from(["pear", "fig", "banana"].map(String::from))?;
    /// words.sort_by_key(|w| std::cmp::Reverse(w.len()))?;
    /// assert_eq!(words.to_vec()?, ["banana", "pear", "fig"]);
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn sort_by_key<K: Ord>(&self, mut key: impl FnMut(&T) -> K) -> Result<()> {
        self.rearrange(|items| items.sort_by_key(&mut key))
    }

    /// Applies `rearrange` to the items here, and writes them back if the
    /// list has not changed meanwhile; else tries again with the list as
    /// it is now. The server keeps bytes and cannot compare them as `T`.
    fn rearrange(&self, mut rearrange: impl FnMut(&mut Vec<T>)) -> Result<()> {
        loop {
            let (version, encoded) = match self.remote.ask(&Request::Snapshot(self.id))? {
                Reply::Snapshot(version, items) => (version, items),
                other => return Err(unexpected(other)),
            };
            let mut items = encoded
                .iter()
                .map(|bytes| decode(bytes))
                .collect::<Result<Vec<T>>>()?;
            rearrange(&mut items);
            let encoded = items.iter().map(encode).collect::<Result<_>>()?;
            match self
                .remote
                .ask(&Request::ReplaceIf(self.id, version, encoded))?
            {
                Reply::Done => return Ok(()),
                Reply::Stale => {}
                other => return Err(unexpected(other)),
            }
        }
    }
}
