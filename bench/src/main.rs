//! `bench`: measures `common` against the operating system's floor and
//! against Python's `multiprocessing`, side by side in one run on one
//! machine, and prints the figures and their ratios.
//!
//! ```text
//! cargo run --release -p bench            # everything, about a minute
//! cargo run --release -p bench -- --quick # smaller samples, a few seconds
//! ```
//!
//! What it measures:
//!
//! 1. process start+join: a raw `fork` + `_exit` + `waitpid` (the floor),
//!    `common::Process` under fork, and under spawn and forkserver from a
//!    parent with a live thread, and Python's `Process` under fork,
//!    forkserver and spawn;
//! 2. pool create+close+join, and `map` of `x * x` over 100,000 integers on 2
//!    workers, with the default chunksize and with chunksize 1, against
//!    Python's `Pool.map` and `ProcessPoolExecutor.map`, and against a pipe
//!    round trip to a child (the floor for one task in flight);
//! 3. CPU-bound scaling: the speedup of counting primes on 1..=N workers,
//!    handed out one piece at a time, against the ideal;
//! 4. memory: resident memory of each pool worker;
//! 5. grading: wall time to grade every exercise once built;
//! 6. the pool where data moves (`throughput.rs`): `map` over a million
//!    integers, over 64 KiB byte vectors, one at a time; `apply_async`;
//!    `imap_unordered`; one 200 MB result; and the parent's memory.
//!
//! The Python side runs when `python3` is on PATH, and is skipped with a
//! note otherwise. Figures are medians where a sample is repeated.

#[expect(
    unsafe_code,
    reason = "a raw fork, the floor everything is measured against"
)]
mod os;
mod throughput;

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

use clap::Parser;
use common::{Pool, Process};
use serde_json::Value;

/// Measure common against the OS floor and Python's multiprocessing.
#[derive(Parser)]
#[command(version, about)]
struct Args {
    /// Smaller samples: a quick look, not figures to quote.
    #[arg(long)]
    quick: bool,

    /// Skip the Python side even when python3 is present.
    #[arg(long)]
    no_python: bool,
}

/// Sample sizes.
struct Sizes {
    starts: usize,
    pools: usize,
    map_items: u64,
    round_trips: usize,
    prime_bound: u64,
}

impl Sizes {
    fn new(quick: bool) -> Sizes {
        if quick {
            Sizes {
                starts: 50,
                pools: 5,
                map_items: 100_000,
                round_trips: 2_000,
                prime_bound: 300_000,
            }
        } else {
            Sizes {
                starts: 500,
                pools: 30,
                map_items: 100_000,
                round_trips: 20_000,
                prime_bound: 3_000_000,
            }
        }
    }
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort_unstable();
    samples[samples.len() / 2]
}

fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

/// The floor: fork a child that exits at once, and reap it.
fn raw_fork_join() -> Duration {
    os::raw_fork_join()
}

fn common_process_join(method: common::StartMethod) -> Duration {
    let start = Instant::now();
    let mut process = Process::new(|| {});
    process.set_start_method(method);
    process.start().expect("start");
    process.join().expect("join");
    start.elapsed()
}

fn square(x: u64) -> u64 {
    x * x
}

fn is_prime(n: u64) -> bool {
    n >= 2
        && (2..)
            .take_while(|d| d * d <= n)
            .all(|d| !n.is_multiple_of(d))
}

fn count_primes((start, end): (u64, u64)) -> u64 {
    (start..end).filter(|&n| is_prime(n)).count() as u64
}

const STOP: [u8; 8] = [0xff; 8];

/// Round trips per second of 8 bytes to a child that echoes them: the least
/// a pool can pay per task with one task in flight.
fn pipe_round_trips(count: usize) -> f64 {
    let (mut to_child_rx, mut to_child_tx) = std::io::pipe().expect("pipe");
    let (mut from_child_rx, mut from_child_tx) = std::io::pipe().expect("pipe");
    let mut echo = Process::from_closure(move || {
        // The child holds a copy of the parent's write end too (fork copies
        // every descriptor), so it would never see end-of-file: a message
        // of all ones says stop.
        let mut message = [0u8; 8];
        while to_child_rx.read_exact(&mut message).is_ok() && message != STOP {
            if from_child_tx.write_all(&message).is_err() {
                break;
            }
        }
    });
    echo.start().expect("start");
    let mut message = [0u8; 8];
    let start = Instant::now();
    for i in 0..count as u64 {
        to_child_tx.write_all(&i.to_le_bytes()).expect("send");
        from_child_rx.read_exact(&mut message).expect("echo");
    }
    let rate = count as f64 / start.elapsed().as_secs_f64();
    to_child_tx.write_all(&STOP).expect("stop the echo");
    echo.join().expect("join");
    rate
}

