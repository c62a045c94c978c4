//! A right Q5 in another style: a pool built with the builder whose
//! workers each run one job and are replaced (`maxtasksperchild(1)`), one
//! item per job. More worker processes are created than the pool's size,
//! never more of them alive at once.

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
    let mut pool = Pool::builder()
        .processes(args.processes)
        .maxtasksperchild(1)
        .build()
        .expect("pool");
    let results = pool
        .chunksize(1)
        .map(function, 1..=args.upto)
        .expect("mapped");
    println!("{results:?}");
}
