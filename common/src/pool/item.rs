//! One item's encoding, as the pool's jobs and answers lay items end to
//! end: postcard's, except for the types the pool moves most, which skip
//! serde:
//!
//! - `Vec<u8>`: a varint length, then the bytes copied whole (postcard
//!   would write them one by one, to the same bytes);
//! - `String`: the same bytes as postcard's (a varint length, then the
//!   text), read back into a `String` of exactly that capacity after one
//!   UTF-8 check, without serde's visitor between;
//! - the fixed-width integers (`u16` to `u64`, `i16` to `i64`, `usize`,
//!   `isize`): their little-endian bytes, one load or store each instead of
//!   a varint's loop.
//!
//! Both sides pick the encoding by the item's type, so an item is always
//! decoded as it was encoded.

use std::any::{Any, TypeId};

use serde::Serialize;
use serde::de::DeserializeOwned;

/// Runs `$body` with `$t` bound to each fixed-width type in turn.
macro_rules! each_fixed {
    ($t:ident => $body:block) => {
        each_fixed!(@each $t $body; u16 u32 u64 usize i16 i32 i64 isize)
    };
    (@each $t:ident $body:block; $($ty:ty)*) => {{
        $({
            type $t = $ty;
            $body
        })*
    }};
}

/// The width of `T`'s encoding if it is one of the fixed-width integers.
pub(super) fn fixed_width<T: 'static>() -> Option<usize> {
    each_fixed!(F => {
        if TypeId::of::<T>() == TypeId::of::<F>() {
            return Some(size_of::<F>());
        }
    });
    None
}

/// Appends `value`'s encoding to `out` (see the module docs).
pub(super) fn encode_item<T: Serialize + 'static>(
    value: &T,
    out: &mut Vec<u8>,
) -> std::result::Result<(), String> {
    let any = value as &dyn Any;
    each_fixed!(F => {
        if let Some(n) = any.downcast_ref::<F>() {
            out.extend_from_slice(&n.to_le_bytes());
            return Ok(());
        }
    });
    let run = any
        .downcast_ref::<Vec<u8>>()
        .map(Vec::as_slice)
        .or_else(|| any.downcast_ref::<String>().map(String::as_bytes));
    if let Some(bytes) = run {
        put_varint(bytes.len() as u64, out);
        out.extend_from_slice(bytes);
        return Ok(());
    }
    // On an error the bytes of a value half written stay: the callers cut
    // the buffer back.
    postcard::serialize_with_flavor(value, Append(out)).map_err(|e| {
        let why = crate::crossing::take_refusal().map_or_else(|| e.to_string(), str::to_owned);
        format!("a {} cannot be sent: {why}", std::any::type_name::<T>())
    })
}

/// Appends the encodings of `values` to `out` in one pass, if `T` is one
/// of the fixed-width integers, and returns how many there were; else
/// leaves `values` alone and returns `None`.
pub(super) fn encode_fixed_run<T: 'static>(
    values: impl Iterator<Item = T>,
    out: &mut Vec<u8>,
) -> Option<usize> {
    each_fixed!(F => {
        if TypeId::of::<T>() == TypeId::of::<F>() {
            let before = out.len();
            out.reserve(values.size_hint().0.saturating_mul(size_of::<F>()));
            for value in values {
                let mut slot = Some(value);
                let any = &mut slot as &mut dyn Any;
                let value = any.downcast_mut::<Option<F>>().and_then(Option::take);
                out.extend_from_slice(&value.expect("T is F").to_le_bytes());
            }
            return Some((out.len() - before) / size_of::<F>());
        }
    });
    None
}

/// `value` itself as a byte vector if it is one of at least `min` bytes,
/// else `value` back.
pub(super) fn bytes_of_at_least<T: 'static>(value: T, min: usize) -> Result<Vec<u8>, T> {
    let mut slot = Some(value);
    if let Some(bytes) = (&mut slot as &mut dyn Any).downcast_mut::<Option<Vec<u8>>>()
        && bytes.as_ref().is_some_and(|bytes| bytes.len() >= min)
    {
        return Ok(bytes.take().expect("looked at above"));
    }
    Err(slot.expect("not taken"))
}

