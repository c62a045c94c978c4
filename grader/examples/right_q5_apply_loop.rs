//! A right Q5 in another style: `i32` items, one `apply` per item in a
//! loop rather than `map`, the pool closed and joined by hand.

use clap::Parser;
use common::Pool;

#[derive(Parser)]
struct Args {
    #[arg(long, default_value_t = 4)]
    processes: usize,
    #[arg(long, default_value_t = 10)]
    upto: i32,
    #[arg(long, default_value = "square")]
    function: String,
}

fn square(n: i32) -> i32 {
    n * n
}

fn double(n: i32) -> i32 {
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
    let mut results = Vec::new();
    for n in 1..=args.upto {
        results.push(pool.apply(function, n).expect("applied"));
    }
    pool.close();
    pool.join().expect("joined");
    println!("{results:?}");
}
