//! A wrong Q10: each worker gets a barrier of its own, made for one
//! party, so its wait returns at once: a barrier no one else is at.

use common::{Barrier, Process};

fn worker((i, barrier): (u16, Barrier)) {
    println!("Worker {i} phase 1");
    barrier.wait().expect("the barrier opens");
    println!("Worker {i} phase 2");
}

fn main() -> common::Result<()> {
    let mut processes = Vec::new();
    for i in 0..4 {
        processes.push(Process::with_args(worker, (i, Barrier::new(1)?)));
    }
    for process in &mut processes {
        process.start()?;
    }
    for process in &processes {
        process.join()?;
    }
    println!("All phases done.");
    Ok(())
}
