//! A right Q5 in another style: the pool first maps a hundred thousand
//! numbers (jobs of 50 KB, which the pool hands its workers as pages
//! where the kernel lets it), then maps the list and prints it.

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

fn main() {
    let args = Args::parse();
    let function = if args.function == "double" {
        double
    } else {
        square
    };
    let mut pool = Pool::new(args.processes).expect("pool");
    let large = pool.map(function, 1..=100_000).expect("the large map");
    assert_eq!(large.len(), 100_000);
    let results = pool.map(function, 1..=args.upto).expect("mapped");
    println!("{results:?}");
}
