//! A wrong Q6: two processes print the same number, none prints 3.

use common::Process;

fn main() -> common::Result<()> {
    let mut processes: Vec<Process> = [1, 2, 2, 4]
        .into_iter()
        .map(|n: u32| Process::from_closure(move || println!("Process {n}: Printing {n}")))
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
