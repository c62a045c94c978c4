//! A wrong Q10: the workers never wait, so a worker may print phase 2
//! before another has printed phase 1 (it often does not, by luck).

use common::Process;

fn worker(i: u16) {
    println!("Worker {i} phase 1");
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
