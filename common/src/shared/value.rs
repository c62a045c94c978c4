//! [`Value`]: one number in shared memory, like
//! `multiprocessing.Value(typecode, initial)`.

use serde::{Deserialize, Serialize};

use super::raw::RawValue;
use super::scalar::Scalar;
use crate::error::Result;
use crate::sync::RLock;

/// One number in shared memory, like `multiprocessing.Value('q', 0)`
/// (`Value::new(0i64)`) or `Value('d', 0.0)` (`Value::new(0.0)`), with its
/// lock ([`get_lock`](Value::get_lock)), as Python's has by default; a
/// [`RawValue`](crate::RawValue) has none (`Value('q', 0, lock=False)`).
///
/// [`get`](Value::get) and [`set`](Value::set) are each atomic, but
/// `v.set(v.get() + 1)` is two steps, and another process may act in
/// between: the lost update Python shows with `v.value += 1` without
/// `get_lock()`. Hold [`get_lock`](Value::get_lock) around such steps, or
/// use [`add`](Value::add), which is one atomic step.
///
/// ```
/// use common::{Process, Value};
///
/// fn add_ten(v: Value<f64>) {
///     for _ in 0..10 {
///         let _held = v.get_lock().acquire().expect("the lock");
///         v.set(v.get() + 0.5);
///     }
/// }
///
/// let total = Value::new(0.0)?;
/// let mut processes = Vec::new();
/// for _ in 0..3 {
///     let mut process = Process::with_args(add_ten, total.clone());
///     process.start()?;
///     processes.push(process);
/// }
/// for process in &processes {
///     process.join()?;
/// }
/// assert_eq!(total.get(), 15.0);
/// # Ok::<(), common::Error>(())
/// ```
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(bound = "")]
pub struct Value<T: Scalar = i64> {
    raw: RawValue<T>,
    lock: RLock,
}

impl<T: Scalar> Value<T> {
    /// A shared number holding `initial`.
    ///
    /// ```
    /// let v = common::Value::new(7)?;
    /// assert_eq!(v.get(), 7);
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn new(initial: T) -> Result<Value<T>> {
        Ok(Value {
            raw: RawValue::new(initial)?,
            lock: RLock::new()?,
        })
    }

    /// Another handle to the same value: the same as [`Clone`], which
    /// cannot fail (kept for code written before it).
    pub fn try_clone(&self) -> Result<Value<T>> {
        Ok(self.clone())
    }

    /// The value now, like reading `v.value`.
    ///
    /// ```
    /// assert_eq!(common::Value::new(-3)?.get(), -3);
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn get(&self) -> T {
        self.raw.get()
    }

    /// Replaces the value, like assigning `v.value`.
    ///
    /// ```
    /// let v = common::Value::new(0.0)?;
    /// v.set(4.25);
    /// assert_eq!(v.get(), 4.25);
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn set(&self, value: T) {
        self.raw.set(value);
    }

    /// Adds `delta` in one atomic step (wrapping for integers), like
    /// `v.value += delta` under `v.get_lock()`; returns the value before.
    ///
    /// ```
    /// let v = common::Value::new(1)?;
    /// assert_eq!(v.add(2), 1);
    /// assert_eq!(v.get(), 3);
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn add(&self, delta: T) -> T {
        self.raw.add(delta)
    }

    /// The lock that goes with the value, like `v.get_lock()`: an
    /// [`RLock`] for steps that must not interleave with another
    /// process's.
    ///
    /// ```
    /// let v = common::Value::new(1u32)?;
    /// {
    ///     let _held = v.get_lock().acquire()?;
    ///     v.set(v.get() * 10);
    /// }
    /// assert_eq!(v.get(), 10);
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn get_lock(&self) -> &RLock {
        &self.lock
    }
}
