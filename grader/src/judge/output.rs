//! The `output` check: the expected lines (as a set where processes race,
//! the main process's last, written after its children ended), every byte
//! accounted for by a write the tracer saw, each line written by the
//! process meant to print it; or, for a program that prints JSON, the
//! facts it states.

use std::collections::BTreeMap;

use crate::exercises::{Exercise, Facts, Run};
use crate::expect::value_in;
use crate::observe::Observation;
use crate::report::{Check, CheckKind, Failure};

use super::attribution::attribution;
use super::lines::unaccounted;
use super::order::written_too_soon;
use super::senders::strangers;

pub(super) fn output(exercise: &Exercise, run: &Run, seen: &Observation) -> Check {
    if let Some(facts) = run.json {
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
    problems.extend(parsed(run, &got));
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
    Check::fail(
        NAME,
        Failure {
            problem: problems.join("; "),
            expected: expected(run),
            got: text.trim_end().to_owned(),
            hint: exercise.hint.to_owned(),
        },
    )
}

/// The expected output as the report shows it: in order where the run
/// fixes one order, else each process's lines in their order with the
/// processes in any order; then the order between processes; then the
/// main process's last lines.
fn expected(run: &Run) -> String {
    let mut text = String::new();
    let mut running: Vec<&str> = Vec::new();
    if let Some(sequence) = one_order(run) {
        if !sequence.is_empty() {
            text.push_str("these lines, in this order:\n");
        }
        running = sequence;
    } else {
        let one_line_each = run.child_parts().all(|(_, lines)| lines.len() <= 1);
        let prints = run.child_parts().any(|(_, lines)| !lines.is_empty());
        if !prints && run.main.is_empty() {
            // Only the last lines: said below.
        } else if one_line_each && run.main.is_empty() {
            text.push_str("these lines, in any order:\n");
        } else {
            text.push_str(
                "these lines, each process's in the order shown, the processes' in any order:\n",
            );
        }
        running.extend(
            run.child_parts()
                .flat_map(|(_, lines)| lines)
                .map(String::as_str),
        );
        running.extend(run.main.iter().map(String::as_str));
    }
    for line in &running {
        text.push_str(line);
        text.push('\n');
    }
    if one_order(run).is_none() {
        for order in &run.order {
            text.push_str(&format!(
                "with every one of `{}` before any of `{}`\n",
                order.first.join("`, `"),
                order.then.join("`, `")
            ));
        }
    }
    if !run.last.is_empty() {
        if !running.is_empty() {
            text.push_str("then, last:\n");
        }
        text.push_str(&run.last.join("\n"));
    }
    text.trim_end().to_owned()
}

/// The running lines in the one order the run allows, if it allows only
/// one (a conversation); `None` if several orders are right.
fn one_order(run: &Run) -> Option<Vec<&str>> {
    let parts: Vec<&[String]> = run
        .child_parts()
        .map(|(_, lines)| lines)
        .chain(std::iter::once(run.main.as_slice()))
        .filter(|lines| !lines.is_empty())
        .collect();
    if parts.len() < 2 {
        return parts
            .first()
            .map(|lines| lines.iter().map(String::as_str).collect());
    }
    // Each line's predecessors: the one before it in its process, and every
    // `first` of an order it is a `then` of.
    let comes_after = |line: &str, earlier: &str| {
        parts.iter().any(|lines| {
            lines
                .windows(2)
                .any(|pair| pair[0] == earlier && pair[1] == line)
        }) || run
            .order
            .iter()
            .any(|o| o.then.iter().any(|t| t == line) && o.first.iter().any(|f| f == earlier))
    };
    let all: Vec<&str> = parts
        .iter()
        .flat_map(|l| l.iter())
        .map(String::as_str)
        .collect();
    let mut placed: Vec<&str> = Vec::new();
    while placed.len() < all.len() {
        let ready: Vec<&str> = all
            .iter()
            .copied()
            .filter(|line| !placed.contains(line))
            .filter(|line| {
                all.iter()
                    .filter(|e| !placed.contains(e))
                    .all(|earlier| !comes_after(line, earlier))
            })
            .collect();
        match ready.as_slice() {
            [line] => placed.push(line),
            _ => return None,
        }
    }
    Some(placed)
}

/// What is missing, unexpected or repeated among the lines `got`, as a
/// multiset of what `run` expects.
fn counted(run: &Run, got: &[&str]) -> Vec<String> {
    let mut problems = Vec::new();
    let mut count: BTreeMap<&str, isize> = BTreeMap::new();
    for line in run.all_lines() {
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
                let wanted = run.all_lines().filter(|l| l == line).count();
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

/// Whether the main process's last lines came last (when `last_too`),
/// each process's lines in their order, and the lines of different
/// processes in the order the run asks.
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
    let sequences = run
        .child_parts()
        .map(|(_, lines)| lines)
        .chain(std::iter::once(run.main.as_slice()));
    for lines in sequences {
        for pair in lines.windows(2) {
            if position(&pair[0]) > position(&pair[1]) {
                problems.push(format!("`{}` must come before `{}`", pair[0], pair[1]));
            }
        }
    }
    for order in &run.order {
        let late = order.first.iter().find_map(|first| {
            let then = order
                .then
                .iter()
                .find(|then| position(then) < position(first))?;
            Some((first, then))
        });
        if let Some((first, then)) = late {
            problems.push(format!(
                "`{then}` came before `{first}`: every one of `{}` must come before any of `{}`",
                order.first.join("`, `"),
                order.then.join("`, `")
            ));
        }
    }
    problems
}

/// What the run's parsed checks say of the values in `got`.
fn parsed(run: &Run, got: &[&str]) -> Vec<String> {
    run.parsed
        .iter()
        .flat_map(|parsed| {
            got.iter()
                .filter_map(|line| value_in(parsed.line, line))
                .filter_map(|value| (parsed.check)(value))
        })
        .collect()
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
            facts(&json, &checked_in, seen.traced.as_ref().ok())
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
