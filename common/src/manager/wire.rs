//! What a manager's clients and its server say to each other: one
//! [`Request`], one [`Reply`], each a serde message on a
//! [`Connection`](crate::Connection). Keys and values travel encoded (the
//! server stores bytes; the proxies know the types), so the server never
//! needs to know a type: what needs one (sorting a list) is done by the
//! client, which writes the result back only if nobody changed the object
//! meanwhile ([`Request::Snapshot`], [`Request::ReplaceIf`]).

use serde::{Deserialize, Serialize};

/// The kinds of shared object a manager keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(super) enum Kind {
    Dict,
    List,
    Namespace,
}

/// An encoded key or value.
pub(super) type Bytes = Vec<u8>;

/// One request to the server. `id` names an object.
#[derive(Debug, Serialize, Deserialize)]
pub(super) enum Request {
    /// Make a new, empty object; replies with its id.
    Create(Kind),
    /// The object kept under a name, made (empty) if there is none yet;
    /// replies with its id.
    Named(Kind, String),
    /// Read a key of a dict or namespace.
    Get(u64, Bytes),
    /// Set a key of a dict or namespace.
    Set(u64, Bytes, Bytes),
    /// Set each key of a dict to its value, in order.
    Update(u64, Vec<(Bytes, Bytes)>),
    /// Remove a key; replies with the old value.
    Remove(u64, Bytes),
    /// Every (key, value) of a dict or namespace, in insertion order.
    Items(u64),
    /// Every key of a dict, in insertion order.
    Keys(u64),
    /// Every value of a dict, in insertion order.
    Values(u64),
    /// Item `index` of a list.
    At(u64, usize),
    /// Replace item `index` of a list.
    SetAt(u64, usize, Bytes),
    /// Append to a list.
    Push(u64, Bytes),
    /// Append each to a list, in order.
    Extend(u64, Vec<Bytes>),
    /// Remove and return the last item of a list.
    Pop(u64),
    /// Every item of a list.
    All(u64),
    /// Reverse a list in place.
    Reverse(u64),
    /// Every item of a list, and the list's version (changed by every
    /// change to it).
    Snapshot(u64),
    /// Replace every item of a list, if its version is still this one.
    ReplaceIf(u64, u64, Vec<Bytes>),
    /// Remove every entry or item.
    Clear(u64),
    /// How many entries an object has.
    Len(u64),
    /// Stop serving.
    Shutdown,
}

/// The server's answer.
#[derive(Debug, Serialize, Deserialize)]
pub(super) enum Reply {
    Done,
    Id(u64),
    Value(Option<Bytes>),
    Values(Vec<Bytes>),
    Pairs(Vec<(Bytes, Bytes)>),
    Len(usize),
    /// A list's items and its version.
    Snapshot(u64, Vec<Bytes>),
    /// A [`Request::ReplaceIf`] found the list changed: nothing was done.
    Stale,
    /// The request made no sense (wrong kind of object, index out of
    /// range): the message says why.
    Refused(String),
}
