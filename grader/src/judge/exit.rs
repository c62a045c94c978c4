//! The `exit status` check: exit code 0 within the run's timeout.

use nix::sys::signal::Signal;

use super::attribution::named;
use crate::exercises::{Exercise, Run};
use crate::observe::{Ending, Observation};
use crate::report::{Check, CheckKind, Failure};

/// The last few lines of stderr, for a failure's "got".
fn stderr_tail(seen: &Observation) -> String {
    let text = seen.stderr.text();
    let lines: Vec<&str> = text.lines().collect();
    let tail = lines[lines.len().saturating_sub(5)..].join("\n");
    if tail.is_empty() {
        String::new()
    } else {
        format!("\nstderr ends with:\n{tail}")
    }
}

/// Where each process was at the timeout, a line each, main process
/// first; or why that is not known.
fn where_stuck(run: &Run, seen: &Observation) -> String {
    if seen.stuck.is_empty() {
        return "\nthe processes were gone before the grader could see where each was".to_owned();
    }
    let mut stuck: Vec<_> = seen.stuck.iter().collect();
    stuck.sort_by_key(|s| (s.pid != seen.main, s.pid));
    let lines: Vec<String> = stuck
        .iter()
        .map(|s| format!("pid {} ({}): {s}", s.pid, named(run, seen, s.pid)))
        .collect();
    format!(
        "\nwhere each process was at the timeout:\n{}",
        lines.join("\n")
    )
}

pub(super) fn exit_status(exercise: &Exercise, run: &Run, seen: &Observation) -> Check {
    const NAME: CheckKind = CheckKind::ExitStatus;
    let (problem, got, hint) = match seen.ending {
        Ending::Exited(0) => return Check::pass(NAME),
        Ending::Exited(code) => (
            format!("the program exited with code {code}"),
            format!("exit code {code}"),
            "read the error it printed; main should return success when the work is done"
                .to_owned(),
        ),
        Ending::Signaled(signal) => {
            let name = Signal::try_from(signal).map_or("an unknown signal", Signal::as_str);
            (
                format!("the program was killed by signal {signal} ({name})"),
                format!("killed by signal {signal} ({name})"),
                "a crash in the main process: look for an abort, a stack overflow or unsafe code"
                    .to_owned(),
            )
        }
        Ending::TooManyProcesses(limit) => (
            format!(
                "the program tried to create more than {limit} processes and was stopped there \
                 (a fork bomb?)"
            ),
            format!("more than {limit} processes"),
            "a process that creates processes in a loop, or a child that runs the parent's \
             code again: create each child once, from the main process"
                .to_owned(),
        ),
        Ending::TimedOut(limit) => (
            format!(
                "the program did not finish within {} s and its process group was killed",
                limit.as_secs()
            ),
            format!("still running at the timeout{}", where_stuck(run, seen)),
            format!(
                "look for a loop that never ends or a join that waits forever; {}",
                exercise.hint
            ),
        ),
    };
    Check::fail(
        NAME,
        Failure {
            problem,
            expected: "exit code 0".to_owned(),
            got: got + &stderr_tail(seen),
            hint,
        },
    )
}
