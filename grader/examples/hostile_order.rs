//! Hostile Q6s whose main process blocks in something other than joining
//! its four children before the final line, and joins them only after it
//! (the argument says how): `sleep` sleeps 400 ms, `poll` polls no
//! descriptor for 400 ms, `extra-child` waits for a fifth child of its own,
//! made by hand (it never checks in), that sleeps 400 ms. Run by hand, the
//! children have long printed by then; the final line is still not proven
//! to come after them.

#![expect(
    unsafe_code,
    reason = "a submission may do what it likes; this one forks by hand"
)]

use std::time::Duration;

use common::Process;
use nix::sys::wait::waitpid;
use nix::unistd::{ForkResult, fork};

const PAUSE: Duration = Duration::from_millis(400);

fn main() -> common::Result<()> {
    let mode = std::env::args().nth(1).unwrap_or_default();
    let mut processes: Vec<Process> = (1..=4)
        .map(|n: u32| Process::with_args(|n: u32| println!("Process {n}: Printing {n}"), n))
        .collect();
    for process in &mut processes {
        process.start()?;
    }
    match mode.as_str() {
        "sleep" => std::thread::sleep(PAUSE),
        "poll" => {
            let _ = nix::poll::poll(&mut [], nix::poll::PollTimeout::from(400u16));
        }
        "extra-child" => {
            // SAFETY: the program has one thread when it forks; the child
            // sleeps and leaves with `_exit`.
            match unsafe { fork() }.expect("fork") {
                ForkResult::Child => {
                    std::thread::sleep(PAUSE);
                    // SAFETY: ends the child at once.
                    unsafe { libc::_exit(0) }
                }
                ForkResult::Parent { child } => {
                    waitpid(child, None).expect("waited");
                }
            }
        }
        other => panic!("unknown mode {other:?}"),
    }
    println!("All processes have completed.");
    for process in &processes {
        process.join()?;
    }
    Ok(())
}
