//! The `data` check: each of the run's [`Fact`]s about data that crossed
//! between its processes, against what the kernel showed (see
//! `trace/queues.rs` for what the tracer reads, and when).
//!
//! [`Fact::Crossed`]: every line of the role `to` that shows a value must
//! show one its process could see, when it wrote the line, had been taken
//! out of a `common::Queue` that another process of the run held too (its
//! ring mapped in both, by the kernel's account); each value taken backs
//! one line only. So a consumer that counts by itself, one that reads a
//! queue of its own, and one that prints before it takes all fail, every
//! time. It does not ask which process put the value in.
//!
//! [`Fact::Put`]: as [`Fact::Crossed`], and the `i`-th value taken out of
//! the ring, the one a line shows, must be the `i`-th the processor saw
//! put in (see `trace/puts.rs`), by a process of the role `from` that is
//! neither the line's writer nor the main process. So a consumer that
//! fills the shared queue itself and a parent that puts while the producer
//! idles fail, every time. Elsewhere than x86-64 the putter is not watched,
//! and the report says so.
//!
//! [`Fact::Received`]: every line of the role `to` that shows a value must
//! show a message its process received over a pipe, sent by a process of
//! the role `from` (see `pipes.rs`).
//!
//! [`Fact::Returned`]: every value the main process lists is a result
//! the role `from` sent it, in a pool's answers it read out of their
//! pipes (see `returned.rs`).
//!
//! [`Fact::Counted`]: no write of the shared value while a child was held
//! between its read and its write (`trace/values.rs`).
//!
//! [`Fact::Waited`]: no `after` line written while the first child to
//! print was held back before its `before` line (`trace/holds.rs`).

use std::collections::{BTreeMap, BTreeSet};

use nix::unistd::Pid;

use crate::exercises::{Exercise, Fact, Run};
use crate::expect::{Pattern, value_in};
use crate::observe::{Events, Observation, Written};
use crate::report::{Check, CheckKind, Failure};

use super::lines::lines;
use super::pipes::{players, received, who};
use super::returned::returned;
use super::shown::{encodes, listed};

pub(super) fn data(exercise: &Exercise, run: &Run, seen: &Observation) -> Check {
    const NAME: CheckKind = CheckKind::Data;
    // Untraced, nothing shows what crossed; the report's note says so.
    let Ok(events) = &seen.traced else {
        return Check::pass(NAME);
    };
    let mut problems = Vec::new();
    let mut got = Vec::new();
    for fact in &run.facts {
        match *fact {
            Fact::Crossed { from, to, line } => {
                let (wrong, shown) = crossed(run, events, None, from, to, line);
                problems.extend(wrong);
                got.push(shown);
            }
            Fact::Put { from, to, line } => {
                let (wrong, shown) = crossed(run, events, Some(seen.main), from, to, line);
                problems.extend(wrong);
                got.push(shown);
            }
            Fact::Received { from, to, line } => {
                let (wrong, shown) = received(run, events, seen.main, from, to, line);
                problems.extend(wrong);
                got.push(shown);
            }
            Fact::Returned { from, line } => {
                let (wrong, shown) = returned(run, events, seen, from, line);
                problems.extend(wrong);
                got.push(shown);
            }
            Fact::Counted { updates, .. } => {
                let (wrong, shown) = counted(seen, events, updates);
                problems.extend(wrong);
                got.push(shown);
            }
            Fact::Waited { before, after } => {
                let (wrong, shown) = waited(events, before, after);
                problems.extend(wrong);
                got.push(shown);
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
            expected: run
                .facts
                .iter()
                .map(Fact::describe)
                .collect::<Vec<_>>()
                .join("\n"),
            got: got.join("\n"),
            hint: exercise.hint.to_owned(),
        },
    )
}

/// Who put a value taken, as the judge of [`Fact::Put`] sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Putter {
    /// A process of the role that sends: right.
    Sender,
    /// The process that printed the value.
    Printer,
    /// The main process.
    Main,
    /// A process of another role.
    Other,
    /// Nobody the processor showed: the ring was not watched, or its
    /// record does not hold the value taken.
    Unseen,
}

/// Who put the `i`-th value taken out of `ring`, `taken`, which process
/// `printer` printed, given the main process `main` and the processes of
/// the sending role `senders`.
fn putter(
    events: &Events,
    ring: u64,
    i: usize,
    taken: &[u8],
    printer: Pid,
    (main, senders): (Pid, &BTreeSet<Pid>),
) -> Putter {
    if events.rings_unwatched.contains(&ring) {
        return Putter::Unseen;
    }
    let Some(put) = events.puts.get(&ring).and_then(|puts| puts.get(i)) else {
        return Putter::Unseen;
    };
    if put.value != taken {
        Putter::Unseen
    } else if put.pid == printer {
        Putter::Printer
    } else if put.pid == main {
        Putter::Main
    } else if senders.contains(&put.pid) {
        Putter::Sender
    } else {
        Putter::Other
    }
}

