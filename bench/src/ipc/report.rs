//! How section `ipc` prints what its rounds gathered.

use super::{Gathered, Sizes, TIMED};
use crate::table::{Table, median_f64, spread};

/// Prints every chosen workload: medians of each side (its time, and its
/// parent process's CPU time meanwhile), the median of the pairwise
/// ratios, how far apart the rounds were, and each round.
pub(super) fn print(
    table: &Table,
    sizes: &Sizes,
    chosen: &[&str],
    gathered: &Gathered,
    rounds: usize,
) {
    for timed in TIMED.iter().filter(|t| chosen.contains(&t.name)) {
        table.note(&format!("{}: {}", timed.name, (timed.what)(sizes)));
        let key = format!("{}/seconds", timed.name);
        let ours = values(&gathered.ours, &key);
        let python = values(&gathered.python, &key);
        table.row("  common", millis(&ours), "ms");
        table.row("  python", millis(&python), "ms");
        let cpu = format!("{}/parent_cpu", timed.name);
        for (side, figures) in [("common", &gathered.ours), ("python", &gathered.python)] {
            let label = format!("  {side}'s parent, CPU time meanwhile");
            table.row(&label, millis(&values(figures, &cpu)), "ms");
        }
        table.ratio(
            &format!("  python / common, median of {rounds} ratios"),
            median_f64(values(&gathered.ratios, &key)),
            timed.goal,
        );
        let show = |s: Option<f64>| s.map_or_else(|| "-".to_owned(), |s| format!("{s:.2}"));
        table.note(&format!(
            "  max/min of the rounds: common {}, python {}",
            show(spread(&ours)),
            show(spread(&python))
        ));
        table.note(&format!(
            "  rounds, ms: common {}; python {}",
            each_millis(&ours),
            each_millis(&python)
        ));
        if timed.name == "start_join" {
            let floor = format!("{}/floor", timed.name);
            table.row(
                "  raw fork + _exit + waitpid (floor)",
                millis(&values(&gathered.ours, &floor)),
                "ms",
            );
            table.ratio(
                "  common / floor",
                median_f64(values(&gathered.ratios, &floor)),
                "<= 1.3",
            );
        }
    }
    if chosen.contains(&"lock_cycle") {
        table.note("lock_cycle: one uncontended acquire+release, in one process");
        floors(
            table,
            gathered,
            "lock_cycle",
            &[
                ("lock", "Lock"),
                ("rlock", "RLock"),
                ("semaphore", "Semaphore"),
                ("value_lock", "Value's get_lock()"),
            ],
            "ns",
        );
    }
    if chosen.contains(&"round_trip") {
        table.note("round_trip: a small request and its answer between two processes");
        floors(
            table,
            gathered,
            "round_trip",
            &[
                ("socketpair", "bare Unix socketpair, 8 bytes, blocking"),
                (
                    "socketpair_spinning",
                    "the same, reads spinning (the floor)",
                ),
                ("connection", "Connection send/recv"),
                ("manager", "Manager dict get"),
            ],
            "us",
        );
    }
}

/// Rows of a floor's figures, `(key, label)`, each side's median.
fn floors(table: &Table, gathered: &Gathered, name: &str, rows: &[(&str, &str)], unit: &str) {
    for (what, label) in rows {
        let key = format!("{name}/{what}");
        table.row(
            &format!("  common {label}"),
            median_f64(values(&gathered.ours, &key)),
            unit,
        );
        if gathered.python.contains_key(&key) {
            table.row(
                &format!("  python {label}"),
                median_f64(values(&gathered.python, &key)),
                unit,
            );
        }
    }
}

fn values(side: &std::collections::BTreeMap<String, Vec<f64>>, key: &str) -> Vec<f64> {
    side.get(key).cloned().unwrap_or_default()
}

/// The median of seconds, in milliseconds.
fn millis(seconds: &[f64]) -> Option<f64> {
    median_f64(seconds.iter().map(|s| s * 1e3).collect())
}

fn each_millis(seconds: &[f64]) -> String {
    seconds
        .iter()
        .map(|s| format!("{:.1}", s * 1e3))
        .collect::<Vec<_>>()
        .join(" ")
}
