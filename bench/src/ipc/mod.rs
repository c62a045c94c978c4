//! Section `ipc`: beyond the pool (issue #27). Six workloads, each timed
//! on `common` and on CPython's `multiprocessing` (fork) in alternate
//! order, round after round: a shared value under its lock, large messages
//! through a pipe, small values through a queue, a manager's dict, strings
//! through a pool, and processes started and joined one after another
//! (against a raw fork too). Each is reported as medians of its rounds,
//! the median of the pairwise ratios, and how far apart its rounds were
//! (max/min, per side). Then the floors they are bound by: an uncontended
//! lock cycle, and a request/response between two processes.
//!
//! Any workload can be run alone by its name (`bench queue_throughput`).

mod floors;
mod workloads;

use std::collections::BTreeMap;

use serde_json::Value;

use crate::python::run_python;
use crate::table::{Table, median_f64, spread};

const PYTHON_SIDE: &str = include_str!("ipc.py");

/// The workloads' sizes.
pub(crate) struct Sizes {
    /// Adds of each of the four processes of `value_lock`.
    adds: u64,
    /// Messages of `pipe_bytes`, and their size.
    messages: usize,
    message_size: usize,
    /// Integers through the queue.
    queued: u64,
    /// Keys set and read back through the manager.
    keys: u64,
    /// Integers mapped to strings.
    strings: u64,
    /// Processes started and joined one after another.
    starts: usize,
    /// Lock cycles timed, and round trips.
    cycles: u64,
    trips: u64,
}

impl Sizes {
    fn new(quick: bool) -> Sizes {
        let scale = if quick { 10 } else { 1 };
        Sizes {
            adds: 10_000 / scale,
            messages: 500 / scale as usize,
            message_size: 1 << 20,
            queued: 100_000 / scale,
            keys: 2_000 / scale,
            strings: 200_000 / scale,
            starts: 200 / scale as usize,
            cycles: 1_000_000 / scale,
            trips: 10_000 / scale,
        }
    }

    /// The sizes as the Python side reads them.
    fn json(&self) -> String {
        serde_json::json!({
            "adds": self.adds,
            "messages": self.messages,
            "message_size": self.message_size,
            "queued": self.queued,
            "keys": self.keys,
            "strings": self.strings,
            "starts": self.starts,
            "cycles": self.cycles,
            "trips": self.trips,
        })
        .to_string()
    }
}

/// A workload timed on both sides: seconds for the whole of it.
struct Timed {
    name: &'static str,
    what: fn(&Sizes) -> String,
    goal: &'static str,
    ours: fn(&Sizes) -> common::Result<f64>,
}

const TIMED: [Timed; 6] = [
    Timed {
        name: "value_lock",
        what: |s| {
            format!(
                "4 processes each add 1 to a Value<i32> {} times under get_lock()",
                s.adds
            )
        },
        goal: ">= 5",
        ours: workloads::value_lock,
    },
    Timed {
        name: "pipe_bytes",
        what: |s| {
            format!(
                "a child sends {} messages of {} KiB, send_bytes/recv_bytes",
                s.messages,
                s.message_size / 1024
            )
        },
        goal: ">= 2, max/min < 2",
        ours: workloads::pipe_bytes,
    },
    Timed {
        name: "queue_throughput",
        what: |s| {
            format!(
                "a child puts {} small ints on a Queue, the parent gets them",
                s.queued
            )
        },
        goal: ">= 5",
        ours: workloads::queue_throughput,
    },
    Timed {
        name: "manager_dict",
        what: |s| {
            format!(
                "a child sets {} keys of a Manager dict, the parent reads each",
                s.keys
            )
        },
        goal: ">= 3, max/min < 2",
        ours: workloads::manager_dict,
    },
    Timed {
        name: "map_strings",
        what: |s| format!("Pool(2).map n -> \"item-n\" over {} ints", s.strings),
        goal: ">= 5",
        ours: workloads::map_strings,
    },
    Timed {
        name: "start_join",
        what: |s| format!("Process start+join, {} in a row, fork", s.starts),
        goal: ">= 10",
        ours: workloads::start_join,
    },
];

