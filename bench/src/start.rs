//! Section `start`: process start+join, against a raw `fork` (the floor)
//! and Python's `Process` under each start method.

use std::time::{Duration, Instant};

use common::{Process, StartMethod};

use crate::python::{figure, side};
use crate::table::{Table, median, micros};

const PYTHON_SIDE: &str = include_str!("start.py");

/// Start+joins of each kind (fewer for spawn and forkserver).
fn starts(quick: bool) -> usize {
    if quick { 50 } else { 500 }
}

/// One `common::Process` under `method`, started and joined.
pub(crate) fn common_process_join(method: StartMethod) -> Duration {
    let start = Instant::now();
    let mut process = Process::new(|| {});
    process.set_start_method(method);
    process.start().expect("start");
    process.join().expect("join");
    start.elapsed()
}

/// Runs the section.
pub(crate) fn run(table: &Table, quick: bool, python: bool) {
    let starts = starts(quick);
    let py_run = side(python, PYTHON_SIDE, &[starts.to_string()]);
    let py = |pointer: &str| figure(&py_run, pointer);
    table.section("[start] process start+join, median microseconds");
    if let Err(why) = &py_run {
        table.note(why);
    }
    // Interleaved, so that both see the machine in the same state.
    let (raw, common): (Vec<_>, Vec<_>) = (0..starts)
        .map(|_| {
            (
                crate::os::raw_fork_join(),
                common_process_join(StartMethod::Fork),
            )
        })
        .unzip();
    let (floor, ours) = (micros(median(raw)), micros(median(common)));
    table.row("raw fork + _exit + waitpid (floor)", Some(floor), "us");
    table.row("common::Process, fork", Some(ours), "us");
    let (spawned, served) = threaded_starts(starts);
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
}

/// Median microseconds of spawn and of forkserver start+joins, interleaved,
/// from a parent with a live thread, as a program with an async runtime or
/// a thread pool is (fork is refused there).
fn threaded_starts(starts: usize) -> (f64, f64) {
    let (stop, stopped) = std::sync::mpsc::channel::<()>();
    let thread = std::thread::spawn(move || stopped.recv());
    // The first request starts the server: not part of a start+join.
    common_process_join(StartMethod::Forkserver);
    let (spawned, served): (Vec<_>, Vec<_>) = (0..(starts / 5).max(10))
        .map(|_| {
            (
                common_process_join(StartMethod::Spawn),
                common_process_join(StartMethod::Forkserver),
            )
        })
        .unzip();
    drop(stop);
    let _ = thread.join();
    (micros(median(spawned)), micros(median(served)))
}
