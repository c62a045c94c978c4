//! A hostile Q6 that tries to stretch its deadline: 40 connections to the
//! check-in socket that never write, then one that writes half a label,
//! then it hangs. Its verdict must still come at its timeout.

use std::io::Write;
use std::os::unix::net::UnixStream;

fn main() {
    let Some(path) = std::env::var_os("COMMON_CHECKIN") else {
        return;
    };
    let mut silent = Vec::new();
    for _ in 0..40 {
        if let Ok(socket) = UnixStream::connect(&path) {
            silent.push(socket);
        }
    }
    if let Ok(mut half) = UnixStream::connect(&path) {
        let _ = half.write_all(b"Proc");
        silent.push(half);
    }
    println!("{} connections open", silent.len());
    loop {
        std::thread::park();
    }
}
