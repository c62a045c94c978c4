//! `bench`: measures `common` against the operating system's floor and
//! against Python's `multiprocessing`, side by side in one run on one
//! machine, and prints the figures and their ratios.
//!
//! ```text
//! cargo run --release -p bench                       # everything, a few minutes
//! cargo run --release -p bench -- --quick            # smaller samples
//! cargo run --release -p bench -- ipc                # one section
//! cargo run --release -p bench -- queue_throughput   # one workload of `ipc`
//! ```
//!
//! Its sections, one room each, in the order they run:
//!
//! - `start` (`start.rs`): process start+join against a raw fork and
//!   Python's `Process` under each start method;
//! - `pool` (`pools.rs`): pool create+close+join, `map` against Python's
//!   `Pool.map` and `ProcessPoolExecutor.map`, a pipe round trip, memory
//!   per worker;
//! - `scaling` (`scaling.rs`): CPU-bound speedup against the ideal;
//! - `throughput` (`throughput.rs`): the pool where data moves (issue
//!   #13);
//! - `ipc` (`ipc/`): locks, pipes, queues, managers, strings through a
//!   pool and processes in a row (issue #27), and their floors;
//! - `grading` (`grading.rs`): wall time to grade every exercise once
//!   built (it starts threads, so it comes last).
//!
//! The Python side runs when `python3` is on PATH, and is skipped with a
//! note otherwise. Figures are medians where a sample is repeated.

mod grading;
mod ipc;
#[expect(
    unsafe_code,
    reason = "a raw fork, the floor everything is measured against"
)]
mod os;
mod pools;
mod python;
mod scaling;
mod start;
mod table;
mod throughput;

use std::process::ExitCode;

use clap::Parser;

use table::Table;

/// The sections, in the order they run.
const SECTIONS: [&str; 6] = ["start", "pool", "scaling", "throughput", "ipc", "grading"];

/// Measure common against the OS floor and Python's multiprocessing.
#[derive(Parser)]
#[command(version, about)]
struct Args {
    /// Sections to run (start, pool, scaling, throughput, ipc, grading), or
    /// workloads of `ipc` (value_lock, pipe_bytes, queue_throughput,
    /// manager_dict, map_strings, start_join, lock_cycle, round_trip);
    /// every section when none is named.
    #[arg(value_parser = parse_name)]
    only: Vec<String>,

    /// Smaller samples: a quick look, not figures to quote.
    #[arg(long)]
    quick: bool,

    /// Skip the Python side even when python3 is present.
    #[arg(long)]
    no_python: bool,

    /// Rounds of each side in `ipc`.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u16).range(1..))]
    rounds: u16,

    /// Runs one workload of `ipc` once and prints its figures as JSON: how
    /// `ipc` runs each of ours in a fresh process.
    #[arg(long, hide = true, value_parser = parse_name)]
    measure: Option<String>,
}

fn parse_name(name: &str) -> Result<String, String> {
    if SECTIONS.contains(&name) || ipc::names().any(|w| w == name) {
        Ok(name.to_owned())
    } else {
        Err(format!(
            "no section or workload named {name:?}: sections are {}; workloads of ipc are {}",
            SECTIONS.join(", "),
            ipc::names().collect::<Vec<_>>().join(", ")
        ))
    }
}

fn run(args: &Args) -> Result<(), String> {
    let table = Table;
    println!(
        "bench: {} CPUs, {} build, samples {}",
        common::cpu_count(),
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        },
        if args.quick { "quick" } else { "full" }
    );
    let python = !args.no_python;
    let workloads: Vec<&str> = args
        .only
        .iter()
        .map(String::as_str)
        .filter(|name| !SECTIONS.contains(name))
        .collect();
    let wanted = |section: &str| {
        args.only.is_empty()
            || args.only.iter().any(|name| name == section)
            || (section == "ipc" && !workloads.is_empty())
    };
    if wanted("start") {
        start::run(&table, args.quick, python);
    }
    if wanted("pool") {
        pools::run(&table, args.quick, python).map_err(|e| e.to_string())?;
    }
    if wanted("scaling") {
        scaling::run(&table, args.quick).map_err(|e| e.to_string())?;
    }
    if wanted("throughput") {
        throughput::run(&table, args.quick, python).map_err(|e| e.to_string())?;
    }
    if wanted("ipc") {
        let only = if args.only.iter().any(|name| name == "ipc") {
            &[][..]
        } else {
            &workloads[..]
        };
        ipc::run(&table, args.quick, python, only, usize::from(args.rounds))?;
    }
    if wanted("grading") {
        grading::run(&table);
    }
    Ok(())
}

fn main() -> ExitCode {
    let args = Args::parse();
    if let Some(name) = &args.measure {
        return match ipc::measure_here(name, args.quick) {
            Ok(figures) => {
                println!("{figures}");
                ExitCode::SUCCESS
            }
            Err(error) => {
                eprintln!("bench: {name}: {error}");
                ExitCode::FAILURE
            }
        };
    }
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("bench: {error}");
            ExitCode::FAILURE
        }
    }
}
