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

/// The most nested `<...>` whose closing is rewritten; deeper ones are
/// hashed as they are.
const DEPTH: usize = 32;

/// The tag of values of `U`.
pub(super) fn tag<U: ?Sized>() -> u64 {
    let name = std::any::type_name::<U>().as_bytes();
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
    use super::tag;

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
