//! [`Array`]: numbers in shared memory, like
//! `multiprocessing.Array(typecode, size)`.

use serde::{Deserialize, Serialize};

use super::raw::RawArray;
use super::scalar::Scalar;
use crate::error::Result;
use crate::sync::RLock;

/// `len` numbers in shared memory, like `multiprocessing.Array('q', len)`
/// (`Array::<i64>::new(len)`) or `Array('d', [..])`
/// (`Array::from_slice(&[..])`), or `Array('i', range(10))`
/// (`Array::from_iter(0..10)`), with its lock
/// ([`get_lock`](Array::get_lock)); a [`RawArray`](crate::RawArray) has
/// none (`Array('q', len, lock=False)`).
///
/// ```
/// use common::{Array, Process};
///
/// fn square_in_place((a, i): (Array, usize)) {
///     let n = a.get(i);
///     a.set(i, n * n);
/// }
///
/// let numbers = Array::from_slice(&[1, 2, 3])?;
/// for i in 0..numbers.len() {
///     let mut process = Process::with_args(square_in_place, (numbers.clone(), i));
///     process.start()?;
///     process.join()?;
/// }
/// assert_eq!(numbers.to_vec(), [1, 4, 9]);
/// # Ok::<(), common::Error>(())
/// ```
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(bound = "")]
pub struct Array<T: Scalar = i64> {
    raw: RawArray<T>,
    lock: RLock,
}

impl<T: Scalar> Array<T> {
    /// `len` shared numbers, all zero (or `false`).
    ///
    /// ```
    /// let a = common::Array::<i64>::new(3)?;
    /// assert_eq!(a.to_vec(), [0, 0, 0]);
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn new(len: usize) -> Result<Array<T>> {
        Ok(Array {
            raw: RawArray::new(len)?,
            lock: RLock::new()?,
        })
    }

    /// Shared numbers holding a copy of `values`, like
    /// `Array('d', [1.0, 2.0])`.
    ///
    /// ```
    /// let a = common::Array::from_slice(&[1.5, 2.5])?;
    /// assert_eq!(a.to_vec(), [1.5, 2.5]);
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn from_slice(values: &[T]) -> Result<Array<T>> {
        Array::from_iter(values.iter().copied())
    }

    /// Shared numbers holding `values` in order, like
    /// `Array('i', range(10))`.
    ///
    /// ```
    /// let a = common::Array::from_iter((1..=4).map(|n| n * n))?;
    /// assert_eq!(a.to_vec(), [1, 4, 9, 16]);
    /// # Ok::<(), common::Error>(())
    /// ```
    #[expect(
        clippy::should_implement_trait,
        reason = "making shared memory can fail, and FromIterator cannot say so"
    )]
    pub fn from_iter(values: impl IntoIterator<Item = T>) -> Result<Array<T>> {
        Ok(Array {
            raw: RawArray::from_iter(values)?,
            lock: RLock::new()?,
        })
    }

    /// Another handle to the same array: the same as [`Clone`], which
    /// cannot fail (kept for code written before it).
    pub fn try_clone(&self) -> Result<Array<T>> {
        Ok(self.clone())
    }

    /// How many there are, like `len(a)`.
    ///
    /// ```
    /// assert_eq!(common::Array::<u8>::new(4)?.len(), 4);
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn len(&self) -> usize {
        self.raw.len()
    }

    /// Whether there are none.
    ///
    /// ```
    /// assert!(common::Array::<i64>::new(0)?.is_empty());
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn is_empty(&self) -> bool {
        self.raw.is_empty()
    }

    /// Element `i`, like `a[i]`. Panics when `i` is out of bounds, as
    /// Python raises `IndexError`.
    ///
    /// ```
    /// assert_eq!(common::Array::from_slice(&[1, 2])?.get(0), 1);
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn get(&self, i: usize) -> T {
        self.raw.get(i)
    }

    /// Sets element `i`, like `a[i] = value`.
    ///
    /// ```
    /// let a = common::Array::new(2)?;
    /// a.set(1, -1);
    /// assert_eq!(a.to_vec(), [0, -1]);
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn set(&self, i: usize, value: T) {
        self.raw.set(i, value);
    }

    /// Adds `delta` to element `i` in one atomic step; returns the value
    /// before.
    ///
    /// ```
    /// let a = common::Array::new(1)?;
    /// a.add(0, 5);
    /// assert_eq!(a.get(0), 5);
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn add(&self, i: usize, delta: T) -> T {
        self.raw.add(i, delta)
    }

    /// A copy of every element, like `a[:]`.
    ///
    /// ```
    /// assert_eq!(common::Array::from_slice(&[3, 2, 1])?.to_vec(), [3, 2, 1]);
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn to_vec(&self) -> Vec<T> {
        self.raw.to_vec()
    }

    /// The lock that goes with the array, like `a.get_lock()`.
    pub fn get_lock(&self) -> &RLock {
        &self.lock
    }
}
