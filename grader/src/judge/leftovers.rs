//! The `nothing left behind` check: no process of the run outlives its
//! main process.

use crate::observe::Observation;
use crate::report::{Check, CheckKind, Failure};

pub(super) fn nothing_left(seen: &Observation) -> Check {
    const NAME: CheckKind = CheckKind::NothingLeftBehind;
    if seen.leftovers.is_empty() {
        return Check::pass(NAME);
    }
    let pids: Vec<String> = seen.leftovers.iter().map(ToString::to_string).collect();
    Check::fail(
        NAME,
        Failure {
            problem: format!(
                "{} still running after the main process ended; the grader killed {}",
                match pids.len() {
                    1 => "1 process was".to_owned(),
                    n => format!("{n} processes were"),
                },
                if pids.len() == 1 { "it" } else { "them" }
            ),
            expected: "no process left once the main process has exited".to_owned(),
            got: format!("still running: {}", pids.join(", ")),
            hint: "join every process you start (dropping a common::Process joins it)".to_owned(),
        },
    )
}
