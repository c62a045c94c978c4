//! A wrong Q6: prints the final line before joining the children. It often
//! looks right when run by hand; the grader must catch it every time.

use common::Process;

fn main() -> common::Result<()> {
    let mut processes: Vec<Process> = (1..=4)
        .map(|n: u32| Process::from_closure(move || println!("Process {n}: Printing {n}")))
        .collect();
    for process in &mut processes {
        process.start()?;
    }
    println!("All processes have completed.");
    for process in &processes {
        process.join()?;
    }
    Ok(())
}