/// What is wrong with `from` sending `to` the values of its lines
/// matching `pattern`, one line each; and how many were backed by a value
/// taken, in words. With the main process `put_by_main_is` given (for
/// [`Fact::Put`]), each value must also have been put by a process of
/// `from`, neither that one nor the printer.
fn crossed(
    run: &Run,
    events: &Events,
    put_by_main_is: Option<Pid>,
    from: &str,
    to: &str,
    pattern: Pattern,
) -> (Vec<String>, String) {
    let (sender, taker) = (who(from), who(to));
    let expected = run.lines_showing(to, pattern);
    let mut backed = 0;
    let mut used: BTreeSet<(u64, usize)> = BTreeSet::new();
    // The lines no value taken backs, by the process that wrote them.
    let mut unbacked: BTreeMap<Pid, Vec<String>> = BTreeMap::new();
    // The lines whose value was put by the wrong process, by who put it.
    let mut misput: BTreeMap<Putter, Vec<String>> = BTreeMap::new();
    let all_lines = lines(events);
    // Off x86-64 (no debug registers), who put a value is not watched.
    let putters = put_by_main_is
        .filter(|_| !events.values_unwatched)
        .map(|main| (main, players(run, events, main, &all_lines, from)));
    for line in all_lines {
        if !expected.iter().any(|l| **l == line.text) {
            continue;
        }
        let Some(value) = value_in(pattern, &line.text) else {
            continue;
        };
        let Some(write) = events.writes.get(line.first) else {
            continue;
        };
        // Every value taken that the line could show; where who put it is
        // watched, one put by the sender is preferred (a value the same in
        // two queues, a task and its square, is not held against it).
        let candidates: Vec<(u64, usize)> = write
            .taken
            .iter()
            .filter(|taken| !taken.shared_with.is_empty() || putters.is_some())
            .filter_map(|taken| {
                let values = events.taken.get(&taken.ring)?;
                (0..taken.values.min(values.len()))
                    .find(|&i| !used.contains(&(taken.ring, i)) && encodes(value, &values[i]))
                    .map(|i| (taken.ring, i))
            })
            .collect();
        let judged = |&(ring, i): &(u64, usize)| match &putters {
            Some((main, senders)) => {
                let taken = &events.taken[&ring][i];
                putter(events, ring, i, taken, write.pid, (*main, senders))
            }
            None => Putter::Sender,
        };
        let backing = candidates
            .iter()
            .find(|c| judged(c) == Putter::Sender)
            .or(candidates.first())
            .copied();
        let put = backing.as_ref().map_or(Putter::Sender, judged);
        match backing {
            Some(key) if put == Putter::Sender => {
                used.insert(key);
                backed += 1;
            }
            Some(key) => {
                used.insert(key);
                misput.entry(put).or_default().push(line.text);
            }
            None => unbacked.entry(write.pid).or_default().push(line.text),
        }
    }
    let put = match (put_by_main_is, &putters) {
        (None, _) => String::new(),
        (Some(_), Some(_)) => format!(", put in by the {from}"),
        (Some(_), None) => ", not watched who put it in: the processor's debug registers could \
             not be set here"
            .to_owned(),
    };
    let shown = format!(
        "{backed} of the {} `{pattern}` lines expected showed a value taken out of a shared \
         queue before they were printed{put}",
        expected.len()
    );
    let mut problems: Vec<String> = unbacked
        .into_values()
        .map(|lines| {
            format!(
                "{} that the process printing them had not taken out of a queue it shares \
                 with another process by then ({sender} must send each value through the \
                 queue, and {taker} print what it gets)",
                listed(&lines)
            )
        })
        .collect();
    problems.extend(misput.into_iter().map(|(who, lines)| {
        let by = match who {
            Putter::Printer => "the process that printed it".to_owned(),
            Putter::Main => "the main process".to_owned(),
            Putter::Other => format!("a process that is not the {from}"),
            Putter::Sender | Putter::Unseen => {
                "no process the grader could watch (only the first queues a process maps are \
                 watched, one a debug register)"
                    .to_owned()
            }
        };
        format!(
            "{} taken out of the queue, but put into it by {by} ({sender} must put each \
             value in, and {taker} take it out)",
            listed(&lines)
        )
    }));
    if problems.is_empty() && backed < expected.len() {
        problems.push(format!(
            "{} of {}'s `{pattern}` lines were not printed, so nothing shows their values \
             crossed",
            expected.len() - backed,
            taker
        ));
    }
    (problems, shown)
}

