//! A wrong Q6: starts the processes and leaves without joining them
//! (`exit` skips the destructors that would have joined them).

use common::Process;

fn main() -> common::Result<()> {
    let mut processes: Vec<Process> = (1..=4)
        .map(|n: u32| Process::from_closure(move || println!("Process {n}: Printing {n}")))
        .collect();
    for process in &mut processes {
        process.start()?;
    }
    println!("All processes have completed.");
    std::process::exit(0);
}
