//! Q4. What is a multiprocessing pool in Python? Why is it used?
//!
//! Both seeds answer: a pool keeps a fixed number of worker processes and
//! hands them task after task, which saves creating a process per task and
//! bounds how many run at once. This program runs many small tasks both ways
//! and prints the rate and which processes did the work:
//!
//! ```text
//! 200 small tasks
//! way                   tasks/s  processes used
//! a process per task       4100  200 (one per task)
//! a pool of 2 workers     95000  2 (reused: the pool's workers)
//! ```
//!
//! A process per task pays for a fork and a join every time; the pool pays
//! once, when it starts. `--json` prints the figures and the pids.

use std::collections::BTreeSet;
use std::process::ExitCode;
use std::time::Instant;

use clap::Parser;
// BEGIN SOLUTION
use common::{Connection, Pool, Process};
// END SOLUTION
use serde::Serialize;

/// A process per task against a pool of reused workers.
#[derive(Parser)]
#[command(version, about)]
struct Args {
    /// How many tasks.
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    tasks: u32,

    /// How many workers the pool has.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u16).range(1..=256))]
    workers: u16,

    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

/// Each task's result, with the pid of the process that ran it.
type Results = Vec<(u64, u32)>;

// The small task: a little arithmetic, and which process did it.
fn task(n: u64) -> (u64, u32) {
    (n * n, std::process::id())
}

#[derive(Serialize)]
struct Way {
    tasks_per_second: f64,
    /// The distinct processes that ran tasks.
    pids: BTreeSet<u32>,
    /// Whether every result was right.
    results_correct: bool,
}

#[derive(Serialize)]
struct Report {
    tasks: u32,
    process_per_task: Way,
    pool: Way,
    /// The pool's workers, as the pool reports them.
    pool_workers: Vec<u32>,
    /// What seed 001's snippet printed.
    seed_snippet: Vec<u64>,
}

// Seed 001's example: the function each worker runs.
fn worker_function(task: u64) -> u64 {
    task * 2
}

/// Seed 001's snippet, as it is: `with Pool(processes=4) as pool:` maps
/// `worker_function` over the tasks; it prints `[2, 4, 6, 8, 10]`.
fn seed_snippet() -> common::Result<Vec<u64>> {
    // BEGIN SOLUTION
    // STUB: let _ = worker_function;
    // STUB: todo!("seed 001's snippet: in a block, as Python's `with`, a Pool of 4 processes maps worker_function over [1, 2, 3, 4, 5]")
    let tasks = vec![1, 2, 3, 4, 5];
    let results = {
        let mut pool = Pool::new(4)?;
        pool.map(worker_function, tasks)?
    };
    Ok(results)
    // END SOLUTION
}

// BEGIN SOLUTION
/// In a child: runs the task and sends its result back.
fn task_in_child((n, conn): (u64, Connection)) {
    conn.send(&task(n)).expect("the parent listens");
}
// END SOLUTION

/// Runs `task(n)` in a process of its own and receives its result.
fn in_own_process(n: u64) -> common::Result<(u64, u32)> {
    // BEGIN SOLUTION
    // STUB: let _ = (n, task);
    // STUB: todo!("run task(n) in a Process of its own, receive its result through a pipe, join it")
    let (ours, theirs) = common::pipe()?;
    let mut process = Process::with_args(task_in_child, (n, theirs));
    process.start()?;
    let result = ours.recv();
    process.join()?;
    result
    // END SOLUTION
}

/// Runs `task` over `numbers` on a pool of `workers` processes; returns the
/// results and the pool's pids.
fn on_a_pool(workers: u16, numbers: std::ops::Range<u64>) -> common::Result<(Results, Vec<u32>)> {
    // BEGIN SOLUTION
    // STUB: let _ = (workers, numbers);
    // STUB: todo!("create a Pool of `workers` processes, map task over the numbers, and return the results with the pool's pids")
    let mut pool = Pool::new(workers.into())?;
    let results = pool.map(task, numbers)?;
    Ok((results, pool.pids()))
    // END SOLUTION
}

fn way(tasks: u32, start: Instant, results: &[(u64, u32)]) -> Way {
    Way {
        tasks_per_second: f64::from(tasks) / start.elapsed().as_secs_f64(),
        pids: results.iter().map(|&(_, pid)| pid).collect(),
        results_correct: results
            .iter()
            .enumerate()
            .all(|(n, &(square, _))| square == (n * n) as u64),
    }
}

fn run(args: &Args) -> common::Result<Report> {
    let seed_snippet = seed_snippet()?;
    let numbers = 0..u64::from(args.tasks);

    let start = Instant::now();
    let results = numbers
        .clone()
        .map(in_own_process)
        .collect::<common::Result<Vec<_>>>()?;
    let process_per_task = way(args.tasks, start, &results);

    // The pool's start-up is part of its cost.
    let start = Instant::now();
    let (results, pool_workers) = on_a_pool(args.workers, numbers)?;
    let pool = way(args.tasks, start, &results);

    Ok(Report {
        tasks: args.tasks,
        process_per_task,
        pool,
        pool_workers,
        seed_snippet,
    })
}

fn print_table(r: &Report) {
    println!("seed 001's snippet: {:?}", r.seed_snippet);
    println!("{} small tasks", r.tasks);
    println!("{:<20} {:>9}  processes used", "way", "tasks/s");
    println!(
        "{:<20} {:>9.0}  {} (one per task)",
        "a process per task",
        r.process_per_task.tasks_per_second,
        r.process_per_task.pids.len()
    );
    let reused = if r.pool.pids.iter().all(|pid| r.pool_workers.contains(pid)) {
        "reused: the pool's workers"
    } else {
        "NOT only the pool's workers"
    };
    println!(
        "{:<20} {:>9.0}  {} ({reused})",
        format!("a pool of {} workers", r.pool_workers.len()),
        r.pool.tasks_per_second,
        r.pool.pids.len()
    );
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
            eprintln!("q4-why-pool: {error}");
            ExitCode::from(error.exit_code())
        }
    }
}
