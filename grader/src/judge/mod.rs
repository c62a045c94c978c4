//! Turns what was observed of a run into checks, each with expected, got
//! and a hint.

//!
//! Each check has a room of its own: [`exit status`](exit),
//! [`output`](mod@output) (with stdout as written, line by line, and its
//! account, `lines.rs`; who sent the bytes of stdout and stderr, by the
//! kernel's account, `senders.rs`; who wrote each line, `attribution.rs`;
//! whether the last lines came after the children, `order.rs`),
//! [`processes`](mod@processes), [`concurrency`](mod@concurrency),
//! [`data`](mod@data) (what crossed between the processes) and
//! [`nothing left behind`](leftovers).

use crate::exercises::{Exercise, Run};
use crate::observe::Observation;
use crate::report::{Check, RunReport};

mod attribution;
mod concurrency;
mod data;
mod exit;
mod leftovers;
mod lines;
mod order;
mod output;
mod pipes;
mod processes;
mod returned;
mod senders;
mod shown;

use concurrency::concurrency;
use data::data;
use exit::exit_status;
use leftovers::nothing_left;
use output::output;
use processes::processes;

/// Judges one run of `exercise`.
pub fn judge(exercise: &Exercise, run: &Run, seen: &Observation) -> RunReport {
    let mut checks = vec![
        exit_status(exercise, run, seen),
        output(exercise, run, seen),
    ];
    if run.children() > 0 {
        checks.push(processes(exercise, run, seen));
    }
    if run.concurrent {
        checks.push(concurrency(exercise, run, seen));
    }
    if run.has_data_check() {
        checks.push(data(exercise, run, seen));
    }
    checks.push(nothing_left(seen));
    checks.iter_mut().for_each(Check::cap);
    let mut notes = Vec::new();
    if let Err(why) = &seen.traced {
        notes.push(format!(
            "the kernel could not trace the program ({why}), so processes are known from their \
             check-ins and /proc only"
        ));
    }
    notes.extend(seen.layers.note());
    if seen.hit_memory_cap {
        notes.push(format!(
            "the run reached its memory cap of {} MiB ({})",
            crate::sandbox::memory_cap() >> 20,
            crate::sandbox::MEMORY_ENV
        ));
    }
    if !seen.saw_rendezvous && run.concurrent {
        notes.push(
            "the kernel did not show what the held processes were blocked in \
             (/proc/PID/task/TID/syscall), so those alive, connected and asleep in the \
             kernel at one moment were counted as waiting together"
                .to_owned(),
        );
    }
    if !seen.saw_waits && run.parent_waits {
        notes.push(
            "the kernel did not show what the main process was blocked in (/proc/PID/syscall), \
             so the order of the final line was checked only as the output came"
                .to_owned(),
        );
    }
    RunReport {
        exercise: exercise.id,
        command: run.command_line(exercise.package),
        checks,
        notes,
        not_started: placeholder(&seen.stderr.text()),
        hidden: run.hidden,
    }
}

/// Where the program panicked in a `todo!` placeholder and its message,
/// from Rust's panic report on stderr (`panicked at FILE:LINE:COL:` then
/// `not yet implemented: MESSAGE`).
pub fn placeholder(stderr: &str) -> Option<String> {
    let lines: Vec<&str> = stderr.lines().collect();
    lines.windows(2).find_map(|pair| {
        let (_, at) = pair[0].split_once("panicked at ")?;
        let message = pair[1].strip_prefix("not yet implemented")?;
        let message = message.trim_start_matches(':').trim();
        let at = at.trim_end_matches(':');
        Some(if message.is_empty() {
            format!("the program reached todo!() at {at}")
        } else {
            format!("the program reached todo!(\"{message}\") at {at}")
        })
    })
}
