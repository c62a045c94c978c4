//! A wrong Q6: does the work, but leaves a process of its own running (one
//! not made with `common`, which the kernel would otherwise have killed).

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
    let _straggler = std::process::Command::new("sleep").arg("30").spawn();
    println!("All processes have completed.");
    Ok(())
}
