//! [`Chunked`]: the map family with Python's `chunksize`, as
//! `pool.chunksize(n).map(f, items)` for `pool.map(f, items, chunksize=n)`.

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::job::Items;
use super::{AsyncResult, Imap, Pool, chunk};
use crate::error::Result;
use crate::sys::{Function, sendable};

impl Pool {
    /// The map family with Python's `chunksize`: how many items a worker
    /// is sent at a time, for the one call made through it. Small chunks
    /// balance uneven tasks across workers; large ones cost fewer
    /// messages. Without it, `map` and its kin cut the input as Python
    /// does (`ceil(len / (4 * processes))`), and `imap` sends one item at
    /// a time.
    ///
    /// ```
    /// fn square(n: i64) -> i64 {
    ///     n * n
    /// }
    ///
    /// let mut pool = common::Pool::new(2)?;
    /// assert_eq!(pool.chunksize(1).map(square, 1..=3)?, [1, 4, 9]);
    /// let lazily: Vec<i64> = pool.chunksize(2).imap(square, 1..=3)?.collect::<Result<_, _>>()?;
    /// assert_eq!(lazily, [1, 4, 9]);
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn chunksize(&mut self, chunksize: usize) -> Chunked<'_> {
        Chunked {
            pool: self,
            chunksize: chunksize.max(1),
        }
    }
}

/// The map family of a [`Pool`] with a chunksize, from
/// [`Pool::chunksize`]: each call is the pool's call of the same name,
/// `chunksize` items to a job.
#[derive(Debug)]
#[must_use = "a chunksize is for a call of the map family: map, imap, map_async..."]
pub struct Chunked<'p> {
    pool: &'p mut Pool,
    chunksize: usize,
}

