//! A wrong Q6: one child never ends, so joining it hangs.

use common::Process;

fn main() -> common::Result<()> {
    let mut processes: Vec<Process> = (1..=4)
        .map(|n: u32| {
            Process::from_closure(move || {
                println!("Process {n}: Printing {n}");
                if n == 4 {
                    loop {
                        std::thread::park();
                    }
                }
            })
        })
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
