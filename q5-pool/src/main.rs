//! Q5. How can we create a pool of worker processes using the
//! multiprocessing module?
//!
//! Without arguments this ports seed 000's answer: a pool of 4 worker
//! processes maps `square` over `[1, ..., 10]` and prints, in input order:
//!
//! ```text
//! [1, 4, 9, 16, 25, 36, 49, 64, 81, 100]
//! ```
//!
//! `--function double --upto 5` ports seed 001's answer, whose
//! `worker_function` doubles each of `[1, 2, 3, 4, 5]`:
//!
//! ```text
//! [2, 4, 6, 8, 10]
//! ```
//!
//! `--processes N` sets the pool's size (without it, 4 as in the seeds).

use std::process::ExitCode;

use clap::{Parser, ValueEnum};
// BEGIN SOLUTION
use common::Pool;
// END SOLUTION

/// Map a function over a list with a pool of worker processes.
#[derive(Parser)]
#[command(version, about)]
struct Args {
    /// How many worker processes the pool has.
    #[arg(long, value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..))]
    processes: u16,

    /// Map over the numbers 1 to N (at most ten million).
    #[arg(long, value_name = "N", default_value_t = 10,
          value_parser = clap::value_parser!(i64).range(0..=10_000_000))]
    upto: i64,

    /// Which function to map: seed 000's `square` or seed 001's `worker_function`.
    #[arg(long, value_enum, default_value_t = Function::Square)]
    function: Function,
}

#[derive(Clone, Copy, ValueEnum)]
enum Function {
    /// n * n (seed 000)
    Square,
    /// n * 2 (seed 001's worker_function)
    Double,
}

// BEGIN SOLUTION
// Define the function to be executed by each worker
fn square(n: i64) -> i64 {
    n * n
}

// Seed 001's worker function: perform some task
fn worker_function(task: i64) -> i64 {
    task * 2
}
// END SOLUTION

fn run(args: &Args) -> common::Result<Vec<i64>> {
    // BEGIN SOLUTION
    // STUB: let _ = (args.processes, args.upto, args.function);
    // STUB: todo!("create a Pool of `args.processes` workers and map square (or worker_function, for --function double) over 1..=`args.upto`")
    let function = match args.function {
        Function::Square => square,
        Function::Double => worker_function,
    };

    // Create a Pool with 4 worker processes (or --processes), in a block,
    // as Python's `with`: the pool is closed and its workers reaped where
    // the block ends.
    let results = {
        let mut pool = Pool::new(args.processes.into())?;

        // Define a list of numbers to process
        let numbers: Vec<i64> = (1..=args.upto).collect();

        // Use the map method to apply the function to the list of numbers
        pool.map(function, numbers)?
    };
    Ok(results)
    // END SOLUTION
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(results) => {
            // Print the results
            println!("{results:?}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("q5-pool: {error}");
            ExitCode::from(error.exit_code())
        }
    }
}
