//! A wrong Q5 that passes every visible check: its pool maps over
//! 1..=`--upto`, but never past 10 (as if the seed's list were all there
//! is). Only the hidden run, up to 12, shows it.

use std::process::ExitCode;

use clap::Parser;
use common::Pool;

#[derive(Parser)]
struct Args {
    #[arg(long, default_value_t = 4)]
    processes: usize,
    #[arg(long, default_value_t = 10)]
    upto: i64,
    #[arg(long, default_value = "square")]
    function: String,
}

fn square(n: i64) -> i64 {
    n * n
}

fn double(n: i64) -> i64 {
    n * 2
}

fn main() -> ExitCode {
    let args = Args::parse();
    let function: fn(i64) -> i64 = if args.function == "double" {
        double
    } else {
        square
    };
    let results = Pool::new(args.processes).and_then(|mut pool| {
        let numbers: Vec<i64> = (1..=args.upto.min(10)).collect();
        pool.map(function, numbers)
    });
    match results {
        Ok(results) => {
            println!("{results:?}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("{error}");
            ExitCode::FAILURE
        }
    }
}
