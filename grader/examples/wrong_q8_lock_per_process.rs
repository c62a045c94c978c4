//! A wrong Q8: each process holds a lock around its update, but a lock of
//! its own, which keeps no other process out.

use common::{Lock, Process, Value};

fn increment((counter, increments): (Value<i32>, u32)) {
    let lock = Lock::new().expect("a lock");
    for _ in 0..increments {
        let _held = lock.acquire().expect("the lock");
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