/// Appends to a borrowed buffer, for postcard's serializer: a run of bytes
/// (a varint, a string) is copied whole (postcard's `to_extend` hands them
/// over through `Extend` one by one, which showed in profiles of `map`).
struct Append<'a>(&'a mut Vec<u8>);

impl postcard::ser_flavors::Flavor for Append<'_> {
    type Output = ();

    fn try_push(&mut self, byte: u8) -> postcard::Result<()> {
        self.0.push(byte);
        Ok(())
    }

    fn try_extend(&mut self, bytes: &[u8]) -> postcard::Result<()> {
        self.0.extend_from_slice(bytes);
        Ok(())
    }

    fn finalize(self) -> postcard::Result<()> {
        Ok(())
    }
}

/// Reads values one after another from encodings laid end to end, as
/// [`encode_item`] wrote them.
pub(super) enum Reader<'a> {
    /// Byte vectors, each read into its own when asked for (see
    /// `vectors`).
    Streamed(&'a dyn Fn() -> std::result::Result<Vec<u8>, String>),
    Fixed(&'a [u8]),
    Bytes(&'a [u8]),
    Text(&'a [u8]),
    Serde(postcard::Deserializer<'a, postcard::de_flavors::Slice<'a>>),
}

impl<'a> Reader<'a> {
    /// A reader of `T`s from `bytes`.
    pub(super) fn new<T: 'static>(bytes: &'a [u8]) -> Reader<'a> {
        if fixed_width::<T>().is_some() {
            Reader::Fixed(bytes)
        } else if TypeId::of::<T>() == TypeId::of::<Vec<u8>>() {
            Reader::Bytes(bytes)
        } else if TypeId::of::<T>() == TypeId::of::<String>() {
            Reader::Text(bytes)
        } else {
            Reader::Serde(postcard::Deserializer::from_bytes(bytes))
        }
    }

    /// The next `count` values onto the end of `out`; on a failure, the
    /// position of the value that failed and why. Integers are read in
    /// one pass straight into `out`.
    pub(super) fn read_into<T: DeserializeOwned + 'static>(
        &mut self,
        count: usize,
        out: &mut Vec<T>,
    ) -> std::result::Result<(), (usize, String)> {
        if let Reader::Fixed(bytes) = self {
            let any = out as &mut dyn Any;
            each_fixed!(F => {
                if let Some(out) = any.downcast_mut::<Vec<F>>() {
                    const WIDTH: usize = size_of::<F>();
                    let whole = (bytes.len() / WIDTH).min(count);
                    let (these, rest) = bytes.split_at(whole * WIDTH);
                    out.extend(
                        these
                            .chunks_exact(WIDTH)
                            .map(|b| F::from_le_bytes(b.try_into().expect("WIDTH bytes"))),
                    );
                    *bytes = rest;
                    if whole < count {
                        return Err((whole, "an integer is cut short".to_owned()));
                    }
                    return Ok(());
                }
            });
        }
        out.reserve(count);
        if let Reader::Text(bytes) = self
            && let Some(out) = (out as &mut dyn Any).downcast_mut::<Vec<String>>()
        {
            // When all the bytes left are UTF-8 (short lengths are single
            // bytes below 0x80), one check of them all stands for one per
            // string: a run is then UTF-8 exactly when it begins and ends
            // on a character's boundary (a length byte next to a cut
            // character would have failed the check), which slicing the
            // whole checks again at no cost.
            if let Ok(all) = std::str::from_utf8(bytes) {
                let whole = bytes.len();
                for at in 0..count {
                    let run = next_run(bytes).map_err(|message| (at, message.to_owned()))?;
                    let begin = whole - bytes.len() - run.len();
                    let text = all
                        .get(begin..begin + run.len())
                        .ok_or((at, "a string that is not UTF-8".to_owned()))?;
                    out.push(text.to_owned());
                }
                return Ok(());
            }
            for at in 0..count {
                out.push(next_text(bytes).map_err(|message| (at, message.to_owned()))?);
            }
            return Ok(());
        }
        for at in 0..count {
            out.push(self.next::<T>().map_err(|message| (at, message))?);
        }
        Ok(())
    }

    /// The next value (of the `T` the reader was made for).
    pub(super) fn next<T: DeserializeOwned + 'static>(&mut self) -> std::result::Result<T, String> {
        match self {
            Reader::Serde(de) => T::deserialize(de).map_err(|e| e.to_string()),
            Reader::Fixed(bytes) => {
                // The value is put in place through `Any`, without a box.
                let mut slot: Option<T> = None;
                let any = &mut slot as &mut dyn Any;
                each_fixed!(F => {
                    if let Some(slot) = any.downcast_mut::<Option<F>>() {
                        let (head, rest) = bytes
                            .split_first_chunk::<{ size_of::<F>() }>()
                            .ok_or("an integer is cut short")?;
                        *slot = Some(F::from_le_bytes(*head));
                        *bytes = rest;
                    }
                });
                slot.ok_or_else(|| "a reader made for another type".to_owned())
            }
            Reader::Streamed(next) => vector_as(next()?),
            Reader::Bytes(bytes) => vector_as(next_run(bytes)?.to_vec()),
            Reader::Text(bytes) => {
                let mut slot: Option<T> = None;
                if let Some(slot) = (&mut slot as &mut dyn Any).downcast_mut::<Option<String>>() {
                    *slot = Some(next_text(bytes)?);
                }
                slot.ok_or_else(|| "a reader made for another type".to_owned())
            }
        }
    }
}

