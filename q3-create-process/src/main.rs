//! Q3. Write a code to create a process using the multiprocessing module.
//!
//! Without arguments this ports seed 001's answer: one `Process` runs
//! `my_function`, the parent joins it, checks `is_alive` and reports:
//!
//! ```text
//! This is a process!
//! The process has completed.
//! ```
//!
//! `--workers N` ports seed 000's answer: N processes run `worker(i)` for
//! i in 0..N at the same time, each printing `Worker i started`, sleeping
//! (`--sleep-ms`, 2000 by default as in the seed) and printing
//! `Worker i finished`; after joining them all the parent prints
//! `All processes are done.`. With 3 workers, one possible run:
//!
//! ```text
//! Worker 0 started
//! Worker 1 started
//! Worker 2 started
//! Worker 0 finished
//! Worker 2 finished
//! Worker 1 finished
//! All processes are done.
//! ```

use std::process::ExitCode;
// BEGIN SOLUTION
use std::thread;
use std::time::Duration;
// END SOLUTION

use clap::Parser;
// BEGIN SOLUTION
use common::Process;
// END SOLUTION

/// Create a process, join it, and check whether it is still alive.
#[derive(Parser)]
#[command(version, about)]
struct Args {
    /// Run seed 000's program instead: this many workers at once.
    #[arg(long, value_name = "N")]
    workers: Option<u32>,

    /// How long each worker sleeps, in milliseconds (with --workers).
    #[arg(long, value_name = "MS", default_value_t = 2000, requires = "workers")]
    sleep_ms: u64,
}

// BEGIN SOLUTION
// Define a function that the process will execute
fn my_function() {
    println!("This is a process!");
}
// END SOLUTION

/// Seed 001's program.
fn one_process() -> common::Result<()> {
    // BEGIN SOLUTION
    // STUB: todo!("create a Process running a function that prints `This is a process!`, start it, join it, then print whether it is still alive")
    // Create a process
    let mut my_process = Process::new(my_function);

    // Start the process
    my_process.start()?;

    // Wait for the process to complete (optional)
    my_process.join()?;

    // Check if the process is alive (optional)
    if my_process.is_alive() {
        println!("The process is still running.");
    } else {
        println!("The process has completed.");
    }
    Ok(())
    // END SOLUTION
}

// BEGIN SOLUTION
// Define a function to be executed by the process
fn worker(num: u32, sleep_ms: u64) {
    println!("Worker {num} started");
    thread::sleep(Duration::from_millis(sleep_ms)); // Simulate a task taking some time
    println!("Worker {num} finished");
}
// END SOLUTION

/// Seed 000's program.
fn many_workers(workers: u32, sleep_ms: u64) -> common::Result<()> {
    // BEGIN SOLUTION
    // STUB: let _ = (workers, sleep_ms);
    // STUB: todo!("start `workers` Processes at once, each printing `Worker i started`, sleeping `sleep_ms` and printing `Worker i finished`; join them all, then print `All processes are done.`")
    // Create a list of processes
    let mut processes = Vec::new();

    // Create and start new processes
    for i in 0..workers {
        let process = Process::with_args(worker, (i, sleep_ms));
        processes.push(process);
        processes.last_mut().expect("just appended").start()?;
    }

    // Wait for all processes to complete
    for process in &processes {
        process.join()?;
    }

    println!("All processes are done.");
    Ok(())
    // END SOLUTION
}

fn main() -> ExitCode {
    let args = Args::parse();
    let outcome = match args.workers {
        None => one_process(),
        Some(n) => many_workers(n, args.sleep_ms),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("q3-create-process: {error}");
            ExitCode::from(error.exit_code())
        }
    }
}
