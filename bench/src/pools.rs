//! Section `pool`: pool create+close+join, `map` of `x * x` with the
//! default chunksize and with chunksize 1 against Python's `Pool.map` and
//! `ProcessPoolExecutor.map`, a pipe round trip to a child (the floor for
//! one task in flight), and each worker's resident memory.

use std::io::{Read, Write};
use std::time::Instant;

use common::{Pool, Process};

use crate::python::{figure, side};
use crate::table::{Table, median};

const PYTHON_SIDE: &str = include_str!("pools.py");

/// Sample sizes.
struct Sizes {
    pools: usize,
    map_items: u64,
    round_trips: usize,
}

impl Sizes {
    fn new(quick: bool) -> Sizes {
        Sizes {
            pools: if quick { 5 } else { 30 },
            map_items: 100_000,
            round_trips: if quick { 2_000 } else { 20_000 },
        }
    }
}

fn square(x: u64) -> u64 {
    x * x
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

/// Runs the section.
pub(crate) fn run(table: &Table, quick: bool, python: bool) -> common::Result<()> {
    let sizes = Sizes::new(quick);
    let py_run = side(
        python,
        PYTHON_SIDE,
        &[sizes.pools.to_string(), sizes.map_items.to_string()],
    );
    let py = |pointer: &str| figure(&py_run, pointer);
    table.section("[pool] pools, 2 workers");
    if let Err(why) = &py_run {
        table.note(why);
    }
    let create = create_join_ms(sizes.pools)?;
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
    let maps = maps(&sizes)?;
    report_maps(table, &sizes, &maps, &py);
    let rss = &maps.worker_rss;
    let ours_rss = (!rss.is_empty()).then(|| rss.iter().sum::<f64>() / rss.len() as f64);
    table.row("memory per pool worker, resident", ours_rss, "KiB");
    table.row("python pool worker, fork", py("/worker_rss_kib"), "KiB");
    Ok(())
}

/// Median milliseconds of a pool of two created, closed and joined.
fn create_join_ms(pools: usize) -> common::Result<f64> {
    let mut samples = Vec::new();
    for _ in 0..pools {
        let start = Instant::now();
        let mut pool = Pool::new(2)?;
        pool.close();
        pool.join()?;
        samples.push(start.elapsed());
    }
    Ok(median(samples).as_secs_f64() * 1e3)
}

/// What the maps measured.
struct Maps {
    default_rate: f64,
    chunk1_rate: f64,
    round_trips: f64,
    /// Each worker's resident memory after them, KiB.
    worker_rss: Vec<f64>,
}

/// `map` with the default chunksize and with chunksize 1 on a pool of two,
/// then the pipe round trip floor.
fn maps(sizes: &Sizes) -> common::Result<Maps> {
    let mut pool = Pool::new(2)?;
    pool.map(square, 0..1000)?;
    let items = sizes.map_items;
    let start = Instant::now();
    pool.map(square, 0..items)?;
    let default_rate = items as f64 / start.elapsed().as_secs_f64();
    let start = Instant::now();
    pool.chunksize(1).map(square, 0..items)?;
    let chunk1_rate = items as f64 / start.elapsed().as_secs_f64();
    let worker_rss = pool.pids().into_iter().filter_map(rss_kib).collect();
    drop(pool);
    Ok(Maps {
        default_rate,
        chunk1_rate,
        round_trips: pipe_round_trips(sizes.round_trips),
        worker_rss,
    })
}

fn report_maps(table: &Table, sizes: &Sizes, maps: &Maps, py: &impl Fn(&str) -> Option<f64>) {
    let items = sizes.map_items;
    table.row(
        &format!("common map x*x over {items}, default chunksize"),
        Some(maps.default_rate),
        "tasks/s",
    );
    table.row(
        "python Pool.map, default chunksize",
        py("/map_default_per_s"),
        "tasks/s",
    );
    table.row("common map, chunksize 1", Some(maps.chunk1_rate), "tasks/s");
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
        Some(maps.round_trips),
        "trips/s",
    );
    table.ratio(
        "common / python, default chunksize",
        py("/map_default_per_s").map(|p| maps.default_rate / p),
        ">= 10",
    );
    table.ratio(
        "common / python, chunksize 1",
        py("/map_chunksize_1_per_s").map(|p| maps.chunk1_rate / p),
        ">= 5",
    );
    table.ratio(
        "common chunksize 1 / pipe round trip",
        Some(maps.chunk1_rate / maps.round_trips),
        "-",
    );
}
