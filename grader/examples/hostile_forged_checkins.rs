//! A hostile Q6 that forges the evidence: four forked helpers check in at
//! the grader's socket themselves (as `common` would) and print nothing,
//! while the main process prints every line. The kernel's record of who
//! wrote each line gives it away.

#![expect(
    unsafe_code,
    reason = "a submission may do what it likes; this one forks by hand"
)]

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;

use nix::sys::wait::waitpid;
use nix::unistd::{ForkResult, fork};

/// Checks in as `common` does and waits to be let go.
fn check_in(label: &str) {
    let Some(path) = std::env::var_os("COMMON_CHECKIN") else {
        return;
    };
    if let Ok(mut socket) = UnixStream::connect(path) {
        let _ = writeln!(socket, "{label}");
        let _ = socket.read(&mut [0u8; 1]);
        let _ = socket.read(&mut [0u8; 1]);
    }
}

fn main() {
    let mut helpers = Vec::new();
    for n in 1..=4 {
        // SAFETY: one thread when it forks; the child makes system calls
        // and exits.
        match unsafe { fork() }.expect("fork") {
            ForkResult::Child => {
                check_in(&format!("Process-{n}"));
                // SAFETY: ends the helper at once.
                unsafe { libc::_exit(0) }
            }
            ForkResult::Parent { child } => helpers.push(child),
        }
    }
    for n in 1..=4 {
        println!("Process {n}: Printing {n}");
    }
    for helper in helpers {
        let _ = waitpid(helper, None);
    }
    println!("All processes have completed.");
}
