//! Section `throughput`: the pool's throughput where data moves (issue
//! #13), the same six workloads on `common::Pool` and on CPython's
//! `multiprocessing.Pool` (fork, 2 workers), and the parent's memory during
//! the largest `map`.

use std::time::Instant;

use common::Pool;
use serde_json::Value;

use crate::table::{Table, median_f64};

/// How many times the section runs each side, alternating.
const ROUNDS: usize = 3;

/// Runs the section.
pub(crate) fn run(table: &Table, quick: bool, python: bool) -> common::Result<()> {
    table.section(&format!(
        "[throughput] pool throughput where data moves (issue #13), 2 workers, medians of \
         {ROUNDS} alternating rounds"
    ));
    let sizes = Sizes::new(quick);
    let mut ours: Vec<Figures> = Vec::new();
    let mut theirs: Vec<Value> = Vec::new();
    for _ in 0..ROUNDS {
        if python {
            match self::python(&sizes) {
                Ok(figures) => theirs.push(figures),
                Err(why) => table.note(&format!("python side skipped: {why}")),
            }
        }
        ours.push(measure(&sizes)?);
    }
    for (key, what, unit, target) in workloads(&sizes) {
        let ours: Vec<f64> = ours
            .iter()
            .filter_map(|f| f.rates.iter().find(|(k, _)| *k == key).map(|(_, v)| *v))
            .collect();
        let theirs: Vec<f64> = theirs.iter().filter_map(|v| v[key].as_f64()).collect();
        let ratios: Vec<f64> = ours.iter().zip(&theirs).map(|(o, t)| o / t).collect();
        table.row(&format!("common {what}"), median_f64(ours), unit);
        table.row(&format!("python {what}"), median_f64(theirs), unit);
        table.ratio("  common / python", median_f64(ratios), target);
    }
    // The first round's only: later rounds run in the same process, where
    // the allocator keeps memory the earlier rounds freed (their 200 MB
    // result among it), so a later map's output need not grow it at all.
    let growth = ours.first().and_then(|f| f.map_growth_mib);
    let data = (sizes.ints * 16) as f64 / (1024.0 * 1024.0);
    table.row("parent's peak growth, first map of round 1", growth, "MiB");
    table.row("  its inputs and outputs", Some(data), "MiB");
    table.ratio("  growth / data", growth.map(|g| g / data), "<= 3");
    Ok(())
}

/// The workloads' sizes.
struct Sizes {
    /// Integers mapped with the default chunksize.
    ints: u64,
    /// Items of 64 KiB.
    blobs: usize,
    /// Integers mapped one at a time, and through `imap_unordered`.
    singles: u64,
    /// `apply_async` calls.
    applies: u64,
    /// Bytes of the one large result.
    big: usize,
}

impl Sizes {
    fn new(quick: bool) -> Sizes {
        let scale = if quick { 10 } else { 1 };
        Sizes {
            ints: 1_000_000 / scale,
            blobs: 2_000 / scale as usize,
            singles: 20_000 / scale,
            applies: 5_000 / scale,
            big: 200_000_000 / scale as usize,
        }
    }

    /// The arguments the Python side takes, in its order.
    fn args(&self) -> [String; 5] {
        [
            self.ints.to_string(),
            self.blobs.to_string(),
            self.singles.to_string(),
            self.applies.to_string(),
            self.big.to_string(),
        ]
    }
}

fn square(x: u64) -> u64 {
    x * x
}

fn length(blob: Vec<u8>) -> usize {
    blob.len()
}

fn big_result(len: usize) -> Vec<u8> {
    vec![7; len]
}

