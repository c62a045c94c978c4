//! A hostile Q6: does the work right, but first forks a stray by hand whose
//! main thread exits at once while a second thread sleeps for 30 s. The
//! stray's own `/proc/PID/stat` then says `Z` (that is its main thread),
//! yet the process runs on: "nothing left behind" must count it.

#![expect(
    unsafe_code,
    reason = "a submission may do what it likes; this one forks by hand and ends one thread"
)]

use std::time::Duration;

use common::Process;
use nix::unistd::{ForkResult, fork};

fn main() -> common::Result<()> {
    // SAFETY: the program has one thread when it forks.
    if let ForkResult::Child = unsafe { fork() }.expect("fork") {
        std::thread::spawn(|| std::thread::sleep(Duration::from_secs(30)));
        // SAFETY: ends the calling thread only (not `exit_group`); the
        // sleeping thread keeps the process alive.
        unsafe { libc::syscall(libc::SYS_exit, 0) };
        unreachable!("the thread has exited");
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
