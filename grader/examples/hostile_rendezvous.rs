//! A hostile Q6 whose four children check in by hand and run one after
//! another: each is forked only once the one before has done its work. Each
//! connects to the grader's socket and sends its label as `common` does,
//! reads the first byte of the answer, and then (the argument says how):
//! `exit` prints its line and exits; `linger` prints its line and stays
//! alive until the main process lets it go, after the last has printed;
//! `hang-up` closes its end of the socket and waits, alive, until the main
//! process lets it go, and only then prints. None of them waits at the
//! rendezvous while the others are held. With `once-four-times`, one child
//! checks in four times, holding all four connections open, and prints
//! every line.

#![expect(
    unsafe_code,
    reason = "a submission may do what it likes; this one forks by hand"
)]

use std::io::{Read, Write};
use std::os::fd::OwnedFd;
use std::os::unix::net::UnixStream;

use nix::sys::wait::waitpid;
use nix::unistd::{ForkResult, fork, pipe, read, write};

/// Connects, sends the label and reads the first byte of the answer.
fn check_in(label: &str) -> Option<UnixStream> {
    let mut socket = UnixStream::connect(std::env::var_os("COMMON_CHECKIN")?).ok()?;
    writeln!(socket, "{label}").ok()?;
    socket.read_exact(&mut [0u8; 1]).ok()?;
    Some(socket)
}

/// Blocks until `fd` has a byte or is closed.
fn wait_on(fd: &OwnedFd) {
    let _ = read(fd, &mut [0u8; 1]);
}

/// One child, four check-ins, every line.
fn once_four_times() {
    // SAFETY: the program has one thread when it forks; the child leaves
    // with `_exit`.
    match unsafe { fork() }.expect("fork") {
        ForkResult::Child => {
            let sockets: Vec<UnixStream> = (1..=4)
                .filter_map(|n| check_in(&format!("Process-{n}")))
                .collect();
            if let Some(mut last) = sockets.into_iter().last() {
                let _ = last.read(&mut [0u8; 1]);
            }
            for n in 1..=4 {
                println!("Process {n}: Printing {n}");
            }
            // SAFETY: ends the child at once; its output is flushed.
            unsafe { libc::_exit(0) }
        }
        ForkResult::Parent { child } => {
            let _ = waitpid(child, None);
        }
    }
    println!("All processes have completed.");
}

fn main() {
    let mode = std::env::args().nth(1).unwrap_or_default();
    if mode == "once-four-times" {
        return once_four_times();
    }
    // The main process closes `go` to let lingering children end; each
    // child says on `done` that it has done its part.
    let (go_read, go_write) = pipe().expect("pipe");
    let (done_read, done_write) = pipe().expect("pipe");
    let mut children = Vec::new();
    for n in 1..=4 {
        // SAFETY: the program has one thread when it forks; the child
        // leaves with `_exit`.
        match unsafe { fork() }.expect("fork") {
            ForkResult::Child => {
                drop(go_write);
                let socket = check_in(&format!("Process-{n}"));
                match mode.as_str() {
                    "exit" => println!("Process {n}: Printing {n}"),
                    "linger" => {
                        println!("Process {n}: Printing {n}");
                        let _ = write(&done_write, b"d");
                        wait_on(&go_read);
                    }
                    "hang-up" => {
                        drop(socket);
                        let _ = write(&done_write, b"d");
                        wait_on(&go_read);
                        println!("Process {n}: Printing {n}");
                    }
                    other => panic!("unknown mode {other:?}"),
                }
                // SAFETY: ends the child at once; its output is flushed.
                unsafe { libc::_exit(0) }
            }
            ForkResult::Parent { child } => {
                if mode == "exit" {
                    waitpid(child, None).expect("waited");
                } else {
                    wait_on(&done_read);
                }
                children.push(child);
            }
        }
    }
    drop(go_write);
    for child in children {
        let _ = waitpid(child, None);
    }
    println!("All processes have completed.");
}
