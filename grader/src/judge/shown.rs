//! How a value shows: whether the bytes a queue or a pipe carried are a
//! value a line printed, and lines that show values as a problem names
//! them. Shared by the data check's judges (queues, pipes).

/// `lines`, which show values, as a problem names them: the first two
/// and how many more.
pub(super) fn listed(lines: &[String]) -> String {
    match lines {
        [one] => format!("`{one}` shows a value"),
        [first, second] => format!("`{first}` and `{second}` show values"),
        [first, second, rest @ ..] => format!(
            "`{first}`, `{second}` and {} more lines show values",
            rest.len()
        ),
        [] => unreachable!("a process is listed for a line"),
    }
}

/// Whether `bytes`, a value as a queue holds it (its `postcard`
/// encoding), is `text` printed: an integer of any width, signed or not,
/// or a string, each possibly in a `Some`.
pub(super) fn encodes(text: &str, bytes: &[u8]) -> bool {
    let mut forms: Vec<Vec<u8>> = Vec::new();
    if let Ok(n) = text.parse::<i128>() {
        // i8 and u8 go as one byte; wider integers as variable-length
        // numbers, signed ones zigzag.
        if let Ok(byte) = u8::try_from(n) {
            forms.push(vec![byte]);
        }
        if let Ok(byte) = i8::try_from(n) {
            forms.push(vec![byte.to_le_bytes()[0]]);
        }
        if let Ok(unsigned) = u128::try_from(n) {
            forms.push(varint(unsigned));
        }
        forms.push(varint(((n << 1) ^ (n >> 127)) as u128));
    }
    let mut string = varint(text.len() as u128);
    string.extend_from_slice(text.as_bytes());
    forms.push(string);
    forms.iter().any(|form| {
        bytes == form.as_slice() || (bytes.first() == Some(&1) && &bytes[1..] == form.as_slice())
    })
}

/// `n` as a variable-length number: seven bits a byte, low first.
fn varint(mut n: u128) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let low = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(low);
            return out;
        }
        out.push(low | 0x80);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_printed_number_is_known_in_each_encoding() {
        let some_i32 = postcard::to_allocvec(&Some(300i32)).expect("encoded");
        let u64_bytes = postcard::to_allocvec(&300u64).expect("encoded");
        let negative = postcard::to_allocvec(&Some(-7i64)).expect("encoded");
        let string = postcard::to_allocvec(&"ping 3").expect("encoded");
        let small = postcard::to_allocvec(&Some(7u8)).expect("encoded");
        assert!(encodes("300", &some_i32));
        assert!(encodes("300", &u64_bytes));
        assert!(encodes("-7", &negative));
        assert!(encodes("ping 3", &string));
        assert!(encodes("7", &small));
        assert!(!encodes("301", &some_i32));
        assert!(!encodes(
            "7",
            &postcard::to_allocvec(&None::<u8>).expect("encoded")
        ));
    }
}
