//! A hostile Q6 whose threads check in at the grader's socket themselves
//! and print the lines: everything comes from the main process, which the
//! kernel sees.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;

fn main() {
    let threads: Vec<_> = (1..=4)
        .map(|n| {
            std::thread::spawn(move || {
                if let Some(path) = std::env::var_os("COMMON_CHECKIN")
                    && let Ok(mut socket) = UnixStream::connect(path)
                {
                    let _ = writeln!(socket, "Process-{n}");
                    let _ = socket.read(&mut [0u8; 1]);
                    let _ = socket.read(&mut [0u8; 1]);
                }
                println!("Process {n}: Printing {n}");
            })
        })
        .collect();
    for thread in threads {
        let _ = thread.join();
    }
    println!("All processes have completed.");
}
