//! A hostile Q6 that tries to end or freeze the grader: SIGSTOP, then
//! SIGKILL, to its parent and to every process it may signal, before doing
//! the work correctly. In its sandbox its parent is the run's init, which
//! ignores them, and no process outside can be named; it prints what the
//! kernel answered.

use common::Process;
use nix::sys::signal::{Signal, kill};
use nix::unistd::{Pid, getppid};

fn print_number(number: u32) {
    println!("Process {number}: Printing {number}");
}

fn main() -> common::Result<()> {
    let parent = getppid();
    for signal in [Signal::SIGSTOP, Signal::SIGKILL] {
        let to_parent = kill(parent, signal);
        eprintln!("kill(parent {parent}, {signal}): {to_parent:?}");
    }
    // Every process this one may signal, but itself (and its group, which
    // is itself for now).
    let everyone = kill(Pid::from_raw(-1), Signal::SIGSTOP);
    eprintln!("kill(-1, SIGSTOP): {everyone:?}");
    let mut processes: Vec<Process> = (1..=4)
        .map(|n| Process::with_args(print_number, n))
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
