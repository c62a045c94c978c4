//! What an observer outside the processes may rely on to see data cross
//! between them: the names of the shared memory files, where a value's
//! number and a queue's counters lie in them, and how a pipe's messages
//! and a queue's values are framed. The grader reads these through the
//! kernel (`/proc/PID/maps`, the processor's debug registers, the bytes a
//! `sendmsg` or `recvmsg` carried); nothing here is a promise to anyone
//! else, and nothing here makes a system call.
//!
//! # Shared memory
//!
//! Every value, array, queue and lock lives in a file of its own made by
//! `memfd_create`, named for its kind ([`Memory::file_name`]), which
//! `/proc/PID/maps` shows as `/memfd:NAME (deleted)`: so a process's
//! mappings of values can be told from those of locks.
//!
//! - A [`Value`](crate::Value)'s number is the file's first 64-bit word,
//!   whatever its type (an `i32` is its low half).
//! - An [`Array`](crate::Array)'s element `i` is the word at byte `8 * i`.
//! - A [`Queue`](crate::Queue) is a ring: the count of bytes writers have
//!   published ever is the word at [`RING_TAIL`], the count readers have
//!   consumed the word at [`RING_HEAD`], and [`RING_CAPACITY`] bytes of
//!   data follow from [`RING_DATA`]. A writer copies an entry in and then
//!   moves the tail past it; a reader copies it out and then moves the
//!   head past it. [`ring_entries`] parses what a move of the tail
//!   published.
//!
//! # Pipes
//!
//! A [`Connection`](crate::Connection)'s message goes as one or more
//! records on a `SOCK_SEQPACKET` socket pair (made by `socketpair`), each
//! received whole or not at all; [`record`] parses one.
//!
//! # Values
//!
//! A message, or a queue's value, is the value's serde encoding
//! (`postcard`: integers as variable-length numbers, signed ones zigzag,
//! strings as a length and their bytes, `Option` as a tag byte);
//! [`value_bytes`] gives it.

pub use crate::sys::memory::Memory;
use crate::sys::ring;

/// Byte offset of a queue's count of bytes published, in its file.
pub const RING_TAIL: usize = ring::TAIL_AT;
/// Byte offset of a queue's count of bytes consumed, in its file.
pub const RING_HEAD: usize = ring::HEAD_AT;
/// Byte offset of a queue's data, in its file.
pub const RING_DATA: usize = ring::DATA_AT;
/// How many bytes of data a queue's ring holds.
pub const RING_CAPACITY: usize = ring::CAPACITY;

/// An entry of a queue's ring, as [`ring_entries`] finds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RingEntry {
    /// Where it begins, as a count of bytes published ever (the tail's
    /// value before it).
    pub at: u64,
    /// Where it ends: once the head has moved this far, it was consumed.
    pub end: u64,
    /// Whether it begins a value.
    pub first: bool,
    /// Whether it ends a value.
    pub last: bool,
    /// Its piece of the value.
    pub piece: Vec<u8>,
}

/// The entries a writer published by moving a queue's tail from `from` to
/// `to`, read from the ring's data by `data(at, len)`: `len` bytes from
/// byte `at` of the data (an offset below [`RING_CAPACITY`]). A value
/// larger than one entry spans several, from a `first` to a `last`.
pub fn ring_entries(
    from: u64,
    to: u64,
    data: impl FnMut(usize, usize) -> Vec<u8>,
) -> Vec<RingEntry> {
    ring::published(from, to, data)
        .into_iter()
        .map(|p| RingEntry {
            at: p.at,
            end: p.end,
            first: p.first,
            last: p.last,
            piece: p.piece,
        })
        .collect()
}

/// One record of a pipe's message: whether it begins a message, whether it
/// ends one, and its piece of the message; `None` for bytes that are not a
/// record.
pub fn record(bytes: &[u8]) -> Option<(bool, bool, &[u8])> {
    crate::records::record_parts(bytes)
}

/// The value's encoding in a whole message of a
/// [`Connection`](crate::Connection) (its record's piece, or pieces
/// joined): what follows the type tag the connection puts first;
/// `None` for a message too short to hold one.
pub fn message_value(message: &[u8]) -> Option<&[u8]> {
    message.get(crate::connection::TAG_BYTES..)
}

/// The value's own encoding in a whole message or queue value.
pub fn value_bytes(message: &[u8]) -> &[u8] {
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mapping_is_known_by_its_name() {
        assert_eq!(
            Memory::of_mapping("/memfd:common-value (deleted)"),
            Some(Memory::Value)
        );
        assert_eq!(
            Memory::of_mapping("/memfd:common-queue"),
            Some(Memory::Queue)
        );
        assert_eq!(Memory::of_mapping("/memfd:other (deleted)"), None);
        assert_eq!(Memory::of_mapping("/usr/lib/libc.so.6"), None);
    }

    /// What an observer reads of a record a connection sent is the value
    /// the connection was given.
    #[test]
    fn a_message_is_its_value_after_its_tag() {
        use std::os::fd::{AsFd, AsRawFd};

        let (ours, theirs) = crate::pipe::<String>().expect("a pipe");
        ours.send(&"ping 3".to_owned()).expect("sent");
        let mut bytes = vec![0u8; 256];
        let got = nix::sys::socket::recv(
            theirs.as_fd().as_raw_fd(),
            &mut bytes,
            nix::sys::socket::MsgFlags::MSG_DONTWAIT,
        )
        .expect("a record");
        let (first, last, message) = record(&bytes[..got]).expect("a record");
        assert!(first && last, "one record holds a short message");
        let value = message_value(message).expect("a tag and a value");
        assert_eq!(
            postcard::from_bytes::<String>(value).expect("a String"),
            "ping 3"
        );
    }
}