/// What one run measured, by the keys the Python side uses: rates per
/// second (MB/s for `big`).
struct Figures {
    rates: Vec<(&'static str, f64)>,
    /// How much the parent's peak resident memory grew during the
    /// default-chunksize map, in MiB.
    map_growth_mib: Option<f64>,
}

/// The workloads: key, what, unit, target ratio.
fn workloads(sizes: &Sizes) -> [(&'static str, String, &'static str, &'static str); 6] {
    [
        (
            "map_default",
            format!("map x*x over {}, default chunksize", sizes.ints),
            "tasks/s",
            ">= 10",
        ),
        (
            "blobs",
            format!("map len over {} items of 64 KiB", sizes.blobs),
            "items/s",
            ">= 5",
        ),
        (
            "chunk1",
            format!("map chunksize 1 over {}", sizes.singles),
            "tasks/s",
            ">= 10",
        ),
        (
            "apply_async",
            format!("{} apply_async, then get each", sizes.applies),
            "tasks/s",
            ">= 10",
        ),
        (
            "imap_unordered",
            format!("imap_unordered over {}", sizes.singles),
            "tasks/s",
            ">= 10",
        ),
        (
            "big",
            format!("one result of {} MB", sizes.big / 1_000_000),
            "MB/s",
            "near bandwidth",
        ),
    ]
}

/// Runs the six workloads on a pool of two.
fn measure(sizes: &Sizes) -> common::Result<Figures> {
    let mut pool = Pool::new(2)?;
    pool.map(square, 0..1000)?;
    let rate = |count: f64, start: Instant| count / start.elapsed().as_secs_f64();

    let before = resident_mib();
    reset_peak();
    let start = Instant::now();
    let squares = pool.map(square, 0..sizes.ints)?;
    let map_default = rate(sizes.ints as f64, start);
    let map_growth_mib = peak_mib().zip(before).map(|(peak, before)| peak - before);
    assert_eq!(squares.len() as u64, sizes.ints);
    drop(squares);

    let blobs: Vec<Vec<u8>> = (0..sizes.blobs).map(|i| vec![i as u8; 64 * 1024]).collect();
    let start = Instant::now();
    let lengths = pool.map(length, blobs)?;
    let blobs_rate = rate(sizes.blobs as f64, start);
    assert!(lengths.iter().all(|&len| len == 64 * 1024));

    let start = Instant::now();
    pool.chunksize(1).map(square, 0..sizes.singles)?;
    let chunk1 = rate(sizes.singles as f64, start);

    let start = Instant::now();
    let pending: Vec<_> = (0..sizes.applies)
        .map(|x| pool.apply_async(square, x))
        .collect::<common::Result<_>>()?;
    for handle in pending {
        handle.get()?;
    }
    let apply_async = rate(sizes.applies as f64, start);

    let start = Instant::now();
    let count = pool
        .imap_unordered(square, 0..sizes.singles)?
        .collect::<common::Result<Vec<u64>>>()?
        .len();
    let imap_unordered = rate(count as f64, start);

    let start = Instant::now();
    let big = pool.apply(big_result, sizes.big)?;
    let big_rate = big.len() as f64 / 1e6 / start.elapsed().as_secs_f64();

    Ok(Figures {
        rates: vec![
            ("map_default", map_default),
            ("blobs", blobs_rate),
            ("chunk1", chunk1),
            ("apply_async", apply_async),
            ("imap_unordered", imap_unordered),
            ("big", big_rate),
        ],
        map_growth_mib,
    })
}

/// This process's resident memory now, in MiB.
fn resident_mib() -> Option<f64> {
    status_kib("VmRSS:").map(|kib| kib / 1024.0)
}

/// This process's peak resident memory since [`reset_peak`], in MiB.
fn peak_mib() -> Option<f64> {
    status_kib("VmHWM:").map(|kib| kib / 1024.0)
}

/// Resets the kernel's record of peak resident memory (Linux 4.0 on).
fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn status_kib(field: &str) -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// The same workloads in CPython, printed as one JSON object.
const PYTHON_SIDE: &str = r#"
import json, multiprocessing as mp, sys, time

def square(x):
    return x * x

def length(blob):
    return len(blob)

def big_result(n):
    return bytes([7]) * n

if __name__ == "__main__":
    ints, blobs, singles, applies, big = map(int, sys.argv[1:6])
    out = {}
    with mp.get_context("fork").Pool(2) as pool:
        pool.map(square, range(1000))
        data = list(range(ints))
        t = time.perf_counter(); pool.map(square, data); out["map_default"] = ints / (time.perf_counter() - t)
        payload = [bytes([i % 256]) * 65536 for i in range(blobs)]
        t = time.perf_counter(); pool.map(length, payload); out["blobs"] = blobs / (time.perf_counter() - t)
        t = time.perf_counter(); pool.map(square, range(singles), chunksize=1); out["chunk1"] = singles / (time.perf_counter() - t)
        t = time.perf_counter()
        handles = [pool.apply_async(square, (x,)) for x in range(applies)]
        for h in handles:
            h.get()
        out["apply_async"] = applies / (time.perf_counter() - t)
        t = time.perf_counter(); n = len(list(pool.imap_unordered(square, range(singles)))); out["imap_unordered"] = n / (time.perf_counter() - t)
        t = time.perf_counter(); r = pool.apply(big_result, (big,)); out["big"] = len(r) / 1e6 / (time.perf_counter() - t)
    print(json.dumps(out))
"#;

/// Runs [`PYTHON_SIDE`].
fn python(sizes: &Sizes) -> Result<Value, String> {
    crate::python::run_python(PYTHON_SIDE, &sizes.args())
}
