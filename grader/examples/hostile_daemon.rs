//! A hostile submission: does the work, then leaves a daemon behind the
//! classic way (fork, `setsid`, fork again, stdout and stderr to
//! /dev/null), so that nothing ties it to the run: not the process group,
//! not the session, not the output pipes. Only the kernel's record of who
//! created whom finds it.

#![expect(
    unsafe_code,
    reason = "a submission may do what it likes; this one forks by hand"
)]

use std::fs::File;
use std::os::fd::AsFd;

use common::Process;
use nix::unistd::{ForkResult, fork, setsid};

fn main() -> common::Result<()> {
    let mut processes: Vec<Process> = (1..=4)
        .map(|n: u32| Process::from_closure(move || println!("Process {n}: Printing {n}")))
        .collect();
    for process in &mut processes {
        process.start()?;
    }
    for process in &processes {
        process.join()?;
    }
    println!("All processes have completed.");
    // SAFETY: the program has one thread when it forks, and both children
    // only make system calls before sleeping or exiting.
    if let ForkResult::Child = unsafe { fork() }.expect("fork") {
        let _ = setsid();
        // SAFETY: as above; the session leader forks once more and leaves.
        if let ForkResult::Child = unsafe { fork() }.expect("fork") {
            if let Ok(null) = File::options().write(true).open("/dev/null") {
                let _ = nix::unistd::dup2_stdout(null.as_fd());
                let _ = nix::unistd::dup2_stderr(null.as_fd());
            }
            std::thread::sleep(std::time::Duration::from_secs(30));
        }
        std::process::exit(0);
    }
    Ok(())
}
