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
mod report;
mod stopwatch;
mod workloads;

use std::collections::BTreeMap;
use std::process::Command;

use serde_json::Value;

use crate::python::run_python;
use crate::table::Table;

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

/// A workload timed on both sides: seconds for the whole of it, and the
/// parent process's CPU time meanwhile.
pub(super) struct Timed {
    pub(super) name: &'static str,
    pub(super) what: fn(&Sizes) -> String,
    pub(super) goal: &'static str,
    ours: fn(&Sizes) -> common::Result<stopwatch::Lap>,
}

pub(super) const TIMED: [Timed; 6] = [
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

/// The figures of one run of a workload, by name: `seconds` and
/// `parent_cpu` for a timed one (and `floor`, the raw forks beside
/// `start_join`), each figure of a floor.
type Figures = BTreeMap<String, f64>;

/// Runs workload `name` once in this process and gives its figures: what
/// `bench --measure NAME` prints, as JSON, for [`run`] to read.
pub(crate) fn measure_here(name: &str, quick: bool) -> Result<Value, String> {
    let sizes = Sizes::new(quick);
    let mut figures = Figures::new();
    if let Some(timed) = TIMED.iter().find(|t| t.name == name) {
        if name == "start_join" {
            // The floor just before, so that both see the machine alike.
            figures.insert("floor".to_owned(), workloads::fork_floor(&sizes));
        }
        let lap = (timed.ours)(&sizes).map_err(|e| e.to_string())?;
        figures.insert("seconds".to_owned(), lap.seconds);
        figures.insert("parent_cpu".to_owned(), lap.parent_cpu);
    } else {
        let measured = match name {
            "lock_cycle" => floors::lock_cycles(&sizes),
            "round_trip" => floors::round_trips(&sizes),
            other => return Err(format!("{other} is not a workload of ipc")),
        };
        let measured = measured.map_err(|e| e.to_string())?;
        figures.extend(measured.into_iter().map(|(what, v)| (what.to_owned(), v)));
    }
    Ok(serde_json::to_value(figures).expect("figures are JSON"))
}

/// What the rounds gathered, by `workload/figure`: each side's values,
/// and the pairwise ratios of timed workloads (Python's time over ours:
/// how many times faster ours is; and ours over the fork floor).
#[derive(Default)]
pub(super) struct Gathered {
    pub(super) ours: BTreeMap<String, Vec<f64>>,
    pub(super) python: BTreeMap<String, Vec<f64>>,
    pub(super) ratios: BTreeMap<String, Vec<f64>>,
}

impl Gathered {
    /// The figures of one round of `name`, ours and (if it ran) Python's.
    fn add(&mut self, name: &str, ours: &Figures, theirs: Option<&Figures>) {
        for (figure, value) in ours {
            push(&mut self.ours, &format!("{name}/{figure}"), *value);
        }
        if let (Some(took), Some(floor)) = (ours.get("seconds"), ours.get("floor")) {
            push(&mut self.ratios, &format!("{name}/floor"), took / floor);
        }
        let Some(theirs) = theirs else {
            return;
        };
        for (figure, value) in theirs {
            push(&mut self.python, &format!("{name}/{figure}"), *value);
        }
        if let (Some(took), Some(python)) = (ours.get("seconds"), theirs.get("seconds")) {
            push(&mut self.ratios, &format!("{name}/seconds"), python / took);
        }
    }
}

fn push(into: &mut BTreeMap<String, Vec<f64>>, key: &str, value: f64) {
    into.entry(key.to_owned()).or_default().push(value);
}

/// Runs the workloads named in `only` (every one if empty), `rounds`
/// rounds each side. Every run of a workload, ours or Python's, is a fresh
/// process of its own, so that none meets the memory another left (a
/// fork copies the page tables of all of it), and the two sides take
/// turns at going first.
pub(crate) fn run(
    table: &Table,
    quick: bool,
    python: bool,
    only: &[&str],
    rounds: usize,
) -> Result<(), String> {
    let sizes = Sizes::new(quick);
    let chosen: Vec<&str> = names()
        .filter(|name| only.is_empty() || only.contains(name))
        .collect();
    table.section(&format!(
        "[ipc] beyond the pool (issue #27): medians of {rounds} rounds, common and CPython \
         (fork) taking turns, each run a fresh process"
    ));
    let mut gathered = Gathered::default();
    for round in 0..rounds {
        for (i, name) in chosen.iter().enumerate() {
            let python_first = (round + i) % 2 == 0;
            let mut theirs = None;
            if python && python_first {
                theirs = Some(python_run(&sizes, name));
            }
            let ours = our_run(name, quick)?;
            if python && !python_first {
                theirs = Some(python_run(&sizes, name));
            }
            if let Some(Err(why)) = &theirs {
                table.note(&format!("{name}, round {round}: {why}"));
            }
            let theirs = theirs.and_then(Result::ok);
            gathered.add(name, &ours, theirs.as_ref());
        }
    }
    report::print(table, &sizes, &chosen, &gathered, rounds);
    Ok(())
}

/// Runs `bench --measure NAME` and reads its figures.
fn our_run(name: &str, quick: bool) -> Result<Figures, String> {
    let exe = std::env::current_exe().map_err(|e| format!("this program's path: {e}"))?;
    let mut command = Command::new(exe);
    command.args(["--measure", name]);
    if quick {
        command.arg("--quick");
    }
    let output = command
        .output()
        .map_err(|e| format!("run bench --measure {name}: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "bench --measure {name} failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    serde_json::from_slice(&output.stdout)
        .map_err(|e| format!("bench --measure {name} printed no figures: {e}"))
}

/// One Python run of `name`: its figures (a timed workload prints its
/// `seconds` and `parent_cpu`, as ours).
fn python_run(sizes: &Sizes, name: &str) -> Result<Figures, String> {
    let printed = run_python(PYTHON_SIDE, &[sizes.json(), name.to_owned()])?;
    match &printed[name] {
        Value::Object(figures) => Ok(figures
            .iter()
            .filter_map(|(what, v)| Some((what.clone(), v.as_f64()?)))
            .collect()),
        _ => Err(format!("python printed no figures for {name}")),
    }
}
