//! The `output` check: the expected lines (as a set where processes race,
//! the main process's last, written after its children ended), every byte
//! accounted for by a write the tracer saw, each line written by the
//! process meant to print it; or, for a program that prints JSON, the
//! facts it states.

use std::collections::BTreeMap;

use crate::exercises::{Exercise, Facts, Run};
use crate::observe::Observation;
use crate::report::{Check, CheckKind, Failure};

use super::attribution::attribution;
use super::lines::unaccounted;
use super::order::written_too_soon;
use super::senders::strangers;

pub(super) fn output(exercise: &Exercise, run: &Run, seen: &Observation) -> Check {
    if let Some(facts) = run.facts {
        return json_output(exercise, facts, seen);
    }
    const NAME: CheckKind = CheckKind::Output;
    let text = seen.stdout.text();
    let got: Vec<&str> = text.lines().collect();
    // Where the kernel's record shows the last lines written before the
    // children ended (or were joined), that is the problem; where they then
    // landed among the children's lines is the scheduler's doing.
    let too_soon = written_too_soon(run, seen);
    let mut problems = counted(run, &got);
    if problems.is_empty() {
        problems.extend(misordered(run, seen, &got, too_soon.is_empty()));
    }
    if seen.stdout.total > seen.stdout.bytes.len() as u64 {
        problems.push(format!(
            "printed {} bytes; only the first {} were kept",
            seen.stdout.total,
            seen.stdout.bytes.len()
        ));
    }
    if problems.is_empty() {
        problems.extend(unaccounted(seen));
    }
    problems.extend(strangers(seen));
    if problems.is_empty() {
        problems.extend(attribution(run, seen));
    }
    problems.extend(too_soon);
    if problems.is_empty() {
        return Check::pass(NAME);
    }
    let mut expected = String::new();
    if !run.racing.is_empty() {
        expected.push_str("these lines, in any order:\n");
        expected.push_str(&run.racing.join("\n"));
        expected.push_str("\nthen, last:\n");
    }
    expected.push_str(&run.last.join("\n"));
    Check::fail(
        NAME,
        Failure {
            problem: problems.join("; "),
            expected,
            got: text.trim_end().to_owned(),
            hint: exercise.hint.to_owned(),
        },
    )
}

/// What is missing, unexpected or repeated among the lines `got`, as a
/// multiset of what `run` expects.
fn counted(run: &Run, got: &[&str]) -> Vec<String> {
    let mut problems = Vec::new();
    let mut count: BTreeMap<&str, isize> = BTreeMap::new();
    for line in run.racing.iter().chain(&run.last) {
        *count.entry(line).or_default() += 1;
    }
    for line in got {
        *count.entry(line).or_default() -= 1;
    }
    for (line, &n) in &count {
        match n {
            0 => {}
            n if n > 0 => problems.push(format!("`{line}` is missing")),
            n => {
                let wanted = run
                    .racing
                    .iter()
                    .chain(&run.last)
                    .filter(|l| l == line)
                    .count();
                if wanted == 0 {
                    problems.push(format!("`{line}` is not expected"));
                } else {
                    let times = wanted as isize - n;
                    problems.push(format!("`{line}` printed {times} times, expected {wanted}"));
                }
            }
        }
    }
    problems
}

/// Whether the main process's lines came last (when `last_too`), and each
/// pair of lines that one process prints in order came in that order.
fn misordered(run: &Run, seen: &Observation, got: &[&str], last_too: bool) -> Vec<String> {
    let mut problems = Vec::new();
    let tail = &got[got.len() - run.last.len()..];
    if last_too && tail != run.last.as_slice() {
        let mut problem = format!(
            "`{}` must be printed last, after every child's line",
            run.last.join(" / ")
        );
        if run.parent_waits && seen.saw_waits {
            problem.push_str(
                " (the grader held the children until the main process waited for them, \
                 so anything printed before joining comes first)",
            );
        }
        problems.push(problem);
    }
    let position = |line: &str| got.iter().position(|g| *g == line);
    for (first, second) in &run.before {
        if position(first) > position(second) {
            problems.push(format!("`{first}` must come before `{second}`"));
        }
    }
    problems
}

fn json_output(exercise: &Exercise, facts: Facts, seen: &Observation) -> Check {
    const NAME: CheckKind = CheckKind::Output;
    let text = seen.stdout.text();
    let mut problems = match serde_json::from_str(&text) {
        Ok(json) => {
            let checked_in = seen
                .checkins
                .iter()
                .map(|c| c.ns_pid.as_raw().unsigned_abs().into())
                .collect();
            facts(&json, &checked_in)
        }
        Err(error) => vec![format!("the output is not JSON: {error}")],
    };
    problems.extend(unaccounted(seen));
    if let Ok(events) = &seen.traced {
        for (pid, _) in events.written_by() {
            if pid != seen.main {
                problems.push(format!(
                    "part of the report was written by process {pid}, not by the main process {}",
                    seen.main
                ));
            }
        }
    }
    if problems.is_empty() {
        return Check::pass(NAME);
    }
    Check::fail(
        NAME,
        Failure {
            problem: problems.join("; "),
            expected: "a JSON report whose facts match what the kernel saw".to_owned(),
            got: text.trim_end().to_owned(),
            hint: exercise.hint.to_owned(),
        },
    )
}
