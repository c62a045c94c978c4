//! A wrong Q10: the workers sleep instead of waiting at a barrier, long
//! enough that phase 1 is usually over everywhere by then.

use std::time::Duration;

use common::Process;

fn worker(i: u16) {
    println!("Worker {i} phase 1");
    std::thread::sleep(Duration::from_millis(200));
    println!("Worker {i} phase 2");
}

fn main() -> common::Result<()> {
    let mut processes: Vec<Process> = (0..4).map(|i| Process::with_args(worker, i)).collect();
    for process in &mut processes {
        process.start()?;
    }
    for process in &processes {
        process.join()?;
    }
    println!("All phases done.");
    Ok(())
}
