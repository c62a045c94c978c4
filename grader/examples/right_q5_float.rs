//! A right Q5 in another style: the workers compute in `f64` and the main
//! process prints the results as integers. The values printed are the
//! workers', sent back as floating-point numbers.

use clap::Parser;
use common::Pool;

#[derive(Parser)]
struct Args {
    #[arg(long, default_value_t = 4)]
    processes: usize,
    #[arg(long, default_value_t = 10)]
    upto: u32,
    #[arg(long, default_value = "square")]
    function: String,
}

fn square(n: f64) -> f64 {
    n * n
}

fn double(n: f64) -> f64 {
    n * 2.0
}

fn main() {
    let args = Args::parse();
    let function = if args.function == "double" {
        double
    } else {
        square
    };
    let mut pool = Pool::new(args.processes).expect("pool");
    let numbers: Vec<f64> = (1..=args.upto).map(f64::from).collect();
    let results: Vec<i64> = pool
        .map(function, numbers)
        .expect("mapped")
        .into_iter()
        .map(|x| x as i64)
        .collect();
    println!("{results:?}");
}