/// What is wrong with the children's updates of their shared value: an
/// update made while another process was held between its read and its
/// write (see `trace/values.rs`), or fewer updates than `updates` of any
/// one value; and what was seen, in words.
fn counted(seen: &Observation, events: &Events, updates: usize) -> (Vec<String>, String) {
    if events.values_unwatched {
        return (
            Vec::new(),
            "not watched: the processor's debug registers could not be set here".to_owned(),
        );
    }
    // The children's updates of each value, the most updated value's.
    let mut by_value: BTreeMap<u64, usize> = BTreeMap::new();
    for (&(value, pid), &n) in &events.value_updates {
        if pid != seen.main {
            *by_value.entry(value).or_default() += n;
        }
    }
    let by_children = by_value.values().copied().max().unwrap_or(0);
    if !events.races.is_empty() {
        // Updates were lost to the race, as many as luck made: not counted.
        return (
            vec![
                "another process wrote the shared value while the grader held a child between \
                 its read of the value and its write: the update is two steps and nothing kept \
                 the others out between them, so updates are lost (hold the value's get_lock() \
                 across the read and the write, the same lock in every process)"
                    .to_owned(),
            ],
            "a write of the shared value by another process while a child was held between its \
             read and its write"
                .to_owned(),
        );
    }
    let mut problems = Vec::new();
    if by_children < updates {
        problems.push(format!(
            "the child processes added one to the shared value {by_children} times; {updates} \
             updates were expected (each must read the one Value they share and write it back \
             one more, not write a number of its own)"
        ));
    }
    let shown = format!(
        "{by_children} updates of the shared value by the children (each a write leaving it one \
         more than it was); none while a child was held between its read and its write"
    );
    (problems, shown)
}

/// What is wrong with the processes waiting for one another between their
/// `before` and `after` lines: an `after` line written while the grader
/// held a child at its first line (see `trace/holds.rs`), or no such hold
/// at all; and what was seen, in words.
fn waited(events: &Events, before: Pattern, after: Pattern) -> (Vec<String>, String) {
    let texts = |write: &Written| -> Vec<String> {
        String::from_utf8_lossy(&write.bytes)
            .lines()
            .map(str::to_owned)
            .collect()
    };
    let Some(hold) = events.held_line else {
        return (
            vec![format!(
                "no child process wrote a line, so nothing showed the processes wait for one \
                 another between `{before}` and `{after}` (each worker must be a process of its \
                 own that prints both)"
            )],
            "no child process's line to hold".to_owned(),
        );
    };
    let first = events
        .writes
        .iter()
        .find(|w| w.pid == hold.pid)
        .map(texts)
        .unwrap_or_default();
    let to = hold
        .to
        .unwrap_or(events.writes.len())
        .min(events.writes.len());
    let meanwhile: Vec<String> = events.writes[hold.from.min(to)..to]
        .iter()
        .filter(|w| w.pid != hold.pid)
        .flat_map(texts)
        .filter(|line| value_in(after, line).is_some())
        .collect();
    let mut problems = Vec::new();
    if !first.iter().any(|line| value_in(before, line).is_some()) {
        problems.push(format!(
            "the first line a worker printed was not its `{before}` line, so holding it back \
             showed nothing (print `{before}` first, then wait, then print `{after}`)"
        ));
    }
    let count = meanwhile.len();
    if count > 0 {
        let lines = if count == 1 { "line was" } else { "lines were" };
        problems.push(format!(
            "{count} `{after}` {lines} printed while the grader held a worker back before its \
             `{before}` line: the others did not wait for it (wait on one common::Barrier, \
             made for every worker and shared by all, between the two lines)"
        ));
    }
    let shown = format!(
        "a worker held back at its `{before}` line until every other process was blocked or \
         had ended; meanwhile {} `{after}` {} printed",
        if count == 0 {
            "no".to_owned()
        } else {
            count.to_string()
        },
        if count == 1 { "line was" } else { "lines were" }
    );
    (problems, shown)
}

impl Fact {
    /// The fact as the report states it.
    pub fn describe(&self) -> String {
        match self {
            Fact::Waited { before, after } => format!(
                "no `{after}` line is printed before every worker has printed its `{before}` \
                 line, even when one worker is held back (the grader holds one)"
            ),
            Fact::Counted { updates, .. } => format!(
                "the children update the Value they share at least {updates} times, each update \
                 (its read and its write) under the value's lock"
            ),
            Fact::Received { from, to, line } => format!(
                "each `{line}` printed by {} shows a message it received over a pipe, sent by \
                 {} on the other end once the lines another process prints before it were \
                 printed, before printing it",
                who(to),
                who(from)
            ),
            Fact::Returned { from, line } => format!(
                "every value of `{line}` printed by the main process is a result that the \
                 {from} processes computed and sent it (the pool's answers it read hold each one)"
            ),
            Fact::Crossed { from, to, line } => format!(
                "each `{line}` printed by {} shows a value it took out of a queue it \
                 shares with {}, before printing it",
                who(to),
                who(from)
            ),
            Fact::Put { from, to, line } => format!(
                "each `{line}` printed by {} shows a value it took out of a queue it \
                 shares with {}, before printing it, and that {} put in",
                who(to),
                who(from),
                who(from)
            ),
        }
    }
}
