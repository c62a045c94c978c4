//! Q11. Worker processes take numbers off a joinable task queue and put
//! their squares on a result queue, marking each task done; the parent
//! puts the tasks, waits until every one is done, prints the squares in
//! order, then tells the workers to stop, joins them, and prints
//! `All tasks done.`
//!
//! The Python original (the same output under `fork`, `spawn` and
//! `forkserver`):
//!
//! ```python
//! import multiprocessing as mp
//!
//! def worker(tasks, results):
//!     while True:
//!         n = tasks.get()
//!         if n is None:
//!             tasks.task_done()
//!             break
//!         results.put(n * n)
//!         tasks.task_done()
//!
//! if __name__ == "__main__":
//!     tasks = mp.JoinableQueue()
//!     results = mp.Queue()
//!     workers = [mp.Process(target=worker, args=(tasks, results)) for _ in range(2)]
//!     for w in workers:
//!         w.start()
//!     for n in range(1, 6):
//!         tasks.put(n)
//!     tasks.join()
//!     squares = sorted(results.get() for _ in range(5))
//!     for square in squares:
//!         print(f"Square: {square}")
//!     for _ in workers:
//!         tasks.put(None)
//!     for w in workers:
//!         w.join()
//!     print("All tasks done.")
//! ```
//!
//! ```text
//! Square: 1
//! Square: 4
//! Square: 9
//! Square: 16
//! Square: 25
//! All tasks done.
//! ```
//!
//! `tasks.join()` returns once every task put has been marked done, so
//! every square is on the result queue by then, whichever worker computed
//! it. The grader checks from the kernel that each square the parent
//! prints is one it took out of a queue it shares with the workers (see
//! the grader's `data` check), so a parent that squares the numbers itself
//! does not pass.

use std::process::ExitCode;

use clap::Parser;
// BEGIN SOLUTION
use common::{JoinableQueue, Process, Queue};
// END SOLUTION

/// Worker processes squaring numbers from a joinable task queue.
#[derive(Parser)]
#[command(version, about)]
struct Args {
    /// How many worker processes take tasks.
    #[arg(long, value_name = "N", default_value_t = 2,
          value_parser = clap::value_parser!(u16).range(1..=64))]
    workers: u16,

    /// The tasks are the numbers 1 to N.
    #[arg(long, value_name = "N", default_value_t = 5,
          value_parser = clap::value_parser!(u32).range(1..=10_000))]
    tasks: u32,
}

// BEGIN SOLUTION
// Square each number taken off `tasks` onto `results` until None, marking
// each task done
fn worker(tasks: JoinableQueue<Option<u64>>, results: Queue<u64>) {
    loop {
        let task = tasks.get().expect("a task");
        let Some(n) = task else {
            tasks.task_done().expect("one task_done per get");
            break;
        };
        results
            .put(&(n * n))
            .expect("the result queue takes the square");
        tasks.task_done().expect("one task_done per get");
    }
}
// END SOLUTION

fn run(args: &Args) -> common::Result<()> {
    // BEGIN SOLUTION
    // STUB: let _ = (args.workers, args.tasks); todo!("make a JoinableQueue of tasks and a Queue of results; start `--workers` Processes that square each task onto the results and call task_done, until None; put 1 to `--tasks`, join the task queue, get every square, print them sorted as `Square: N`; then put a None per worker, join them all, and print `All tasks done.`")
    let tasks = JoinableQueue::new()?;
    let results = Queue::new()?;
    let mut workers = Vec::new();
    for _ in 0..args.workers {
        workers.push(Process::with_args(worker, (tasks.clone(), results.clone())));
    }
    for process in &mut workers {
        process.start()?;
    }
    for n in 1..=u64::from(args.tasks) {
        tasks.put(&Some(n))?;
    }
    tasks.join()?;
    let mut squares = (0..args.tasks)
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
    // END SOLUTION
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("q11-task-queue: {error}");
            ExitCode::from(error.exit_code())
        }
    }
}
