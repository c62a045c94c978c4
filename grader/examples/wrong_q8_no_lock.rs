//! A wrong Q8: each process adds 1 to the shared counter without its lock
//! (`counter.value += 1` without `get_lock()`): a read, then a write, and
//! another process may write in between. Often the total comes out right.

use common::{Process, Value};

fn increment((counter, increments): (Value<i32>, u32)) {
    for _ in 0..increments {
        counter.set(counter.get() + 1);
    }
}

fn main() -> common::Result<()> {
    let counter = Value::new(0i32)?;
    let mut processes = Vec::new();
    for _ in 0..4 {
        processes.push(Process::with_args(increment, (counter.try_clone()?, 1000)));
    }
    for process in &mut processes {
        process.start()?;
    }
    for process in &processes {
        process.join()?;
    }
    println!("Counter: {}", counter.get());
    Ok(())
}