/// The floors, measured on our side (and Python's where it has them).
const FLOORS: [&str; 2] = ["lock_cycle", "round_trip"];

/// Every name the section answers to.
pub(crate) fn names() -> impl Iterator<Item = &'static str> {
    TIMED.iter().map(|t| t.name).chain(FLOORS)
}

/// What the rounds gathered, by workload name and then by figure.
#[derive(Default)]
struct Gathered {
    ours: BTreeMap<String, Vec<f64>>,
    python: BTreeMap<String, Vec<f64>>,
    /// Pairwise ratios (Python over ours: how many times faster ours is).
    ratios: BTreeMap<String, Vec<f64>>,
}

impl Gathered {
    fn ours(&mut self, key: &str, value: f64) {
        self.ours.entry(key.to_owned()).or_default().push(value);
    }
}

/// Runs the workloads named in `only` (every one if empty), `rounds`
/// rounds each side.
pub(crate) fn run(
    table: &Table,
    quick: bool,
    python: bool,
    only: &[&str],
    rounds: usize,
) -> common::Result<()> {
    let sizes = Sizes::new(quick);
    let chosen: Vec<&str> = names()
        .filter(|name| only.is_empty() || only.contains(name))
        .collect();
    table.section(&format!(
        "[ipc] beyond the pool (issue #27): medians of {rounds} rounds, common and CPython \
         (fork) alternating"
    ));
    let mut gathered = Gathered::default();
    for round in 0..rounds {
        // Alternate which side goes first, so that neither always meets
        // the machine as the other left it.
        let python_first = round % 2 == 0;
        let mut theirs = None;
        if python && python_first {
            theirs = Some(python_round(&sizes, &chosen));
        }
        let ours = our_round(&sizes, &chosen, &mut gathered)?;
        if python && !python_first {
            theirs = Some(python_round(&sizes, &chosen));
        }
        match theirs {
            Some(Ok(theirs)) => gather_python(&mut gathered, &theirs, &ours),
            Some(Err(why)) => table.note(&format!("round {round}: {why}")),
            None => {}
        }
    }
    report(table, &sizes, &chosen, &gathered, rounds);
    Ok(())
}

fn python_round(sizes: &Sizes, chosen: &[&str]) -> Result<Value, String> {
    let mut args = vec![sizes.json()];
    args.extend(chosen.iter().map(|name| (*name).to_owned()));
    run_python(PYTHON_SIDE, &args)
}

/// One round of our side: seconds of each timed workload chosen (and the
/// floors), by name.
fn our_round(
    sizes: &Sizes,
    chosen: &[&str],
    gathered: &mut Gathered,
) -> common::Result<BTreeMap<String, f64>> {
    let mut seconds = BTreeMap::new();
    for timed in TIMED.iter().filter(|t| chosen.contains(&t.name)) {
        // The floor of start_join just before it, so that both see the
        // machine alike.
        let floor = (timed.name == "start_join").then(|| workloads::fork_floor(sizes));
        let took = (timed.ours)(sizes)?;
        if let Some(floor) = floor {
            gathered.ours("start_join/floor", floor);
            gathered
                .ratios
                .entry("start_join/floor".to_owned())
                .or_default()
                .push(took / floor);
        }
        gathered.ours(timed.name, took);
        seconds.insert(timed.name.to_owned(), took);
    }
    if chosen.contains(&"lock_cycle") {
        for (what, ns) in floors::lock_cycles(sizes)? {
            gathered.ours(&format!("lock_cycle/{what}"), ns);
        }
    }
    if chosen.contains(&"round_trip") {
        for (what, us) in floors::round_trips(sizes)? {
            gathered.ours(&format!("round_trip/{what}"), us);
        }
    }
    Ok(seconds)
}

