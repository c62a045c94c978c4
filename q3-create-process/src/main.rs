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
use std::thread;
use std::time::Duration;

use clap::Parser;
use common::Process;

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

// Define a function that the process will execute
fn my_function() {
    println!("This is a process!");
}

/// Seed 001's program.
fn one_process() -> common::Result<()> {
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
}

// Define a function to be executed by the process
fn worker((num, sleep_ms): (u32, u64)) {
    println!("Worker {num} started");
    thread::sleep(Duration::from_millis(sleep_ms)); // Simulate a task taking some time
    println!("Worker {num} finished");
}

/// Seed 000's program.
fn many_workers(workers: u32, sleep_ms: u64) -> common::Result<()> {
    // Create a list of processes
    let mut processes = Vec::new();

    // Create and start new processes
    for i in 0..workers {
        let mut process = Process::with_args(worker, (i, sleep_ms));
        process.start()?;
        processes.push(process);
    }

    // Wait for all processes to complete
    for process in &processes {
        process.join()?;
    }

    println!("All processes are done.");
    Ok(())
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
