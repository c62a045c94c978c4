//! A wrong Q11: the workers square the numbers, but the parent prints
//! squares it worked out itself instead of the ones on the result queue.

use common::{JoinableQueue, Process, Queue};

fn worker((tasks, results): (JoinableQueue<Option<u64>>, Queue<u64>)) {
    while let Some(n) = tasks.get().expect("a task") {
        results
            .put(&(n * n))
            .expect("the result queue takes the square");
        tasks.task_done().expect("one task_done per get");
    }
    tasks.task_done().expect("one task_done per get");
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
    for n in 1..=5u64 {
        println!("Square: {}", n * n);
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
