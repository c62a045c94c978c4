//! A hostile submission: writes to stdout without end. The grader must stop
//! it at the timeout and keep only a capped part of what it wrote.

use std::io::Write;

fn main() {
    let block = [b'x'; 64 * 1024];
    let mut stdout = std::io::stdout().lock();
    while stdout.write_all(&block).is_ok() {}
}