/// Python's figures of a round, and the ratios to ours of the same round.
fn gather_python(gathered: &mut Gathered, theirs: &Value, ours: &BTreeMap<String, f64>) {
    for (name, took) in ours {
        if let Some(python) = theirs[name.as_str()].as_f64() {
            gathered
                .python
                .entry(name.clone())
                .or_default()
                .push(python);
            gathered
                .ratios
                .entry(name.clone())
                .or_default()
                .push(python / took);
        }
    }
    for floor in FLOORS {
        if let Some(figures) = theirs[floor].as_object() {
            for (what, value) in figures {
                if let Some(value) = value.as_f64() {
                    gathered
                        .python
                        .entry(format!("{floor}/{what}"))
                        .or_default()
                        .push(value);
                }
            }
        }
    }
}

fn report(table: &Table, sizes: &Sizes, chosen: &[&str], gathered: &Gathered, rounds: usize) {
    let values =
        |side: &BTreeMap<String, Vec<f64>>, key: &str| side.get(key).cloned().unwrap_or_default();
    for timed in TIMED.iter().filter(|t| chosen.contains(&t.name)) {
        let ours = values(&gathered.ours, timed.name);
        let python = values(&gathered.python, timed.name);
        table.note(&format!("{}: {}", timed.name, (timed.what)(sizes)));
        let ms = |v: Vec<f64>| median_f64(v.iter().map(|s| s * 1e3).collect());
        table.row("  common", ms(ours.clone()), "ms");
        table.row("  python", ms(python.clone()), "ms");
        table.ratio(
            &format!("  python / common, median of {rounds} ratios"),
            median_f64(values(&gathered.ratios, timed.name)),
            timed.goal,
        );
        let show = |s: Option<f64>| s.map_or_else(|| "-".to_owned(), |s| format!("{s:.2}"));
        table.note(&format!(
            "  max/min of the rounds: common {}, python {}",
            show(spread(&ours)),
            show(spread(&python))
        ));
        let each = |v: &[f64]| {
            v.iter()
                .map(|s| format!("{:.1}", s * 1e3))
                .collect::<Vec<_>>()
                .join(" ")
        };
        table.note(&format!(
            "  rounds, ms: common {}; python {}",
            each(&ours),
            each(&python)
        ));
        if timed.name == "start_join" {
            table.row(
                "  raw fork + _exit + waitpid (floor)",
                ms(values(&gathered.ours, "start_join/floor")),
                "ms",
            );
            table.ratio(
                "  common / floor",
                median_f64(values(&gathered.ratios, "start_join/floor")),
                "<= 1.3",
            );
        }
    }
    if chosen.contains(&"lock_cycle") {
        table.note("lock_cycle: one uncontended acquire+release, in this process");
        for what in ["lock", "rlock", "semaphore", "value_lock"] {
            let key = format!("lock_cycle/{what}");
            table.row(
                &format!("  common {what}"),
                median_f64(values(&gathered.ours, &key)),
                "ns",
            );
            if gathered.python.contains_key(&key) {
                table.row(
                    &format!("  python {what}"),
                    median_f64(values(&gathered.python, &key)),
                    "ns",
                );
            }
        }
    }
    if chosen.contains(&"round_trip") {
        table.note("round_trip: a small request and its answer between two processes");
        for (what, label) in [
            ("socketpair", "bare Unix socketpair, 8 bytes, blocking"),
            (
                "socketpair_spinning",
                "the same, reads spinning (the floor)",
            ),
            ("connection", "Connection send/recv"),
            ("manager", "Manager dict get"),
        ] {
            let key = format!("round_trip/{what}");
            table.row(
                &format!("  common {label}"),
                median_f64(values(&gathered.ours, &key)),
                "us",
            );
            if gathered.python.contains_key(&key) {
                table.row(
                    &format!("  python {label}"),
                    median_f64(values(&gathered.python, &key)),
                    "us",
                );
            }
        }
    }
}