impl Chunked<'_> {
    /// [`Pool::map`], `chunksize` items to a job.
    pub fn map<A, R>(self, func: fn(A) -> R, items: impl IntoIterator<Item = A>) -> Result<Vec<R>>
    where
        A: Serialize + DeserializeOwned + 'static,
        R: Serialize + DeserializeOwned + 'static,
    {
        let chunksize = Some(self.chunksize);
        self.pool
            .run_all(chunk::erase(func), Items::new(items), chunksize)
    }

    /// [`Pool::try_map`], `chunksize` items to a job.
    pub fn try_map<A, R, E>(
        self,
        func: fn(A) -> std::result::Result<R, E>,
        items: impl IntoIterator<Item = A>,
    ) -> Result<Vec<R>>
    where
        A: Serialize + DeserializeOwned + 'static,
        R: Serialize + DeserializeOwned + 'static,
        E: Serialize + std::fmt::Display + 'static,
    {
        let chunksize = Some(self.chunksize);
        self.pool
            .run_all(chunk::erase_fallible(func), Items::new(items), chunksize)
    }

    /// [`Pool::starmap`], `chunksize` items to a job.
    pub fn starmap<F, Args, M, R>(
        self,
        func: F,
        items: impl IntoIterator<Item = Args>,
    ) -> Result<Vec<R>>
    where
        F: Function<Args, M, Output = R>,
        Args: Serialize + DeserializeOwned + 'static,
        R: Serialize + DeserializeOwned + 'static,
    {
        let chunksize = Some(self.chunksize);
        self.pool
            .run_all(chunk::erase(sendable(func)?), Items::new(items), chunksize)
    }

    /// [`Pool::try_starmap`], `chunksize` items to a job.
    pub fn try_starmap<F, Args, M, R, E>(
        self,
        func: F,
        items: impl IntoIterator<Item = Args>,
    ) -> Result<Vec<R>>
    where
        F: Function<Args, M, Output = std::result::Result<R, E>>,
        Args: Serialize + DeserializeOwned + 'static,
        R: Serialize + DeserializeOwned + 'static,
        E: Serialize + std::fmt::Display + 'static,
    {
        let chunksize = Some(self.chunksize);
        self.pool.run_all(
            chunk::erase_fallible(sendable(func)?),
            Items::new(items),
            chunksize,
        )
    }

    /// [`Pool::map_async`], `chunksize` items to a job.
    pub fn map_async<A, R>(
        self,
        func: fn(A) -> R,
        items: impl IntoIterator<Item = A>,
    ) -> Result<AsyncResult<Vec<R>>>
    where
        A: Serialize + DeserializeOwned + 'static,
        R: Serialize + DeserializeOwned + 'static,
    {
        let chunksize = Some(self.chunksize);
        self.pool
            .submit_async(chunk::erase(func), Items::new(items), chunksize)
    }

    /// [`Pool::try_map_async`], `chunksize` items to a job.
    pub fn try_map_async<A, R, E>(
        self,
        func: fn(A) -> std::result::Result<R, E>,
        items: impl IntoIterator<Item = A>,
    ) -> Result<AsyncResult<Vec<R>>>
    where
        A: Serialize + DeserializeOwned + 'static,
        R: Serialize + DeserializeOwned + 'static,
        E: Serialize + std::fmt::Display + 'static,
    {
        let chunksize = Some(self.chunksize);
        self.pool
            .submit_async(chunk::erase_fallible(func), Items::new(items), chunksize)
    }

    /// [`Pool::starmap_async`], `chunksize` items to a job.
    pub fn starmap_async<F, Args, M, R>(
        self,
        func: F,
        items: impl IntoIterator<Item = Args>,
    ) -> Result<AsyncResult<Vec<R>>>
    where
        F: Function<Args, M, Output = R>,
        Args: Serialize + DeserializeOwned + 'static,
        R: Serialize + DeserializeOwned + 'static,
    {
        let chunksize = Some(self.chunksize);
        self.pool
            .submit_async(chunk::erase(sendable(func)?), Items::new(items), chunksize)
    }

    /// [`Pool::try_starmap_async`], `chunksize` items to a job.
    pub fn try_starmap_async<F, Args, M, R, E>(
        self,
        func: F,
        items: impl IntoIterator<Item = Args>,
    ) -> Result<AsyncResult<Vec<R>>>
    where
        F: Function<Args, M, Output = std::result::Result<R, E>>,
        Args: Serialize + DeserializeOwned + 'static,
        R: Serialize + DeserializeOwned + 'static,
        E: Serialize + std::fmt::Display + 'static,
    {
        let chunksize = Some(self.chunksize);
        self.pool.submit_async(
            chunk::erase_fallible(sendable(func)?),
            Items::new(items),
            chunksize,
        )
    }

    /// [`Pool::imap`], `chunksize` items to a job.
    pub fn imap<'a, A, R>(
        self,
        func: fn(A) -> R,
        items: impl IntoIterator<Item = A, IntoIter: Send + 'a>,
    ) -> Result<Imap<'a, R>>
    where
        A: Serialize + DeserializeOwned + 'static,
        R: Serialize + DeserializeOwned + 'static,
    {
        let chunksize = Some(self.chunksize);
        self.pool
            .imap_with(chunk::erase(func), items, chunksize, true)
    }

    /// [`Pool::try_imap`], `chunksize` items to a job.
    pub fn try_imap<'a, A, R, E>(
        self,
        func: fn(A) -> std::result::Result<R, E>,
        items: impl IntoIterator<Item = A, IntoIter: Send + 'a>,
    ) -> Result<Imap<'a, R>>
    where
        A: Serialize + DeserializeOwned + 'static,
        R: Serialize + DeserializeOwned + 'static,
        E: Serialize + std::fmt::Display + 'static,
    {
        let chunksize = Some(self.chunksize);
        self.pool
            .imap_with(chunk::erase_fallible(func), items, chunksize, true)
    }

    /// [`Pool::imap_unordered`], `chunksize` items to a job.
    pub fn imap_unordered<'a, A, R>(
        self,
        func: fn(A) -> R,
        items: impl IntoIterator<Item = A, IntoIter: Send + 'a>,
    ) -> Result<Imap<'a, R>>
    where
        A: Serialize + DeserializeOwned + 'static,
        R: Serialize + DeserializeOwned + 'static,
    {
        let chunksize = Some(self.chunksize);
        self.pool
            .imap_with(chunk::erase(func), items, chunksize, false)
    }

    /// [`Pool::try_imap_unordered`], `chunksize` items to a job.
    pub fn try_imap_unordered<'a, A, R, E>(
        self,
        func: fn(A) -> std::result::Result<R, E>,
        items: impl IntoIterator<Item = A, IntoIter: Send + 'a>,
    ) -> Result<Imap<'a, R>>
    where
        A: Serialize + DeserializeOwned + 'static,
        R: Serialize + DeserializeOwned + 'static,
        E: Serialize + std::fmt::Display + 'static,
    {
        let chunksize = Some(self.chunksize);
        self.pool
            .imap_with(chunk::erase_fallible(func), items, chunksize, false)
    }
}
