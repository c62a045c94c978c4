//! A hostile submission: prints bytes that are not UTF-8.

use std::io::Write;

fn main() {
    let mut stdout = std::io::stdout();
    let _ = stdout.write_all(b"Process 1: Printing \xff\xfe\n");
    let _ = stdout.write_all(b"All processes have completed.\n");
}