/// The run of bytes (a varint length, then the bytes) at the start of
/// `bytes`, which is moved past it.
fn next_run<'a>(bytes: &mut &'a [u8]) -> std::result::Result<&'a [u8], &'static str> {
    let (len, rest) = take_varint(bytes).ok_or("a length is cut short")?;
    let len = usize::try_from(len).map_err(|_| "a length no memory holds")?;
    let run = rest
        .get(..len)
        .ok_or("a byte vector or string is cut short")?;
    *bytes = &rest[len..];
    Ok(run)
}

/// The string at the start of `bytes` (a run, see [`next_run`], checked to
/// be UTF-8: the bytes came through a pipe), in a `String` of exactly its
/// length; `bytes` is moved past it.
fn next_text(bytes: &mut &[u8]) -> std::result::Result<String, &'static str> {
    let run = next_run(bytes)?;
    let text = std::str::from_utf8(run).map_err(|_| "a string that is not UTF-8")?;
    Ok(text.to_owned())
}

/// A byte vector as a `T`, which it is unless the two sides disagree on
/// the type (no box: the value is put in place through `Any`).
pub(super) fn vector_as<T: 'static>(value: Vec<u8>) -> std::result::Result<T, String> {
    let mut slot: Option<T> = None;
    if let Some(slot) = (&mut slot as &mut dyn Any).downcast_mut::<Option<Vec<u8>>>() {
        *slot = Some(value);
    }
    slot.ok_or_else(|| "a byte vector where another type was expected".to_owned())
}

