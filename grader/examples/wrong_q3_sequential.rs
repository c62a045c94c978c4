//! A wrong Q3 (`--workers`): joins each worker before starting the next, so
//! they never run at the same time. Arguments are ignored; it behaves as
//! `--workers 3`. Its workers are `fn`s, so it runs under every start
//! method.

use common::Process;

fn worker(i: u32) {
    println!("Worker {i} started");
    println!("Worker {i} finished");
}

fn main() -> common::Result<()> {
    for i in 0..3 {
        let mut process = Process::with_args(worker, i);
        process.start()?;
        process.join()?;
    }
    println!("All processes are done.");
    Ok(())
}
