//! Text from a submission made fit for a report: its control characters
//! escaped, its length capped. A program's output and a compiler's error
//! reach the report; raw control bytes there could clear the instructor's
//! terminal or draw a fake table over the real one, and megabytes of it
//! would bury the verdict (and the gradebook) under one student's output.

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

/// `text` cut to at most `cap` bytes (at a character boundary), with a
/// line saying how much was cut; `text` itself when it fits.
pub(crate) fn capped(text: &str, cap: usize) -> String {
    if text.len() <= cap {
        return text.to_owned();
    }
    let mut end = cap;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!(
        "{}\n... ({} more bytes cut; {cap} are shown)",
        &text[..end],
        text.len() - end
    )
}

#[cfg(test)]
mod tests {
    use super::{capped, control_chars};

    #[test]
    fn long_text_is_cut_with_a_note() {
        assert_eq!(capped("short", 10), "short");
        assert_eq!(
            capped("0123456789abc", 10),
            "0123456789\n... (3 more bytes cut; 10 are shown)"
        );
        // Not inside a character.
        assert_eq!(capped("ééé", 3), "é\n... (4 more bytes cut; 3 are shown)");
    }

    #[test]
    fn control_characters_print_as_escapes() {
        assert_eq!(control_chars("a\x1b[2Jb\r\n\tc"), "a\\x1b[2Jb\\r\n\tc");
        assert_eq!(control_chars("\u{9b}31m"), "\\u{9b}31m");
        assert_eq!(control_chars("plain, ünïcode"), "plain, ünïcode");
    }
}
