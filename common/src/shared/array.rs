//! [`Array`]: numbers in shared memory, like
//! `multiprocessing.Array(typecode, size)`.

use std::marker::PhantomData;

use serde::{Deserialize, Serialize};

use super::scalar::Scalar;
use super::value::add;
use crate::error::Result;
use crate::sync::RLock;
use crate::sys::Slots;

/// `len` numbers in shared memory, like `multiprocessing.Array('q', len)`
/// (`Array::<i64>::new(len)`) or `Array('d', [..])`
/// (`Array::from_slice(&[..])`), with its lock
/// ([`get_lock`](Array::get_lock)).
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
///     let mut process = Process::with_args(square_in_place, (numbers.try_clone()?, i));
///     process.start()?;
///     process.join()?;
/// }
/// assert_eq!(numbers.to_vec(), [1, 4, 9]);
/// # Ok::<(), common::Error>(())
/// ```
#[derive(Debug, Serialize, Deserialize)]
#[serde(bound = "")]
pub struct Array<T: Scalar = i64> {
    slots: Slots,
    len: usize,
    lock: RLock,
    #[serde(skip)]
    kind: PhantomData<T>,
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
            slots: Slots::new(len)?,
            len,
            lock: RLock::new()?,
            kind: PhantomData,
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
        let array = Array::new(values.len())?;
        for (i, &value) in values.iter().enumerate() {
            array.set(i, value);
        }
        Ok(array)
    }

    /// Another handle to the same memory, to give to another process.
    ///
    /// ```
    /// let a = common::Array::<i64>::new(1)?;
    /// a.try_clone()?.set(0, 9);
    /// assert_eq!(a.get(0), 9);
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn try_clone(&self) -> Result<Array<T>> {
        Ok(Array {
            slots: self.slots.try_clone()?,
            len: self.len,
            lock: self.lock.try_clone()?,
            kind: PhantomData,
        })
    }

    /// How many there are, like `len(a)`.
    ///
    /// ```
    /// assert_eq!(common::Array::<u8>::new(4)?.len(), 4);
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there are none.
    ///
    /// ```
    /// assert!(common::Array::<i64>::new(0)?.is_empty());
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Element `i`, like `a[i]`. Panics when `i` is out of bounds, as
    /// Python raises `IndexError`.
    ///
    /// ```
    /// assert_eq!(common::Array::from_slice(&[1, 2])?.get(0), 1);
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn get(&self, i: usize) -> T {
        T::from_bits(self.slots.get(self.index(i)))
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
        self.slots.set(self.index(i), value.to_bits());
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
        add(&self.slots, self.index(i), delta)
    }

    /// A copy of every element, like `a[:]`.
    ///
    /// ```
    /// assert_eq!(common::Array::from_slice(&[3, 2, 1])?.to_vec(), [3, 2, 1]);
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn to_vec(&self) -> Vec<T> {
        (0..self.len).map(|i| self.get(i)).collect()
    }

    /// The lock that goes with the array, like `a.get_lock()`.
    pub fn get_lock(&self) -> &RLock {
        &self.lock
    }

    fn index(&self, i: usize) -> usize {
        assert!(
            i < self.len,
            "index {i} out of range for an Array of {}",
            self.len
        );
        i
    }
}
