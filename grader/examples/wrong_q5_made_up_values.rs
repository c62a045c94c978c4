//! A wrong Q5: a pool of the requested size is made and maps a function,
//! but one that returns a made-up value; the main process prints the list
//! it worked out itself. The output is right and the workers are real
//! processes; no value printed came from them.

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

fn made_up(_: i64) -> i64 {
    0
}

fn main() {
    let args = Args::parse();
    let mut pool = Pool::new(args.processes).expect("pool");
    let numbers: Vec<i64> = (1..=args.upto).collect();
    let _ignored = pool.map(made_up, numbers.clone()).expect("mapped");
    let results: Vec<i64> = numbers
        .iter()
        .map(|n| {
            if args.function == "double" {
                n * 2
            } else {
                n * n
            }
        })
        .collect();
    println!("{results:?}");
}
