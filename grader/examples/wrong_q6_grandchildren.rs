//! A wrong Q6: one child creates the four printing processes, so they are
//! grandchildren of the main process.

use common::Process;

fn main() -> common::Result<()> {
    let mut middle = Process::new(|| {
        let mut processes: Vec<Process> = (1..=4)
            .map(|n: u32| Process::from_closure(move || println!("Process {n}: Printing {n}")))
            .collect();
        for process in &mut processes {
            process.start().expect("start");
        }
    });
    middle.start()?;
    middle.join()?;
    println!("All processes have completed.");
    Ok(())
}
