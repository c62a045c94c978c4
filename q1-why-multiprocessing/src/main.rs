//! Q1. What is multiprocessing in Python? Why is it useful?
//!
//! Both seeds answer: separate processes run on separate cores, so a
//! CPU-bound job finishes sooner, and in CPython they sidestep the Global
//! Interpreter Lock (GIL), which lets only one thread run Python code at a
//! time.
//!
//! This program measures the first claim. It counts the primes below a bound
//! three ways: in one process, over a `Pool` of worker processes, and over
//! as many threads; the range is cut into many small pieces handed out to
//! whichever worker is free, since the pieces cost unequal amounts. It
//! prints wall times and speedups next to the number of cores:
//!
//! ```text
//! counting primes below 300000 (25997 primes) on 2 cores
//! method      workers   wall ms  speedup
//! sequential        1     402.1    1.00x
//! processes         2     207.5    1.94x
//! threads           2     204.9    1.96x
//! ```
//!
//! Rust threads have no GIL, so here they speed up as much as processes: the
//! GIL claim is about Python. `--python` runs the same job in Python threads
//! and in a Python process pool, when `python3` is on PATH, to show the GIL's
//! effect side by side. `--json` prints the figures for machines.

use std::process::{Command, ExitCode};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use clap::Parser;
// BEGIN SOLUTION
use common::Pool;
// END SOLUTION
use serde::Serialize;

/// Time a CPU-bound job sequentially, over processes and over threads.
#[derive(Parser)]
#[command(version, about)]
struct Args {
    /// Count the primes below this number.
    #[arg(long, default_value_t = 300_000, value_parser = clap::value_parser!(u64).range(2..=100_000_000))]
    bound: u64,

    /// How many processes and threads (default: one per core).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=256))]
    workers: Option<u16>,

