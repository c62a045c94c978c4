//! A wrong Q3 (`--workers`): joins each worker before starting the next, so
//! they never run at the same time. Arguments are ignored; it behaves as
//! `--workers 3`.

use common::Process;

fn main() -> common::Result<()> {
    for i in 0..3 {
        let mut process = Process::from_closure(move || {
            println!("Worker {i} started");
            println!("Worker {i} finished");
        });
        process.start()?;
        process.join()?;
    }
    println!("All processes are done.");
    Ok(())
}
