//! Escaping the control characters of text from a submission before it is
//! printed: a program's output reaches the report, and raw control bytes
//! there could clear the instructor's terminal or draw a fake table over
//! the real one.

use std::fmt::Write as _;

/// `text` with every control character but newline and tab shown as an
/// escape (`\x1b`, `\r`, `\u{9b}`), so that it prints as what it is.
pub(crate) fn control_chars(text: &str) -> String {
    let mut shown = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\n' | '\t' => shown.push(c),
            '\r' => shown.push_str("\\r"),
            c if c.is_control() && (c as u32) < 0x80 => {
                let _ = write!(shown, "\\x{:02x}", c as u32);
            }
            c if c.is_control() => {
                let _ = write!(shown, "\\u{{{:x}}}", c as u32);
            }
            c => shown.push(c),
        }
    }
    shown
}

#[cfg(test)]
mod tests {
    use super::control_chars;

    #[test]
    fn control_characters_print_as_escapes() {
        assert_eq!(control_chars("a\x1b[2Jb\r\n\tc"), "a\\x1b[2Jb\\r\n\tc");
        assert_eq!(control_chars("\u{9b}31m"), "\\u{9b}31m");
        assert_eq!(control_chars("plain, ünïcode"), "plain, ünïcode");
    }
}
