//! Section `scaling`: the speedup of counting primes on 1..=N workers,
//! handed out one piece at a time, against the ideal.

use std::time::Instant;

use common::Pool;

use crate::table::Table;

fn is_prime(n: u64) -> bool {
    n >= 2
        && (2..)
            .take_while(|d| d * d <= n)
            .all(|d| !n.is_multiple_of(d))
}

fn count_primes((start, end): (u64, u64)) -> u64 {
    (start..end).filter(|&n| is_prime(n)).count() as u64
}

/// Runs the section.
pub(crate) fn run(table: &Table, quick: bool) -> common::Result<()> {
    let bound: u64 = if quick { 300_000 } else { 3_000_000 };
    table.section("[scaling] CPU-bound scaling: primes below the bound, 64 pieces, chunksize 1");
    let pieces: Vec<(u64, u64)> = {
        let step = bound.div_ceil(64);
        (0..bound)
            .step_by(step as usize)
            .map(|s| (s, (s + step).min(bound)))
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
            .chunksize(1)
            .map(count_primes, pieces.clone())?
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
    Ok(())
}
