//! The `concurrency` check: the children were alive at the same time
//! (seen waiting together at the rendezvous at one moment, before any of
//! them had written a line), and they are the ones that wrote the
//! children's lines.

use nix::unistd::Pid;

use crate::exercises::{Exercise, Run};
use crate::observe::{Observation, Release};
use crate::report::{Check, CheckKind, Failure};

use super::attribution::workers_that_wrote;

const NAME: CheckKind = CheckKind::Concurrency;

pub(super) fn concurrency(exercise: &Exercise, run: &Run, seen: &Observation) -> Check {
    let hint = format!("start every process before joining any; {}", exercise.hint);
    let unobserved = seen.traced.as_ref().map_or(0, |events| {
        events
            .children_of(seen.main)
            .filter(|p| !seen.checkins.iter().any(|c| c.pid == p.pid))
            .count()
    });
    if seen.checkins.is_empty() && unobserved > 0 {
        // Processes made without common never checked in: nothing was seen
        // of when they ran, so nothing is claimed about it.
        return Check::fail(
            NAME,
            Failure {
                problem: format!(
                    "not shown: the main process created {unobserved} child processes without \
                     common, which never checked in, so the grader could not hold them to see \
                     them alive at the same time"
                ),
                expected: format!("{} child processes alive at once", run.children()),
                got: "no process held".to_owned(),
                hint,
            },
        );
    }
    // Children that were held but wrote none of their lines: that is the
    // failure, however many were seen waiting at once (the main process
    // may have ended before the last of them reached the rendezvous).
    if seen.most_held > 0
        && let Some(check) = none_wrote(run, seen, &hint)
    {
        return check;
    }
    if seen.most_held >= run.children() {
        return writers_apart(run, seen, hint).unwrap_or_else(|| Check::pass(NAME));
    }
    let why = match seen.release {
        Release::Stalled => {
            "; the main process waited for a child before starting the others, so they ran one \
             after another"
        }
        Release::TimedOut => "; the timeout struck first",
        Release::MainExited | Release::AllHeld => "",
    };
    Check::fail(
        NAME,
        Failure {
            problem: format!(
                "only {} of {} child processes were alive at the same time, waiting at the \
                 rendezvous{why}",
                seen.most_held,
                run.children()
            ),
            expected: format!("{} child processes alive at once", run.children()),
            got: format!("at most {} at once", seen.most_held),
            hint,
        },
    )
}

/// Where the kernel says who wrote the lines and no child wrote any: the
/// failure.
fn none_wrote(run: &Run, seen: &Observation, hint: &str) -> Option<Check> {
    if !workers_that_wrote(run, seen)?.is_empty() {
        return None;
    }
    Some(Check::fail(
        NAME,
        Failure {
            problem: "the children's lines were written by 0 child processes of the main \
                      process; the processes that do the work must be the ones that run at once"
                .to_owned(),
            expected: format!(
                "{} that each print their lines, alive at once",
                child_processes(printing(run))
            ),
            got: "0 child processes wrote the lines".to_owned(),
            hint: hint.to_owned(),
        },
    ))
}

/// Where the kernel says who wrote the lines, the processes held at once
/// must be the ones that did the work: the failure when they are not.
fn writers_apart(run: &Run, seen: &Observation, hint: String) -> Option<Check> {
    let writers = workers_that_wrote(run, seen)?;
    let apart: Vec<Pid> = writers
        .iter()
        .copied()
        .filter(|pid| !seen.held_together.contains(pid))
        .collect();
    let printing = printing(run);
    if writers.len() >= printing && apart.is_empty() {
        return None;
    }
    Some(Check::fail(
        NAME,
        Failure {
            problem: format!(
                "{} processes were held alive at the same time, but the lines were written by {}{}; \
                 the processes that do the work must be the ones that run at once",
                seen.most_held,
                child_processes(writers.len()),
                if apart.is_empty() {
                    String::new()
                } else {
                    format!(" ({} of them not among those held together)", apart.len())
                }
            ),
            expected: format!(
                "{} that each print their lines, alive at once",
                child_processes(printing)
            ),
            got: format!("{} wrote the lines", child_processes(writers.len())),
            hint,
        },
    ))
}

/// How many child processes have lines to print: only those are known by
/// what they write (a producer may print nothing).
fn printing(run: &Run) -> usize {
    run.child_parts()
        .filter(|(_, lines)| !lines.is_empty())
        .count()
}

/// `n` child processes, in words that agree with `n`.
fn child_processes(n: usize) -> String {
    if n == 1 {
        "1 child process".to_owned()
    } else {
        format!("{n} child processes")
    }
}
