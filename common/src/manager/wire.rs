//! What a manager's clients and its server say to each other: one
//! [`Request`], one [`Reply`], each a serde message on a
//! [`Connection`](crate::Connection). Keys and values travel encoded (the
//! server stores bytes; the proxies know the types).

use serde::{Deserialize, Serialize};

/// The kinds of shared object a manager keeps.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub(super) enum Kind {
    Dict,
    List,
    Namespace,
}

/// One request to the server.
#[derive(Debug, Serialize, Deserialize)]
pub(super) enum Request {
    /// Make a new object; replies with its id.
    Create(Kind),
    /// Read `key` of dict or namespace `id`.
    Get(u64, Vec<u8>),
    /// Set `key` of dict or namespace `id`.
    Set(u64, Vec<u8>, Vec<u8>),
    /// Remove `key` of dict or namespace `id`; replies with the old value.
    Remove(u64, Vec<u8>),
    /// Every (key, value) of dict or namespace `id`.
    Items(u64),
    /// Item `index` of list `id`.
    At(u64, usize),
    /// Replace item `index` of list `id`.
    SetAt(u64, usize, Vec<u8>),
    /// Append to list `id`.
    Push(u64, Vec<u8>),
    /// Remove and return the last item of list `id`.
    Pop(u64),
    /// Every item of list `id`.
    All(u64),
    /// How many entries object `id` has.
    Len(u64),
    /// Stop serving.
    Shutdown,
}

/// The server's answer.
#[derive(Debug, Serialize, Deserialize)]
pub(super) enum Reply {
    Done,
    Id(u64),
    Value(Option<Vec<u8>>),
    Values(Vec<Vec<u8>>),
    Pairs(Vec<(Vec<u8>, Vec<u8>)>),
    Len(usize),
    /// The request made no sense (wrong kind of object, index out of
    /// range): the message says why.
    Refused(String),
}
