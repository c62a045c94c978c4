//! A right Q5 in another style: each worker returns its item with the
//! result written out as text, `(n, "n*n")`; the main process prints the
//! texts in order. The values printed are the workers', in another
//! encoding than an integer's.

use clap::Parser;
use common::Pool;

#[derive(Parser)]
struct Args {
    #[arg(long, default_value_t = 4)]
    processes: usize,
    #[arg(long, default_value_t = 10)]
    upto: u64,
    #[arg(long, default_value = "square")]
    function: String,
}

fn square(n: u64) -> (u64, String) {
    (n, (n * n).to_string())
}

fn double(n: u64) -> (u64, String) {
    (n, (n * 2).to_string())
}

fn main() {
    let args = Args::parse();
    let function = if args.function == "double" {
        double
    } else {
        square
    };
    let results = {
        let mut pool = Pool::new(args.processes).expect("pool");
        pool.map(function, (1..=args.upto).collect::<Vec<_>>())
            .expect("mapped")
    };
    let texts: Vec<String> = results.into_iter().map(|(_, text)| text).collect();
    println!("[{}]", texts.join(", "));
}