    /// Also run the same job in Python threads and a Python process pool.
    #[arg(long)]
    python: bool,

    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

/// How many pieces per worker the range is cut into.
const PIECES_PER_WORKER: u64 = 8;

fn is_prime(n: u64) -> bool {
    n >= 2
        && (2..)
            .take_while(|d| d * d <= n)
            .all(|d| !n.is_multiple_of(d))
}

// The CPU-bound task: count the primes in [start, end).
fn count_primes((start, end): (u64, u64)) -> u64 {
    (start..end).filter(|&n| is_prime(n)).count() as u64
}

/// `[0, bound)` cut into `pieces` consecutive ranges.
fn pieces(bound: u64, pieces: u64) -> Vec<(u64, u64)> {
    let step = bound.div_ceil(pieces).max(1);
    (0..bound)
        .step_by(step as usize)
        .map(|s| (s, (s + step).min(bound)))
        .collect()
}

#[derive(Serialize)]
struct Timing {
    method: &'static str,
    workers: usize,
    seconds: f64,
    primes: u64,
    speedup: f64,
}

#[derive(Serialize)]
struct Report {
    bound: u64,
    cores: usize,
    timings: Vec<Timing>,
    /// What seed 001's snippet printed.
    seed_snippet: Vec<u64>,
    /// The pool's worker processes, which did the `processes` run.
    worker_pids: Vec<u32>,
    /// The Python side, when asked for and available.
    python: Option<serde_json::Value>,
    /// Why the Python side is missing, when asked for.
    python_skipped: Option<String>,
}

// Seed 001's example: the function each worker runs.
fn worker_function(task: u64) -> u64 {
    // Perform some task
    task * 2
}

/// Seed 001's snippet, as it is: a pool of 4 worker processes maps
/// `worker_function` over the tasks; it prints `[2, 4, 6, 8, 10]`.
fn seed_snippet() -> common::Result<Vec<u64>> {
    // BEGIN SOLUTION
    // STUB: let _ = worker_function;
    // STUB: todo!("seed 001's snippet: a Pool of 4 processes maps worker_function over [1, 2, 3, 4, 5]; close and join it")
    let tasks = vec![1, 2, 3, 4, 5];
    let mut pool = Pool::new(4)?;
    let results = pool.map(worker_function, tasks)?;
    pool.close();
    pool.join()?;
    Ok(results)
    // END SOLUTION
}

fn timed(run: impl FnOnce() -> common::Result<u64>) -> common::Result<(f64, u64)> {
    let start = Instant::now();
    let primes = run()?;
    Ok((start.elapsed().as_secs_f64(), primes))
}

/// Counts the primes of every piece over a pool of `workers` worker
/// processes; returns the count and the workers' pids.
fn over_processes(workers: usize, work: &[(u64, u64)]) -> common::Result<(u64, Vec<u32>)> {
    // BEGIN SOLUTION
    // STUB: let _ = (workers, work);
    // STUB: todo!("create a Pool of `workers` processes, map count_primes over the pieces one at a time (chunksize 1), and return the sum with the pool's pids")
    let mut pool = Pool::new(workers)?;
    let worker_pids = pool.pids();
    // One piece at a time, like the threads: the pieces cost unequal amounts.
    let primes = pool
        .chunksize(1)
        .map(count_primes, work.to_vec())?
        .iter()
        .sum();
    Ok((primes, worker_pids))
    // END SOLUTION
}

fn run(args: &Args) -> common::Result<Report> {
    let seed_snippet = seed_snippet()?;
    let workers = args.workers.map_or_else(common::cpu_count, usize::from);
    let work = pieces(args.bound, workers as u64 * PIECES_PER_WORKER);

    let sequential = timed(|| Ok(count_primes((0, args.bound))))?;

    // Processes come before threads: a process with threads may not fork.
    let mut worker_pids = Vec::new();
    let processes = timed(|| {
        let (primes, pids) = over_processes(workers, &work)?;
        worker_pids = pids;
        Ok(primes)
    })?;

    let threads = timed(|| {
        let next = AtomicUsize::new(0);
        let total = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..workers)
                .map(|_| {
                    scope.spawn(|| {
                        let mut sum = 0;
                        while let Some(&piece) = work.get(next.fetch_add(1, Ordering::Relaxed)) {
                            sum += count_primes(piece);
                        }
                        sum
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("a counting thread panicked"))
                .sum()
        });
        Ok(total)
    })?;

    let timing = |method, workers, (seconds, primes): (f64, u64)| Timing {
        method,
        workers,
        seconds,
        primes,
        speedup: sequential.0 / seconds,
    };
    let (python, python_skipped) = if args.python {
        match python_side(args.bound, workers) {
            Ok(value) => (Some(value), None),
            Err(why) => (None, Some(why)),
        }
    } else {
        (None, None)
    };
    Ok(Report {
        bound: args.bound,
        cores: common::cpu_count(),
        timings: vec![
            timing("sequential", 1, sequential),
            timing("processes", workers, processes),
            timing("threads", workers, threads),
        ],
        seed_snippet,
        worker_pids,
        python,
        python_skipped,
    })
}

/// The same job in CPython, written for this comparison: sequential, a
/// thread pool, and a process pool, each timed; one JSON object out.
const PYTHON_SIDE: &str = r#"
import json, sys, time
from concurrent.futures import ThreadPoolExecutor
from multiprocessing import Pool

def is_prime(n):
    if n < 2:
        return False
    d = 2
    while d * d <= n:
        if n % d == 0:
            return False
        d += 1
    return True

def count(piece):
    return sum(1 for n in range(piece[0], piece[1]) if is_prime(n))

if __name__ == "__main__":
    bound, workers = int(sys.argv[1]), int(sys.argv[2])
    n = workers * 8
    step = max(1, -(-bound // n))
    work = [(s, min(s + step, bound)) for s in range(0, bound, step)]
    out = {"version": sys.version.split()[0]}
    t = time.perf_counter(); primes = count((0, bound)); out["sequential"] = time.perf_counter() - t
    t = time.perf_counter()
    with ThreadPoolExecutor(workers) as ex:
        assert sum(ex.map(count, work)) == primes
    out["threads"] = time.perf_counter() - t
    t = time.perf_counter()
    with Pool(workers) as pool:
        assert sum(pool.map(count, work)) == primes
    out["processes"] = time.perf_counter() - t
    out["primes"] = primes
    print(json.dumps(out))
"#;

fn python_side(bound: u64, workers: usize) -> Result<serde_json::Value, String> {
    let output = Command::new("python3")
        .args(["-c", PYTHON_SIDE, &bound.to_string(), &workers.to_string()])
        .output()
        .map_err(|e| format!("python3 could not be run ({e}); skipping the Python side"))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(format!(
            "python3 failed: {}",
            stderr.lines().last().unwrap_or("no message")
        ));
    }
    serde_json::from_slice(&output.stdout).map_err(|e| format!("python3 printed no JSON: {e}"))
}

fn print_table(report: &Report) {
    println!("seed 001's snippet: {:?}", report.seed_snippet);
    let primes = report.timings[0].primes;
    println!(
        "counting primes below {} ({primes} primes) on {} cores",
        report.bound, report.cores
    );
    println!(
        "{:<11} {:>7} {:>9} {:>8}",
        "method", "workers", "wall ms", "speedup"
    );
    for t in &report.timings {
        println!(
            "{:<11} {:>7} {:>9.1} {:>7.2}x",
            t.method,
            t.workers,
            t.seconds * 1e3,
            t.speedup
        );
    }
    println!(
        "Rust threads have no GIL, so they speed up like processes; the GIL limit is Python's."
    );
    if let Some(python) = &report.python {
        let seconds = |key: &str| python[key].as_f64().unwrap_or(f64::NAN);
        let sequential = seconds("sequential");
        println!(
            "python {} on the same job:",
            python["version"].as_str().unwrap_or("?")
        );
        for method in ["sequential", "threads", "processes"] {
            let s = seconds(method);
            println!(
                "{:<11} {:>7} {:>9.1} {:>7.2}x",
                method,
                "",
                s * 1e3,
                sequential / s
            );
        }
        println!("Python threads take turns holding the GIL; Python processes do not.");
    }
    if let Some(why) = &report.python_skipped {
        println!("{why}");
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(report) => {
            if args.json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&report).expect("plain data")
                );
            } else {
                print_table(&report);
            }
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("q1-why-multiprocessing: {error}");
            ExitCode::from(error.exit_code())
        }
    }
}
