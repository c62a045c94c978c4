//! [`RawValue`] and [`RawArray`]: numbers in shared memory with no lock,
//! like Python's `multiprocessing.RawValue` and `RawArray` (and
//! `Value(..., lock=False)`); [`Value`](crate::Value) and
//! [`Array`](crate::Array) are these with a lock beside them.

use std::marker::PhantomData;
use std::sync::atomic::Ordering;

use serde::{Deserialize, Serialize};

use super::scalar::Scalar;
use crate::error::Result;
use crate::sys::Slots;

/// One number in shared memory with no lock, like
/// `multiprocessing.RawValue('i', 0)` or `Value('i', 0, lock=False)`.
///
/// Each [`get`](RawValue::get) and [`set`](RawValue::set) is atomic, so a
/// read is never torn; `v.set(v.get() + 1)` in several processes loses
/// updates, as Python's `v.value += 1` does on a raw value. Use
/// [`add`](RawValue::add) (one atomic step) or a [`Value`](crate::Value),
/// whose lock makes several steps one.
///
/// ```
/// use common::{Process, RawValue};
///
/// fn answer(v: RawValue<i32>) {
///     v.set(42);
/// }
///
/// let v = RawValue::new(0)?;
/// let mut child = Process::with_args(answer, v.clone());
/// child.start()?;
/// child.join()?;
/// assert_eq!(v.get(), 42);
/// # Ok::<(), common::Error>(())
/// ```
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(bound = "")]
pub struct RawValue<T: Scalar = i64> {
    slots: Slots,
    #[serde(skip)]
    kind: PhantomData<T>,
}

impl<T: Scalar> RawValue<T> {
    /// A shared number holding `initial`.
    ///
    /// ```
    /// assert_eq!(common::RawValue::new(2.5)?.get(), 2.5);
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn new(initial: T) -> Result<RawValue<T>> {
        let value = RawValue {
            slots: Slots::named(crate::layout::Memory::Value, 1)?,
            kind: PhantomData,
        };
        value.set(initial);
        Ok(value)
    }

    /// Another handle to the same memory: the same as [`Clone`], which
    /// cannot fail (kept for code written before it).
    pub fn try_clone(&self) -> Result<RawValue<T>> {
        Ok(self.clone())
    }

    /// The value now, like reading `v.value`.
    pub fn get(&self) -> T {
        T::from_bits(self.slots.get(0))
    }

    /// Replaces the value, like assigning `v.value`.
    pub fn set(&self, value: T) {
        self.slots.set(0, value.to_bits());
    }

    /// Adds `delta` in one atomic step (wrapping for integers); returns the
    /// value before.
    ///
    /// ```
    /// let v = common::RawValue::new(1u8)?;
    /// assert_eq!(v.add(255), 1);
    /// assert_eq!(v.get(), 0);
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn add(&self, delta: T) -> T {
        add(&self.slots, 0, delta)
    }
}

/// `len` numbers in shared memory with no lock, like
/// `multiprocessing.RawArray('d', 10)` or `Array('d', 10, lock=False)`.
///
/// ```
/// use common::{Process, RawArray};
///
/// fn fill(a: RawArray<f64>) {
///     for i in 0..a.len() {
///         a.set(i, i as f64 / 2.0);
///     }
/// }
///
/// let a = RawArray::<f64>::new(3)?;
/// let mut child = Process::with_args(fill, a.clone());
/// child.start()?;
/// child.join()?;
/// assert_eq!(a.to_vec(), [0.0, 0.5, 1.0]);
/// # Ok::<(), common::Error>(())
/// ```
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(bound = "")]
pub struct RawArray<T: Scalar = i64> {
    slots: Slots,
    len: usize,
    #[serde(skip)]
    kind: PhantomData<T>,
}

impl<T: Scalar> RawArray<T> {
    /// `len` shared numbers, all zero (or `false`), like
    /// `RawArray('q', len)`.
    ///
    /// ```
    /// assert_eq!(common::RawArray::<u8>::new(2)?.to_vec(), [0, 0]);
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn new(len: usize) -> Result<RawArray<T>> {
        Ok(RawArray {
            slots: Slots::named(crate::layout::Memory::Array, len)?,
            len,
            kind: PhantomData,
        })
    }

    /// Shared numbers holding `values` in order, like
    /// `RawArray('i', range(3))`.
    ///
    /// ```
    /// assert_eq!(common::RawArray::from_iter(1..=3)?.to_vec(), [1, 2, 3]);
    /// # Ok::<(), common::Error>(())
    /// ```
    #[expect(
        clippy::should_implement_trait,
        reason = "making shared memory can fail, and FromIterator cannot say so"
    )]
    pub fn from_iter(values: impl IntoIterator<Item = T>) -> Result<RawArray<T>> {
        let values: Vec<T> = values.into_iter().collect();
        let array = RawArray::new(values.len())?;
        for (i, value) in values.into_iter().enumerate() {
            array.set(i, value);
        }
        Ok(array)
    }

    /// Another handle to the same memory: the same as [`Clone`], which
    /// cannot fail (kept for code written before it).
    pub fn try_clone(&self) -> Result<RawArray<T>> {
        Ok(self.clone())
    }

    /// How many there are, like `len(a)`.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Element `i`, like `a[i]`. Panics when `i` is out of bounds, as
    /// Python raises `IndexError`.
    pub fn get(&self, i: usize) -> T {
        T::from_bits(self.slots.get(self.index(i)))
    }

    /// Sets element `i`, like `a[i] = value`. Panics when `i` is out of
    /// bounds.
    pub fn set(&self, i: usize, value: T) {
        self.slots.set(self.index(i), value.to_bits());
    }

    /// Adds `delta` to element `i` in one atomic step; returns the value
    /// before.
    pub fn add(&self, i: usize, delta: T) -> T {
        add(&self.slots, self.index(i), delta)
    }

    /// A copy of every element, like `a[:]`.
    pub fn to_vec(&self) -> Vec<T> {
        (0..self.len).map(|i| self.get(i)).collect()
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

/// Adds `delta` to word `slot` in one atomic step; returns the value
/// before.
fn add<T: Scalar>(slots: &Slots, slot: usize, delta: T) -> T {
    if T::ADDS_AS_BITS {
        return T::from_bits(slots.add(slot, delta.to_bits()));
    }
    let word = slots.slot(slot);
    let mut seen = word.load(Ordering::Acquire);
    loop {
        let next = T::from_bits(seen).plus(delta).to_bits();
        match word.compare_exchange_weak(seen, next, Ordering::AcqRel, Ordering::Acquire) {
            Ok(before) => return T::from_bits(before),
            Err(now) => seen = now,
        }
    }
}
