//! A wrong Q8: each process counts in a number of its own and, under the
//! counter's lock, reads the shared counter and writes over it its own
//! count times the number of processes, so the last write leaves the
//! right total. Every write is of the shared value, under its lock, after
//! a read; none adds one to what the value held. The output is exactly
//! right.

use common::{Process, Value};

fn increment((counter, increments): (Value<i32>, i32)) {
    let mut mine = 0;
    for _ in 0..increments {
        mine += 1;
        let _held = counter.get_lock().acquire().expect("the counter's lock");
        let _ = counter.get();
        counter.set(mine * 4);
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