/// Resident memory of `pid`, in KiB, from `/proc/PID/status`.
fn rss_kib(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// What was measured, printed as it comes.
struct Table;

impl Table {
    fn section(&self, title: &str) {
        println!("\n{title}");
    }

    fn row(&self, what: &str, value: Option<f64>, unit: &str) {
        match value {
            Some(v) => println!("  {what:<46} {v:>14.1} {unit}"),
            None => println!("  {what:<46} {:>14} {unit}", "-"),
        }
    }

    fn ratio(&self, what: &str, ratio: Option<f64>, target: &str) {
        match ratio {
            Some(r) => println!("  {what:<46} {r:>13.2}x  (target {target})"),
            None => println!("  {what:<46} {:>14}  (target {target})", "-"),
        }
    }
}

/// The Python side, written for this benchmark: one JSON object out.
const PYTHON_SIDE: &str = r#"
import json, multiprocessing as mp, os, statistics, sys, time
from concurrent.futures import ProcessPoolExecutor

def noop():
    pass

def square(x):
    return x * x

def start_join(method, n):
    ctx = mp.get_context(method)
    samples = []
    for _ in range(n):
        t = time.perf_counter()
        p = ctx.Process(target=noop)
        p.start()
        p.join()
        samples.append(time.perf_counter() - t)
    return statistics.median(samples) * 1e6

def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return float(line.split()[1])

if __name__ == "__main__":
    starts, pools, items = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    out = {"version": sys.version.split()[0]}
    out["start_join_us"] = {
        "fork": start_join("fork", starts),
        "forkserver": start_join("forkserver", max(10, starts // 5)),
        "spawn": start_join("spawn", max(5, starts // 25)),
    }
    ctx = mp.get_context("fork")
    samples = []
    for _ in range(pools):
        t = time.perf_counter()
        pool = ctx.Pool(2)
        pool.close()
        pool.join()
        samples.append(time.perf_counter() - t)
    out["pool_create_join_ms"] = statistics.median(samples) * 1e3
    data = list(range(items))
    with ctx.Pool(2) as pool:
        pool.map(square, data[:1000])
        t = time.perf_counter(); pool.map(square, data); dt = time.perf_counter() - t
        out["map_default_per_s"] = items / dt
        t = time.perf_counter(); pool.map(square, data, chunksize=1); dt = time.perf_counter() - t
        out["map_chunksize_1_per_s"] = items / dt
        out["worker_rss_kib"] = statistics.mean(rss_kib(p.pid) for p in pool._pool)
    with ProcessPoolExecutor(2, mp_context=ctx) as ex:
        list(ex.map(square, data[:1000]))
        t = time.perf_counter(); list(ex.map(square, data)); dt = time.perf_counter() - t
        out["executor_map_per_s"] = items / dt
    print(json.dumps(out))
"#;

fn python_side(sizes: &Sizes) -> Result<Value, String> {
    run_python(
        PYTHON_SIDE,
        &[
            sizes.starts.to_string(),
            sizes.pools.to_string(),
            sizes.map_items.to_string(),
        ],
    )
}

/// Runs a Python `script` with `args` and reads the one JSON object it
/// prints; a message saying why not, for the table, otherwise.
fn run_python(script: &str, args: &[String]) -> Result<Value, String> {
    let output = Command::new("python3")
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .map_err(|e| format!("python3 could not be run ({e}): the Python side is skipped"))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(format!(
            "python3 failed: {}",
            stderr.lines().last().unwrap_or("no message")
        ));
    }
    serde_json::from_slice(&output.stdout).map_err(|e| format!("python3 printed no JSON: {e}"))
}

fn run(args: &Args) -> common::Result<()> {
    let sizes = Sizes::new(args.quick);
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
    // The Python side first, while the machine is otherwise idle for it too.
    let python = if args.no_python {
        Err("--no-python: the Python side is skipped".to_owned())
    } else {
        python_side(&sizes)
    };
    let py = |pointer: &str| {
        python
            .as_ref()
            .ok()
            .and_then(|v| v.pointer(pointer))
            .and_then(Value::as_f64)
    };
    if let Err(why) = &python {
        println!("{why}");
    } else if let Ok(v) = &python {
        println!("python {}", v["version"].as_str().unwrap_or("?"));
    }

    table.section("1. process start+join, median microseconds");
    // Interleaved, so that both see the machine in the same state.
    let (raw, common): (Vec<_>, Vec<_>) = (0..sizes.starts)
        .map(|_| {
            (
                raw_fork_join(),
                common_process_join(common::StartMethod::Fork),
            )
        })
        .unzip();
    let (floor, ours) = (micros(median(raw)), micros(median(common)));
    table.row("raw fork + _exit + waitpid (floor)", Some(floor), "us");
    table.row("common::Process, fork", Some(ours), "us");
    // Spawn and forkserver from a parent with a live thread, as a program
    // with an async runtime or a thread pool is (fork is refused there).
    let (stop, stopped) = std::sync::mpsc::channel::<()>();
    let thread = std::thread::spawn(move || stopped.recv());
    // The first request starts the server: not part of a start+join.
    common_process_join(common::StartMethod::Forkserver);
    let (spawned, served): (Vec<_>, Vec<_>) = (0..(sizes.starts / 5).max(10))
        .map(|_| {
            (
                common_process_join(common::StartMethod::Spawn),
                common_process_join(common::StartMethod::Forkserver),
            )
        })
        .unzip();
    let (spawned, served) = (micros(median(spawned)), micros(median(served)));
    drop(stop);
    let _ = thread.join();
    table.row(
        "common::Process, spawn, threaded parent",
        Some(spawned),
        "us",
    );
    table.row(
        "common::Process, forkserver, threaded parent",
        Some(served),
        "us",
    );
    for method in ["fork", "forkserver", "spawn"] {
        table.row(
            &format!("python Process, {method}"),
            py(&format!("/start_join_us/{method}")),
            "us",
        );
    }
    table.ratio("common fork / floor", Some(ours / floor), "<= 1.3");
    table.ratio(
        "python fork / common fork",
        py("/start_join_us/fork").map(|p| p / ours),
        ">= 10",
    );
    table.ratio(
        "python spawn / common spawn",
        py("/start_join_us/spawn").map(|p| p / spawned),
        ">= 30",
    );
    table.ratio(
        "common forkserver / common fork",
        Some(served / ours),
        "<= 2",
    );
    table.ratio(
        "common spawn / common forkserver",
        Some(spawned / served),
        ">= 3",
    );
    table.ratio(
        "python forkserver / common forkserver",
        py("/start_join_us/forkserver").map(|p| p / served),
        "-",
    );

    table.section("2. pools, 2 workers");
    let mut samples = Vec::new();
    for _ in 0..sizes.pools {
        let start = Instant::now();
        let mut pool = Pool::new(2)?;
        pool.close();
        pool.join()?;
        samples.push(start.elapsed());
    }
    let create = median(samples).as_secs_f64() * 1e3;
    table.row("common Pool create+close+join", Some(create), "ms");
    table.row(
        "python Pool create+close+join, fork",
        py("/pool_create_join_ms"),
        "ms",
    );
    table.ratio(
        "python / common",
        py("/pool_create_join_ms").map(|p| p / create),
        ">= 10",
    );

    let mut pool = Pool::new(2)?;
    pool.map(square, 0..1000)?;
    let items = sizes.map_items;
    let start = Instant::now();
    pool.map(square, 0..items)?;
    let default_rate = items as f64 / start.elapsed().as_secs_f64();
    let start = Instant::now();
    pool.map_chunked(square, 0..items, Some(1))?;
    let chunk1_rate = items as f64 / start.elapsed().as_secs_f64();
    let rss: Vec<f64> = pool.pids().into_iter().filter_map(rss_kib).collect();
    drop(pool);
    let round_trips = pipe_round_trips(sizes.round_trips);
    table.row(
        &format!("common map x*x over {items}, default chunksize"),
        Some(default_rate),
        "tasks/s",
    );
    table.row(
        "python Pool.map, default chunksize",
        py("/map_default_per_s"),
        "tasks/s",
    );
    table.row("common map, chunksize 1", Some(chunk1_rate), "tasks/s");
    table.row(
        "python Pool.map, chunksize 1",
        py("/map_chunksize_1_per_s"),
        "tasks/s",
    );
    table.row(
        "python ProcessPoolExecutor.map (chunksize 1)",
        py("/executor_map_per_s"),
        "tasks/s",
    );
    table.row(
        "pipe round trip to a child (one in flight)",
        Some(round_trips),
        "trips/s",
    );
    table.ratio(
        "common / python, default chunksize",
        py("/map_default_per_s").map(|p| default_rate / p),
        ">= 10",
    );
    table.ratio(
        "common / python, chunksize 1",
        py("/map_chunksize_1_per_s").map(|p| chunk1_rate / p),
        ">= 5",
    );
    table.ratio(
        "common chunksize 1 / pipe round trip",
        Some(chunk1_rate / round_trips),
        "-",
    );

    table.section("3. CPU-bound scaling: primes below the bound, 64 pieces, chunksize 1");
    let pieces: Vec<(u64, u64)> = {
        let step = sizes.prime_bound.div_ceil(64);
        (0..sizes.prime_bound)
            .step_by(step as usize)
            .map(|s| (s, (s + step).min(sizes.prime_bound)))
            .collect()
    };
    let start = Instant::now();
    let expected: u64 = pieces.iter().copied().map(count_primes).sum();
    let sequential = start.elapsed().as_secs_f64();
    table.row("sequential, in this process", Some(sequential * 1e3), "ms");
    let cores = common::cpu_count();
    for workers in 1..=cores.max(2) {
        let mut pool = Pool::new(workers)?;
        let start = Instant::now();
        let total: u64 = pool
            .map_chunked(count_primes, pieces.clone(), Some(1))?
            .iter()
            .sum();
        let elapsed = start.elapsed().as_secs_f64();
        assert_eq!(total, expected, "every way counts the same primes");
        let ideal = workers.min(cores) as f64;
        table.ratio(
            &format!("speedup with {workers} workers (ideal {ideal})"),
            Some(sequential / elapsed),
            &format!(">= {:.2}", 0.95 * ideal),
        );
    }

    table.section("4. memory per pool worker, resident");
    let ours_rss = (!rss.is_empty()).then(|| rss.iter().sum::<f64>() / rss.len() as f64);
    table.row("common pool worker", ours_rss, "KiB");
    table.row("python pool worker, fork", py("/worker_rss_kib"), "KiB");

    table.section("5. grading every exercise, after the build");
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("in the workspace");
    match grader::build(workspace) {
        Ok(binaries) => {
            let start = Instant::now();
            let mut passed = true;
            for exercise in grader::EXERCISES {
                let binary = binaries.get(exercise.package).expect("built");
                let report = grader::grade_exercise(exercise, binary).expect("graded");
                passed &= report.runs.iter().all(grader::RunReport::passed);
            }
            table.row(
                &format!(
                    "grade {} exercises ({})",
                    grader::EXERCISES.len(),
                    if passed { "all pass" } else { "SOME FAIL" }
                ),
                Some(start.elapsed().as_secs_f64()),
                "s (target < 3)",
            );
        }
        Err(error) => println!("  grading skipped: {error}"),
    }

    table.section(&format!(
        "6. pool throughput where data moves (issue #13), 2 workers, medians of {ROUNDS6} \
         alternating rounds"
    ));
    let sizes6 = throughput::Sizes::new(args.quick);
    let mut ours6: Vec<throughput::Figures> = Vec::new();
    let mut theirs6: Vec<Value> = Vec::new();
    for _ in 0..ROUNDS6 {
        if !args.no_python {
            match throughput::python(&sizes6) {
                Ok(figures) => theirs6.push(figures),
                Err(why) => println!("  python side skipped: {why}"),
            }
        }
        ours6.push(throughput::measure(&sizes6)?);
    }
    for (key, what, unit, target) in throughput::workloads(&sizes6) {
        let ours: Vec<f64> = ours6
            .iter()
            .filter_map(|f| f.rates.iter().find(|(k, _)| *k == key).map(|(_, v)| *v))
            .collect();
        let theirs: Vec<f64> = theirs6.iter().filter_map(|v| v[key].as_f64()).collect();
        let ratios: Vec<f64> = ours.iter().zip(&theirs).map(|(o, t)| o / t).collect();
        table.row(&format!("common {what}"), median_f64(ours), unit);
        table.row(&format!("python {what}"), median_f64(theirs), unit);
        table.ratio("  common / python", median_f64(ratios), target);
    }
    let growth = median_f64(ours6.iter().filter_map(|f| f.map_growth_mib).collect());
    let data = (sizes6.ints * 16) as f64 / (1024.0 * 1024.0);
    table.row("parent's peak growth during the first map", growth, "MiB");
    table.row("  its inputs and outputs", Some(data), "MiB");
    table.ratio("  growth / data", growth.map(|g| g / data), "<= 3");
    Ok(())
}

/// How many times section 6 runs each side, alternating.
const ROUNDS6: usize = 3;

/// The median of `values`, if there are any.
fn median_f64(mut values: Vec<f64>) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    Some(values[values.len() / 2])
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("bench: {error}");
            ExitCode::from(error.exit_code())
        }
    }
}
