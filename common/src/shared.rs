//! [`Value`] and [`Array`]: integers in memory that processes share, like
//! Python's `multiprocessing.Value('q', 0)` and `Array('q', n)`.
//!
//! The memory is a `memfd` mapped shared, so a forked child shares it, and
//! a spawned child is sent its descriptor and maps it too (see
//! [`crossing`](crate::crossing)).

use std::os::fd::{AsFd, OwnedFd};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::{Error, Result};
use crate::sys::Slots;

/// One `i64` in shared memory, like `multiprocessing.Value('q', 0)`.
///
/// [`get`](Value::get) and [`set`](Value::set) are each atomic, but
/// `v.set(v.get() + 1)` is two steps, and another process may act in
/// between: the lost update Python shows with `v.value += 1` without
/// `get_lock()`. [`add`](Value::add) does it in one step.
///
/// ```
/// use common::{Process, Value};
///
/// fn add_ten(v: Value) {
///     for _ in 0..10 {
///         v.add(1);
///     }
/// }
///
/// let total = Value::new(0)?;
/// let mut processes = Vec::new();
/// for _ in 0..3 {
///     let mut process = Process::with_args(add_ten, total.try_clone()?);
///     process.start()?;
///     processes.push(process);
/// }
/// for process in &processes {
///     process.join()?;
/// }
/// assert_eq!(total.get(), 30);
/// # Ok::<(), common::Error>(())
/// ```
pub struct Value {
    slots: Slots,
}

/// `len` `i64`s in shared memory, like `multiprocessing.Array('q', len)`.
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
pub struct Array {
    slots: Slots,
    len: usize,
}

/// Another mapping of the same memory.
fn remap(slots: &Slots, len: usize) -> Result<Slots> {
    let memory = slots
        .memory()
        .try_clone_to_owned()
        .map_err(|e| Error::os("dup", e))?;
    Slots::map(memory, len)
}

impl Value {
    /// A shared `i64` holding `initial`.
    ///
    /// ```
    /// let v = common::Value::new(7)?;
    /// assert_eq!(v.get(), 7);
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn new(initial: i64) -> Result<Value> {
        let value = Value {
            slots: Slots::new(1)?,
        };
        value.set(initial);
        Ok(value)
    }

    /// Another handle to the same memory, to give to another process.
    ///
    /// ```
    /// let v = common::Value::new(0)?;
    /// v.try_clone()?.set(5);
    /// assert_eq!(v.get(), 5);
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn try_clone(&self) -> Result<Value> {
        Ok(Value {
            slots: remap(&self.slots, 1)?,
        })
    }

    /// The value now, like reading `v.value`.
    ///
    /// ```
    /// assert_eq!(common::Value::new(-3)?.get(), -3);
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn get(&self) -> i64 {
        self.slots.get(0).cast_signed()
    }

    /// Replaces the value, like assigning `v.value`.
    ///
    /// ```
    /// let v = common::Value::new(0)?;
    /// v.set(42);
    /// assert_eq!(v.get(), 42);
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn set(&self, value: i64) {
        self.slots.set(0, value.cast_unsigned());
    }

    /// Adds `delta` in one atomic step (wrapping), like `v.value += delta`
    /// under `v.get_lock()`; returns the value before.
    ///
    /// ```
    /// let v = common::Value::new(1)?;
    /// assert_eq!(v.add(2), 1);
    /// assert_eq!(v.get(), 3);
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn add(&self, delta: i64) -> i64 {
        self.slots.add(0, delta.cast_unsigned()).cast_signed()
    }
}

impl Array {
    /// `len` shared `i64`s, all 0.
    ///
    /// ```
    /// let a = common::Array::new(3)?;
    /// assert_eq!(a.to_vec(), [0, 0, 0]);
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn new(len: usize) -> Result<Array> {
        Ok(Array {
            slots: Slots::new(len)?,
            len,
        })
    }

    /// Shared `i64`s holding `values`.
    ///
    /// ```
    /// let a = common::Array::from_slice(&[4, 5])?;
    /// assert_eq!(a.get(1), 5);
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn from_slice(values: &[i64]) -> Result<Array> {
        let array = Array::new(values.len())?;
        for (i, &v) in values.iter().enumerate() {
            array.set(i, v);
        }
        Ok(array)
    }

    /// Another handle to the same memory, to give to another process.
    ///
    /// ```
    /// let a = common::Array::new(1)?;
    /// a.try_clone()?.set(0, 9);
    /// assert_eq!(a.get(0), 9);
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn try_clone(&self) -> Result<Array> {
        Ok(Array {
            slots: remap(&self.slots, self.len)?,
            len: self.len,
        })
    }

    /// How many there are, like `len(a)`.
    ///
    /// ```
    /// assert_eq!(common::Array::new(4)?.len(), 4);
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there are none.
    ///
    /// ```
    /// assert!(common::Array::new(0)?.is_empty());
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
    pub fn get(&self, i: usize) -> i64 {
        self.slots.get(self.index(i)).cast_signed()
    }

    /// Sets element `i`, like `a[i] = value`.
    ///
    /// ```
    /// let a = common::Array::new(2)?;
    /// a.set(1, -1);
    /// assert_eq!(a.to_vec(), [0, -1]);
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn set(&self, i: usize, value: i64) {
        self.slots.set(self.index(i), value.cast_unsigned());
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
    pub fn add(&self, i: usize, delta: i64) -> i64 {
        self.slots
            .add(self.index(i), delta.cast_unsigned())
            .cast_signed()
    }

    /// A copy of every element, like `a[:]`.
    ///
    /// ```
    /// assert_eq!(common::Array::from_slice(&[3, 2, 1])?.to_vec(), [3, 2, 1]);
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn to_vec(&self) -> Vec<i64> {
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

/// How shared memory crosses: its descriptor and its length.
#[derive(Serialize, Deserialize)]
struct Wire {
    #[serde(with = "crate::crossing")]
    memory: OwnedFd,
    len: usize,
}

fn to_wire(slots: &Slots, len: usize) -> std::io::Result<Wire> {
    Ok(Wire {
        memory: slots.memory().as_fd().try_clone_to_owned()?,
        len,
    })
}

impl Serialize for Value {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let wire = to_wire(&self.slots, 1).map_err(serde::ser::Error::custom)?;
        wire.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Value, D::Error> {
        let wire = Wire::deserialize(deserializer)?;
        let slots = Slots::map(wire.memory, 1).map_err(serde::de::Error::custom)?;
        Ok(Value { slots })
    }
}

impl Serialize for Array {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let wire = to_wire(&self.slots, self.len).map_err(serde::ser::Error::custom)?;
        wire.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Array {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Array, D::Error> {
        let wire = Wire::deserialize(deserializer)?;
        let slots = Slots::map(wire.memory, wire.len).map_err(serde::de::Error::custom)?;
        Ok(Array {
            slots,
            len: wire.len,
        })
    }
}

impl std::fmt::Debug for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Value").field(&self.get()).finish()
    }
}

impl std::fmt::Debug for Array {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Array").field(&self.to_vec()).finish()
    }
}
