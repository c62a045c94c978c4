//! A wrong Q6, and a common slip: starts the four processes, joins only
//! the first, and prints the final line. Run by hand it usually looks
//! right (the others are quick); the grader must catch it every time.

use common::Process;

fn main() -> common::Result<()> {
    let mut processes: Vec<Process> = (1..=4)
        .map(|n: u32| Process::with_args(|n: u32| println!("Process {n}: Printing {n}"), n))
        .collect();
    for process in &mut processes {
        process.start()?;
    }
    processes[0].join()?;
    println!("All processes have completed.");
    for process in &processes[1..] {
        process.join()?;
    }
    Ok(())
}
