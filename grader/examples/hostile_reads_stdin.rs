//! A hostile submission: waits for input that never comes. The grader gives
//! it no input (stdin is /dev/null), so it sees end-of-file and goes on.

use std::io::Read;

fn main() {
    let mut input = Vec::new();
    let _ = std::io::stdin().read_to_end(&mut input);
    println!("read {} bytes", input.len());
}