/// Appends `n` as a LEB128 varint (postcard's, for lengths).
pub(super) fn put_varint(mut n: u64, out: &mut Vec<u8>) {
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

/// The varint at the start of `bytes`, and what follows it.
pub(super) fn take_varint(bytes: &[u8]) -> Option<(u64, &[u8])> {
    let mut n = 0u64;
    for (i, &byte) in bytes.iter().enumerate().take(10) {
        n |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Some((n, &bytes[i + 1..]));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `values` encoded end to end.
    fn encoded<T: Serialize + 'static>(values: &[T]) -> Vec<u8> {
        let mut bytes = Vec::new();
        for value in values {
            encode_item(value, &mut bytes).expect("encodes");
        }
        bytes
    }

    /// `count` strings read from `bytes` in one run, each of them checked
    /// to hold no spare capacity.
    fn strings_read_at_once(bytes: &[u8], count: usize) -> Vec<String> {
        let mut back = Vec::<String>::new();
        Reader::new::<String>(bytes)
            .read_into(count, &mut back)
            .expect("reads");
        assert!(back.iter().all(|text| text.capacity() == text.len()));
        back
    }

    /// Encodes `values` end to end, then reads them back.
    fn round_trip<T>(values: &[T]) -> Vec<T>
    where
        T: Serialize + DeserializeOwned + 'static,
    {
        let bytes = encoded(values);
        let mut reader = Reader::new::<T>(&bytes);
        let back = (0..values.len())
            .map(|_| reader.next::<T>().expect("decodes"))
            .collect();
        assert!(
            reader.next::<T>().is_err(),
            "nothing is left after the values"
        );
        back
    }

    #[test]
    fn every_kind_of_item_comes_back_as_it_went() {
        assert_eq!(round_trip(&[0u64, 1, u64::MAX]), [0, 1, u64::MAX]);
        assert_eq!(round_trip(&[i64::MIN, -1, 7]), [i64::MIN, -1, 7]);
        assert_eq!(round_trip(&[u16::MAX, 3]), [u16::MAX, 3]);
        assert_eq!(round_trip(&[-5i32, i32::MAX]), [-5, i32::MAX]);
        assert_eq!(round_trip(&[usize::MAX, 0]), [usize::MAX, 0]);
        assert_eq!(round_trip(&[isize::MIN]), [isize::MIN]);
        let blobs = vec![vec![], vec![1u8; 300]];
        assert_eq!(round_trip(&blobs), blobs);
        let strings = vec!["a".to_owned(), String::new()];
        assert_eq!(round_trip(&strings), strings);
        assert_eq!(round_trip(&[(1u8, -2i64)]), [(1, -2)]);
    }

    #[test]
    fn read_into_reads_a_run_and_names_the_value_cut_short() {
        let bytes = encoded(&[5u32, 6, 7]);
        let mut out = vec![4u32];
        Reader::new::<u32>(&bytes)
            .read_into(3, &mut out)
            .expect("reads");
        assert_eq!(out, [4, 5, 6, 7]);
        let mut out = Vec::<u32>::new();
        let failed = Reader::new::<u32>(&bytes[..10]).read_into(3, &mut out);
        assert_eq!(failed.map_err(|(at, _)| at), Err(2));
        assert_eq!(out, [5, 6]);
        let mut out = Vec::<String>::new();
        let failed = Reader::new::<String>(&[1, b'a', 9]).read_into(2, &mut out);
        assert_eq!(failed.map_err(|(at, _)| at), Err(1));
    }

    #[test]
    fn strings_read_in_one_check_come_back_whole_and_a_cut_character_is_refused() {
        let strings: Vec<String> = (0..200).map(|n| format!("item-{n}")).collect();
        let bytes = encoded(&strings);
        assert!(
            std::str::from_utf8(&bytes).is_ok(),
            "the case this test is for"
        );
        assert_eq!(strings_read_at_once(&bytes, 200), strings);
        let mut back = Vec::<String>::new();
        let failed = Reader::new::<String>(&bytes[..bytes.len() - 1]).read_into(200, &mut back);
        assert_eq!(
            failed.map_err(|(at, _)| at),
            Err(199),
            "the last is cut short"
        );
        // An "é" split between two strings: the bytes are not UTF-8 as a
        // whole, and each string is checked on its own.
        let mut back = Vec::<String>::new();
        let failed = Reader::new::<String>(&[2, b'a', 0xc3, 2, 0xa9, b'b']).read_into(2, &mut back);
        assert_eq!(failed.map_err(|(at, _)| at), Err(0));
        let bytes = [1, b'a', 2, 0xc3, 0xa9];
        assert!(std::str::from_utf8(&bytes).is_ok(), "the one-check case");
        assert_eq!(strings_read_at_once(&bytes, 2), ["a", "é"]);
    }

    /// Bytes a broken or hostile worker might write in place of strings
    /// (lengths of one to three varint bytes, runs that split a character
    /// or hold a stray one, bytes after the last run): the one check of
    /// the whole agrees with a check of each string, item for item, and no
    /// `String` that is not UTF-8 is made.
    #[test]
    fn crafted_string_bytes_read_as_a_check_of_each_would() {
        // Pieces of UTF-8 and of broken UTF-8, and varint bytes that look
        // like either.
        let pieces: [&[u8]; 12] = [
            b"a",
            "é".as_bytes(),
            "€".as_bytes(),
            "𝄞".as_bytes(),
            &[0xc3],
            &[0xa9],
            &[0xe2, 0x82],
            &[0xf0, 0x9d, 0x84],
            &[0xff],
            &[0xc2, 0xa9, 0x01],
            &[0x80, 0x01],
            &[0x00],
        ];
        let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = move |below: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % below as u64) as usize
        };
        for _ in 0..20_000 {
            let mut bytes = Vec::new();
            let count = 1 + next(4);
            for _ in 0..count + next(2) {
                let mut run = Vec::new();
                for _ in 0..next(5) {
                    run.extend_from_slice(pieces[next(pieces.len())]);
                }
                if next(4) == 0 {
                    // A length that does not match what follows.
                    put_varint((run.len() + next(3)) as u64, &mut bytes);
                } else {
                    put_varint(run.len() as u64, &mut bytes);
                }
                bytes.extend_from_slice(&run);
            }
            let mut one_by_one = Vec::new();
            let mut rest = bytes.as_slice();
            let each = (0..count).try_for_each(|at| match next_text(&mut rest) {
                Ok(text) => {
                    one_by_one.push(text);
                    Ok(())
                }
                Err(_) => Err(at),
            });
            let mut at_once = Vec::<String>::new();
            let whole = Reader::new::<String>(&bytes).read_into(count, &mut at_once);
            assert_eq!(whole.map_err(|(at, _)| at), each, "{bytes:x?}");
            assert_eq!(at_once, one_by_one, "{bytes:x?}");
            assert!(
                at_once
                    .iter()
                    .all(|text| std::str::from_utf8(text.as_bytes()).is_ok())
            );
        }
    }

    #[test]
    fn strings_are_postcards_bytes_and_garbled_text_is_refused() {
        let strings = ["item-7".to_owned(), String::new(), "é".repeat(100)];
        let ours = encoded(&strings);
        let theirs: Vec<u8> = strings
            .iter()
            .flat_map(|text| postcard::to_allocvec(text).expect("postcard"))
            .collect();
        assert_eq!(ours, theirs, "a string is encoded as postcard encodes it");
        assert_eq!(strings_read_at_once(&ours, 3), strings);
        let mut back = Vec::<String>::new();
        let failed = Reader::new::<String>(&[1, b'a', 2, 0xc3, 0x28]).read_into(2, &mut back);
        assert_eq!(failed.map_err(|(at, _)| at), Err(1), "not UTF-8");
        assert!(
            Reader::new::<String>(&[2, 0xff, 0xfe])
                .next::<String>()
                .is_err()
        );
    }

    #[test]
    fn fixed_width_integers_take_their_width() {
        let mut bytes = Vec::new();
        encode_item(&1u64, &mut bytes).expect("encodes");
        encode_item(&-1i16, &mut bytes).expect("encodes");
        assert_eq!(bytes, [1, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff]);
    }

    #[test]
    fn a_cut_short_item_is_an_error_not_a_panic() {
        let mut reader = Reader::new::<u64>(&[1, 2, 3]);
        assert!(reader.next::<u64>().is_err());
        let mut reader = Reader::new::<Vec<u8>>(&[5, 1]);
        assert!(reader.next::<Vec<u8>>().is_err());
    }
}
