//! Memory that processes share: [`Value`] and [`Array`] of plain numbers,
//! like Python's `multiprocessing.Value` and `Array`, [`RawValue`] and
//! [`RawArray`] without their lock, and
//! [`SharedMemory`] blocks by name with [`ShareableList`], like
//! `multiprocessing.shared_memory`.
//!
//! `Value` and `Array` are `memfd`s mapped shared, so a forked child shares
//! them, and a spawned child is sent the descriptor and maps it too (see
//! [`crossing`](crate::crossing)). Each number takes a 64-bit atomic word,
//! whatever its type ([`Scalar`]), so reads and writes are never torn.

mod array;
mod block;
mod list;
mod raw;
mod scalar;
mod value;

pub use array::Array;
pub use block::SharedMemory;
pub use list::ShareableList;
pub use raw::{RawArray, RawValue};
pub use scalar::Scalar;
pub use value::Value;
