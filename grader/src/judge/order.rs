//! "The final line comes after the children", from the kernel's record
//! rather than from the order of the output.
//!
//! When the main process writes to stdout, the tracer holds the write at
//! its start and notes which of the main process's children had not been
//! reaped, and which of those were still running. The main process's last
//! lines must then be written after every child the run requires (those
//! that checked in) has ended, and, where the run asks the main process to
//! join them, after it has reaped each one. Being blocked in another call
//! meanwhile (a sleep, a poll, a wait for another child) is not waiting for
//! them: only their ends and their reaping count.

use nix::unistd::Pid;

use super::lines::lines;
use crate::exercises::Run;
use crate::observe::Observation;

/// What is wrong with when the main process wrote its last lines, by the
/// kernel's record; nothing when the run does not say they come after the
/// children, or was not traced.
pub(super) fn written_too_soon(run: &Run, seen: &Observation) -> Vec<String> {
    let Ok(events) = &seen.traced else {
        return Vec::new();
    };
    let children_print = run.child_parts().any(|(_, lines)| !lines.is_empty());
    if !run.parent_waits && !children_print {
        return Vec::new();
    }
    let required: Vec<Pid> = seen
        .checkins
        .iter()
        .filter(|c| c.ppid == Some(seen.main))
        .map(|c| c.pid)
        .collect();
    let mut problems = Vec::new();
    for line in lines(events) {
        if line.owner() != Some(seen.main) || !run.last.contains(&line.text) {
            continue;
        }
        let write = &events.writes[line.first];
        let mut late: Vec<Pid> = write
            .unjoined
            .iter()
            .filter(|child| required.contains(&child.pid) && (run.parent_waits || child.running))
            .map(|child| child.pid)
            .collect();
        late.sort();
        late.dedup();
        if late.is_empty() {
            continue;
        }
        let pids = late
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ");
        problems.push(if run.parent_waits {
            format!(
                "`{}` was written before the main process had joined its children: child \
                 processes {pids} were still running, or had ended and were not yet reaped, \
                 when it wrote that line",
                line.text
            )
        } else {
            format!(
                "`{}` was written before its children had ended: child processes {pids} were \
                 still running when it wrote that line",
                line.text
            )
        });
    }
    problems
}
