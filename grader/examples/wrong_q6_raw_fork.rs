//! A wrong Q6: four real child processes, made with `fork` directly rather
//! than with `common`. The output and the processes are right, but they
//! never check in, so the grader cannot hold them to prove they ran at the
//! same time; the kernel's events still show the four children.

#![expect(
    unsafe_code,
    reason = "a submission may do what it likes; this one forks by hand"
)]

use nix::sys::wait::waitpid;
use nix::unistd::{ForkResult, fork};

fn main() {
    let mut children = Vec::new();
    for number in 1..=4 {
        // SAFETY: the program has one thread when it forks.
        match unsafe { fork() }.expect("fork") {
            ForkResult::Child => {
                println!("Process {number}: Printing {number}");
                std::process::exit(0);
            }
            ForkResult::Parent { child } => children.push(child),
        }
    }
    for child in children {
        waitpid(child, None).expect("waited");
    }
    println!("All processes have completed.");
}
