//! [`ShareableList`]: numbers in a named shared memory block, like
//! `multiprocessing.shared_memory.ShareableList`.

use std::marker::PhantomData;
use std::sync::atomic::Ordering;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::block::SharedMemory;
use super::scalar::Scalar;
use crate::error::{Error, Result};

/// A fixed-length list of numbers of one type in a [`SharedMemory`] block,
/// any process can open by name, like `shared_memory.ShareableList`.
/// Python's may mix types, strings and bytes; this one holds one
/// [`Scalar`] type, each item a 64-bit atomic word (the block starts with
/// the length).
///
/// ```
/// use common::{Process, ShareableList};
///
/// fn double_all(list: ShareableList<f64>) {
///     for i in 0..list.len() {
///         list.set(i, list.get(i) * 2.0);
///     }
/// }
///
/// let list = ShareableList::new(&[1.0, 2.5])?;
/// let mut child = Process::with_args(double_all, list.clone());
/// child.start()?;
/// child.join()?;
/// assert_eq!(list.to_vec(), [2.0, 5.0]);
/// # Ok::<(), common::Error>(())
/// ```
#[derive(Clone)]
pub struct ShareableList<T: Scalar> {
    block: SharedMemory,
    len: usize,
    kind: PhantomData<T>,
}

/// Where item `i` lives in the block: after the length word.
fn offset(i: usize) -> usize {
    (i + 1) * 8
}

impl<T: Scalar> ShareableList<T> {
    /// A new block under a fresh name holding `values`, like
    /// `ShareableList(values)`.
    pub fn new(values: &[T]) -> Result<ShareableList<T>> {
        let block = SharedMemory::create(offset(values.len()))?;
        block.word(0).store(values.len() as u64, Ordering::Release);
        let list = ShareableList {
            block,
            len: values.len(),
            kind: PhantomData,
        };
        for (i, &value) in values.iter().enumerate() {
            list.set(i, value);
        }
        Ok(list)
    }

    /// The list in block `name`, like `ShareableList(name=name)`.
    ///
    /// ```
    /// let list = common::ShareableList::new(&[7u32])?;
    /// let same = common::ShareableList::<u32>::open(list.name())?;
    /// assert_eq!(same.get(0), 7);
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn open(name: &str) -> Result<ShareableList<T>> {
        let block = SharedMemory::open(name)?;
        if block.size() < 8 {
            return Err(not_a_list(name));
        }
        let len = usize::try_from(block.word(0).load(Ordering::Acquire)).unwrap_or(usize::MAX);
        if len.checked_add(1).and_then(|n| n.checked_mul(8)) != Some(block.size()) {
            return Err(not_a_list(name));
        }
        Ok(ShareableList {
            block,
            len,
            kind: PhantomData,
        })
    }

    /// The block's name, like `sl.shm.name`.
    pub fn name(&self) -> &str {
        self.block.name()
    }

    /// The block itself, like `sl.shm`.
    pub fn shm(&self) -> &SharedMemory {
        &self.block
    }

    /// How many items, like `len(sl)`.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether it has none.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Item `i`, like `sl[i]`; panics when out of bounds.
    pub fn get(&self, i: usize) -> T {
        T::from_bits(self.word(i).load(Ordering::Acquire))
    }

    /// Sets item `i`, like `sl[i] = value`; panics when out of bounds.
    pub fn set(&self, i: usize, value: T) {
        self.word(i).store(value.to_bits(), Ordering::Release);
    }

    /// A copy of every item.
    pub fn to_vec(&self) -> Vec<T> {
        (0..self.len).map(|i| self.get(i)).collect()
    }

    fn word(&self, i: usize) -> &std::sync::atomic::AtomicU64 {
        assert!(
            i < self.len,
            "index {i} out of range for a list of {}",
            self.len
        );
        self.block.word(offset(i))
    }
}

fn not_a_list(name: &str) -> Error {
    Error::os(
        "open a ShareableList",
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("shared memory {name:?} does not hold a ShareableList"),
        ),
    )
}

impl<T: Scalar> std::fmt::Debug for ShareableList<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.to_vec()).finish()
    }
}

impl<T: Scalar> Serialize for ShareableList<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        self.name().serialize(serializer)
    }
}

impl<'de, T: Scalar> Deserialize<'de> for ShareableList<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        ShareableList::open(&name).map_err(serde::de::Error::custom)
    }
}
