//! A message's type tag: what a [`Connection`](crate::Connection) puts
//! before each value it sends, so that the receiver can tell a value of
//! the type it asks for from anything else.
//!
//! The tag is a hash (FNV-1a, 64 bits) of the type's name as
//! `std::any::type_name` spells it, made alike for types that serde and
//! postcard encode alike, so that what is sent as one is received as the
//! other: a reference as what it refers to (`&T` as `T`), `String` as
//! `str`, `Vec<T>` as `[T]`, `Box<T>` as `T`. So `send(&"text")` is
//! received as a `String`, and `send(&[1u8, 2][..])` as a `Vec<u8>`; an
//! array (`[u8; 2]`, encoded without its length) stays apart from a
//! vector. Two programs built by the same compiler name a type alike.

use std::cell::Cell;

/// The most nested `<...>` whose closing is rewritten; deeper ones are
/// hashed as they are.
const DEPTH: usize = 32;

/// The tag of values of `U`: worked out once per type and thread, then
/// looked up (a message's tag was a walk over its type's name, on both
/// sides of every message).
pub(super) fn tag<U: ?Sized>() -> u64 {
    let name = std::any::type_name::<U>();
    // The same type always gives the same `&'static str`; two types with
    // the same name hash alike anyway, so the name is the key.
    let slot = (name.as_ptr() as usize >> 3) % KNOWN;
    let key = (name.as_ptr() as usize, name.len());
    if let Some(tag) = LEARNT.with(|learnt| {
        let (known, tag) = learnt[slot].get();
        (known == key).then_some(tag)
    }) {
        return tag;
    }
    let tag = tag_of(name.as_bytes());
    LEARNT.with(|learnt| learnt[slot].set((key, tag)));
    tag
}

/// How many tags a thread keeps (one per slot, the last one asked for).
const KNOWN: usize = 64;

thread_local! {
    /// Tags worked out already, by their type name's address and length.
    static LEARNT: [Cell<((usize, usize), u64)>; KNOWN] =
        const { [const { Cell::new(((0, 0), 0)) }; KNOWN] };
}

/// The tag of the type named `name` (see the module docs).
fn tag_of(name: &[u8]) -> u64 {
    let mut hash = Fnv::new();
    let mut closers = Closers::default();
    let mut rest = name;
    while let Some(&byte) = rest.first() {
        let rewritten = REWRITES.iter().find(|(from, ..)| rest.starts_with(from));
        if let Some((from, to, closer)) = rewritten {
            hash.write(to);
            if let Some(closer) = closer {
                closers.open(closer);
            }
            rest = &rest[from.len()..];
            continue;
        }
        match byte {
            b'<' => {
                hash.write(b"<");
                closers.open(b">");
            }
            b'>' => hash.write(closers.close()),
            byte => hash.write(&[byte]),
        }
        rest = &rest[1..];
    }
    hash.0
}

/// What a name is rewritten from, to, and, for a `<` it opens, what the
/// matching `>` becomes.
type Rewrite = (&'static [u8], &'static [u8], Option<&'static [u8]>);

const REWRITES: [Rewrite; 5] = [
    (b"&mut ", b"", None),
    (b"&", b"", None),
    (b"alloc::string::String", b"str", None),
    (b"alloc::vec::Vec<", b"[", Some(b"]")),
    (b"alloc::boxed::Box<", b"", Some(b"")),
];

/// What each open `<` closes with: `>`, `]` (a vector, now a slice), or
/// nothing (a box, now what it holds).
#[derive(Default)]
struct Closers {
    open: [&'static [u8]; DEPTH],
    depth: usize,
}

impl Closers {
    fn open(&mut self, closer: &'static [u8]) {
        if let Some(slot) = self.open.get_mut(self.depth) {
            *slot = closer;
        }
        self.depth += 1;
    }

    fn close(&mut self) -> &'static [u8] {
        self.depth = self.depth.saturating_sub(1);
        self.open.get(self.depth).copied().unwrap_or(b">")
    }
}

/// FNV-1a, 64 bits.
struct Fnv(u64);

impl Fnv {
    fn new() -> Fnv {
        Fnv(0xcbf2_9ce4_8422_2325)
    }

    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.0 = (self.0 ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{tag, tag_of};

    #[test]
    fn a_tag_looked_up_again_is_the_tag_worked_out() {
        for _ in 0..3 {
            assert_eq!(
                tag::<(u8, String)>(),
                tag_of(b"(u8, alloc::string::String)")
            );
            assert_eq!(tag::<Vec<u8>>(), tag_of(b"alloc::vec::Vec<u8>"));
        }
        assert_ne!(tag::<(u8, String)>(), tag::<Vec<u8>>());
    }

    #[test]
    fn types_encoded_alike_have_one_tag() {
        assert_eq!(tag::<&str>(), tag::<String>());
        assert_eq!(tag::<str>(), tag::<String>());
        assert_eq!(tag::<&[u8]>(), tag::<Vec<u8>>());
        assert_eq!(tag::<Box<u32>>(), tag::<u32>());
        assert_eq!(tag::<(&str, Vec<&str>)>(), tag::<(String, Vec<String>)>());
        assert_eq!(tag::<Option<Vec<Box<String>>>>(), tag::<Option<&[&str]>>());
        assert_eq!(tag::<&&&mut u8>(), tag::<u8>());
    }

    #[test]
    fn types_encoded_differently_have_different_tags() {
        assert_ne!(tag::<u32>(), tag::<i32>());
        assert_ne!(tag::<u64>(), tag::<String>());
        assert_ne!(tag::<[u8; 2]>(), tag::<Vec<u8>>());
        assert_ne!(tag::<Vec<u8>>(), tag::<Vec<u16>>());
        assert_ne!(tag::<Option<u8>>(), tag::<u8>());
        assert_ne!(tag::<(u8, u8)>(), tag::<[u8; 2]>());
    }
}
