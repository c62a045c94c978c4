//! A hostile submission: does the work, then leaves a process in a process
//! group of its own that keeps stdout open after the program has exited.

use std::os::unix::process::CommandExt;

use common::Process;

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
    // Inherits stdout, and leaves the process group the grader watches.
    let _escaped = std::process::Command::new("sleep")
        .arg("30")
        .process_group(0)
        .spawn();
    println!("All processes have completed.");
    Ok(())
}
