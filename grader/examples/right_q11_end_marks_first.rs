//! A right Q11 written in another style than the reference: the parent
//! sends every worker its end mark and joins them all before it takes a
//! single square out of the result queue, so no worker is alive when the
//! squares are printed. What crossed is shown by who put each square in,
//! not by who still shares the queue at the print. Takes the reference's
//! `--workers N --tasks N` (defaults 2 and 5).

use common::{JoinableQueue, Process, Queue};

fn worker(tasks: JoinableQueue<Option<u64>>, results: Queue<u64>) {
    while let Some(n) = tasks.get().expect("a task") {
        results.put(&(n * n)).expect("the result queue takes it");
        tasks.task_done().expect("one task_done per get");
    }
    tasks.task_done().expect("one task_done per get");
}

fn argument(name: &str, default: u64) -> u64 {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|n| n.parse().ok())
        .unwrap_or(default)
}

fn main() -> common::Result<()> {
    let (workers, count) = (argument("--workers", 2), argument("--tasks", 5));
    let tasks = JoinableQueue::new()?;
    let results = Queue::new()?;
    let mut processes: Vec<Process> = (0..workers)
        .map(|_| Process::with_args(worker, (tasks.clone(), results.clone())))
        .collect();
    processes.iter_mut().try_for_each(Process::start)?;
    for n in 1..=count {
        tasks.put(&Some(n))?;
    }
    for _ in 0..workers {
        tasks.put(&None)?;
    }
    tasks.join()?;
    processes.iter().try_for_each(Process::join)?;
    let mut squares = (0..count)
        .map(|_| results.get())
        .collect::<common::Result<Vec<u64>>>()?;
    squares.sort_unstable();
    for square in squares {
        println!("Square: {square}");
    }
    println!("All tasks done.");
    Ok(())
}
