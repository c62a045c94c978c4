//! A hostile Q6 that hands its stderr to a process outside the run: it
//! sends the descriptor over a Unix socket in the abstract namespace
//! (`grader-tests-stranger-output`, where a test listens) and waits until
//! the other side has written into it and hung up; then it does the work,
//! done right. The bytes the outsider wrote must not pass as the run's.
//! In a sandbox with a network namespace of its own the socket cannot be
//! reached, and it says so on stderr.

use std::io::Read;
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;

use common::Process;
use nix::sys::socket::{
    AddressFamily, ControlMessage, MsgFlags, SockFlag, SockType, UnixAddr, connect, sendmsg, socket,
};

/// Where the outsider listens.
const NAME: &[u8] = b"grader-tests-stranger-output";

fn hand_over_stderr() -> Result<(), String> {
    let socket = socket(
        AddressFamily::Unix,
        SockType::Stream,
        SockFlag::empty(),
        None,
    )
    .map_err(|e| format!("socket: {e}"))?;
    let address = UnixAddr::new_abstract(NAME).map_err(|e| format!("address: {e}"))?;
    connect(socket.as_raw_fd(), &address).map_err(|e| format!("connect: refused ({e})"))?;
    let fds = [2];
    sendmsg::<()>(
        socket.as_raw_fd(),
        &[std::io::IoSlice::new(b"x")],
        &[ControlMessage::ScmRights(&fds)],
        MsgFlags::empty(),
        None,
    )
    .map_err(|e| format!("sendmsg: {e}"))?;
    // The outsider hangs up once it has written.
    let mut stream = UnixStream::from(socket);
    let mut rest = Vec::new();
    stream
        .read_to_end(&mut rest)
        .map_err(|e| format!("read: {e}"))?;
    Ok(())
}

fn main() -> common::Result<()> {
    if let Err(why) = hand_over_stderr() {
        eprintln!("{why}");
    }
    let mut processes: Vec<Process> = (1..=4)
        .map(|n: u32| Process::with_args(|n: u32| println!("Process {n}: Printing {n}"), n))
        .collect();
    for process in &mut processes {
        process.start()?;
    }
    for process in &processes {
        process.join()?;
    }
    println!("All processes have completed.");
    Ok(())
}
