//! A wrong Q11: the workers never call `task_done`, so the parent's
//! `join` of the task queue waits forever: a deadlock the timeout ends.

use common::{JoinableQueue, Process, Queue};

fn worker((tasks, results): (JoinableQueue<Option<u64>>, Queue<u64>)) {
    while let Some(n) = tasks.get().expect("a task") {
        results
            .put(&(n * n))
            .expect("the result queue takes the square");
    }
}

fn main() -> common::Result<()> {
    let tasks = JoinableQueue::new()?;
    let results = Queue::new()?;
    let mut workers = Vec::new();
    for _ in 0..2 {
        let queues = (tasks.try_clone()?, results.try_clone()?);
        workers.push(Process::with_args(worker, queues));
    }
    for process in &mut workers {
        process.start()?;
    }
    for n in 1..=5u64 {
        tasks.put(&Some(n))?;
    }
    tasks.join()?;
    let mut squares = (0..5)
        .map(|_| results.get())
        .collect::<common::Result<Vec<u64>>>()?;
    squares.sort_unstable();
    for square in squares {
        println!("Square: {square}");
    }
    for _ in &workers {
        tasks.put(&None)?;
    }
    for process in &workers {
        process.join()?;
    }
    println!("All tasks done.");
    Ok(())
}
