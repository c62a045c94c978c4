//! Q8. Several processes add 1 to one shared counter, many times each. The
//! counter is a `multiprocessing.Value('i', 0)`; each update holds the
//! counter's lock, so that no update is lost. The parent joins them all
//! and prints the total.
//!
//! The Python original (the same output under `fork`, `spawn` and
//! `forkserver`; `--processes 3 --increments 500` prints `Counter: 1500`):
//!
//! ```python
//! import argparse
//! import multiprocessing as mp
//!
//! def increment(counter, increments):
//!     for _ in range(increments):
//!         with counter.get_lock():
//!             counter.value += 1
//!
//! if __name__ == "__main__":
//!     parser = argparse.ArgumentParser()
//!     parser.add_argument("--processes", type=int, default=4)
//!     parser.add_argument("--increments", type=int, default=1000)
//!     args = parser.parse_args()
//!     counter = mp.Value('i', 0)
//!     processes = [mp.Process(target=increment, args=(counter, args.increments))
//!                  for _ in range(args.processes)]
//!     for p in processes:
//!         p.start()
//!     for p in processes:
//!         p.join()
//!     print(f"Counter: {counter.value}")
//! ```
//!
//! ```text
//! Counter: 4000
//! ```
//!
//! `counter.value += 1` is two steps, a read and a write; without the lock
//! another process may write between them, and its update is lost. The
//! grader does not wait for that to happen by chance: it stops each child
//! between its read and its write of the counter and lets the others run
//! (see the grader's `data` check), so a missing lock is caught every time.

use std::process::ExitCode;

use clap::Parser;
// BEGIN SOLUTION
use common::{Process, Value};
// END SOLUTION

/// Processes adding to one shared counter, under its lock.
#[derive(Parser)]
#[command(version, about)]
struct Args {
    /// How many processes add to the counter.
    #[arg(long, value_name = "N", default_value_t = 4,
          value_parser = clap::value_parser!(u16).range(1..=64))]
    processes: u16,

    /// How many times each process adds 1.
    #[arg(long, value_name = "N", default_value_t = 1000,
          value_parser = clap::value_parser!(u32).range(0..=1_000_000))]
    increments: u32,
}

// BEGIN SOLUTION
// Add 1 to the counter `increments` times, holding its lock for each update
fn increment(counter: Value<i32>, increments: u32) {
    for _ in 0..increments {
        let _held = counter.get_lock().acquire().expect("the counter's lock");
        counter.set(counter.get() + 1);
    }
}
// END SOLUTION

fn run(args: &Args) -> common::Result<()> {
    // BEGIN SOLUTION
    // STUB: let _ = (args.processes, args.increments); todo!("make a Value counter at 0; start `--processes` Processes that each add 1 to it `--increments` times, holding counter.get_lock() for each update; join them all, then print `Counter: N`")
    let counter = Value::new(0i32)?;
    let mut processes = Vec::new();
    for _ in 0..args.processes {
        let process = Process::with_args(increment, (counter.clone(), args.increments));
        processes.push(process);
    }
    for process in &mut processes {
        process.start()?;
    }
    for process in &processes {
        process.join()?;
    }
    println!("Counter: {}", counter.get());
    Ok(())
    // END SOLUTION
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("q8-shared-counter: {error}");
            ExitCode::from(error.exit_code())
        }
    }
}
