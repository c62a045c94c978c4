//! Turns what was observed of a run into checks, each with expected, got
//! and a hint.

use std::collections::BTreeMap;

use nix::sys::signal::Signal;
use nix::unistd::Pid;

use crate::exercises::{Exercise, Facts, Run};
use crate::observe::{CheckIn, Ending, Observation, Release};
use crate::report::{Check, CheckKind, Failure, RunReport};
use crate::trace::Stream;

mod attribution;

use attribution::{attribution, workers_that_wrote};

/// Judges one run of `exercise`.
pub fn judge(exercise: &Exercise, run: &Run, seen: &Observation) -> RunReport {
    let mut checks = vec![exit_status(exercise, seen), output(exercise, run, seen)];
    if run.children > 0 {
        checks.push(processes(exercise, run, seen));
    }
    if run.concurrent {
        checks.push(concurrency(exercise, run, seen));
    }
    checks.push(nothing_left(seen));
    let mut notes = Vec::new();
    if let Err(why) = &seen.traced {
        notes.push(format!(
            "the kernel could not trace the program ({why}), so processes are known from their \
             check-ins and /proc only"
        ));
    }
    let missing = seen.layers.missing();
    if !missing.is_empty() {
        notes.push(format!(
            "the run was not fully sandboxed: it had no {} (the kernel did not permit it, or \
             GRADER_SANDBOX=off)",
            missing.join(", no ")
        ));
    }
    if seen.hit_memory_cap {
        notes.push(format!(
            "the run reached its memory cap of {} MiB ({})",
            crate::sandbox::memory_cap() >> 20,
            crate::sandbox::MEMORY_ENV
        ));
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

fn exit_status(exercise: &Exercise, seen: &Observation) -> Check {
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
            "still running at the timeout".to_owned(),
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

fn output(exercise: &Exercise, run: &Run, seen: &Observation) -> Check {
    if let Some(facts) = run.facts {
        return json_output(exercise, facts, seen);
    }
    const NAME: CheckKind = CheckKind::Output;
    let text = seen.stdout.text();
    let got: Vec<&str> = text.lines().collect();
    let mut problems = Vec::new();

    let mut count: BTreeMap<&str, isize> = BTreeMap::new();
    for line in run.racing.iter().chain(&run.last) {
        *count.entry(line).or_default() += 1;
    }
    for line in &got {
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
    if problems.is_empty() {
        let tail = &got[got.len() - run.last.len()..];
        if tail != run.last.as_slice() {
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
    }
    if seen.stdout.total > seen.stdout.bytes.len() as u64 {
        problems.push(format!(
            "printed {} bytes; only the first {} were kept",
            seen.stdout.total,
            seen.stdout.bytes.len()
        ));
    }
    if problems.is_empty() {
        problems.extend(attribution(run, seen));
    }
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
    if let Ok(events) = &seen.traced {
        for (pid, _) in events.written_by(Stream::Stdout) {
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

fn processes(exercise: &Exercise, run: &Run, seen: &Observation) -> Check {
    const NAME: CheckKind = CheckKind::Processes;
    let main = seen.main;
    let mut problems = Vec::new();
    let mut children = Vec::new();
    // In the order of their names: the order they came in is a race.
    let mut checkins: Vec<&CheckIn> = seen.checkins.iter().collect();
    checkins.sort_by(|a, b| a.label.cmp(&b.label).then(a.pid.cmp(&b.pid)));
    for &checkin in &checkins {
        if checkin.pid == main {
            problems.push(format!(
                "`{}` checked in from the main process itself (pid {main}): that is a thread, \
                 not a child process",
                checkin.label
            ));
        } else if checkin.ppid != Some(main) {
            let parent = checkin.ppid.map_or("gone".to_owned(), |p| p.to_string());
            problems.push(format!(
                "process {} (`{}`) is a child of {parent}, not of the main process {main}",
                checkin.pid, checkin.label
            ));
        } else if !children.contains(&checkin.pid) {
            children.push(checkin.pid);
        }
    }
    if let Ok(events) = &seen.traced {
        // A check-in names a pid; the kernel says whether this run made it.
        for checkin in &checkins {
            if checkin.pid != main && events.process(checkin.pid).is_none() {
                problems.push(format!(
                    "pid {} (`{}`) checked in, but the kernel never saw this program create it",
                    checkin.pid, checkin.label
                ));
            }
        }
    }
    if children.len() != run.children {
        let mut problem = format!(
            "expected {} child processes of the main process, the kernel saw {}",
            run.children,
            children.len()
        );
        match &seen.traced {
            Ok(events) => {
                let created = events.children_of(main).count();
                if created > children.len() {
                    problem.push_str(&format!(
                        " created with common; the main process created {created} child \
                         processes in all, but {} of them never checked in (they were not made \
                         with common::Process or common::Pool), so the grader could not hold \
                         them",
                        created - children.len()
                    ));
                }
                let threads = events.threads_of(main);
                if children.is_empty() && threads > 0 {
                    problem.push_str(&format!(
                        "; the main process created {threads} threads, and threads are not \
                         processes"
                    ));
                }
            }
            Err(_) if children.is_empty() && seen.most_threads > 1 => {
                problem.push_str(&format!(
                    "; the main process ran {} threads, and threads are not processes",
                    seen.most_threads
                ));
            }
            Err(_) => {}
        }
        problems.insert(0, problem);
    }
    if problems.is_empty() {
        return Check::pass(NAME);
    }
    let got = if checkins.is_empty() {
        "no process checked in".to_owned()
    } else {
        checkins
            .iter()
            .map(|c| {
                let parent = c.ppid.map_or("gone".to_owned(), |p| p.to_string());
                format!("pid {} `{}`, parent {parent}", c.pid, c.label)
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    Check::fail(
        NAME,
        Failure {
            problem: problems.join("; "),
            expected: format!(
                "{} processes created with common (Process or Pool), each a child of the main \
                 process {main}",
                run.children
            ),
            got,
            hint: format!(
                "create the workers with common::Process or common::Pool, from the main process; {}",
                exercise.hint
            ),
        },
    )
}

fn concurrency(exercise: &Exercise, run: &Run, seen: &Observation) -> Check {
    const NAME: CheckKind = CheckKind::Concurrency;
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
                expected: format!("{} child processes alive at once", run.children),
                got: "no process held".to_owned(),
                hint,
            },
        );
    }
    let held = seen.most_held >= run.children;
    // Where the kernel says who wrote the lines, the processes held at once
    // must be the ones that did the work.
    if held && let Some(writers) = workers_that_wrote(run, seen) {
        let apart: Vec<Pid> = writers
            .iter()
            .copied()
            .filter(|pid| !seen.held_together.contains(pid))
            .collect();
        if writers.len() < run.children || !apart.is_empty() {
            return Check::fail(
                NAME,
                Failure {
                    problem: format!(
                        "{} processes were held alive at the same time, but the lines were \
                         written by {} child processes{}; the processes that do the work must \
                         be the ones that run at once",
                        seen.most_held,
                        writers.len(),
                        if apart.is_empty() {
                            String::new()
                        } else {
                            format!(" ({} of them not among those held together)", apart.len())
                        }
                    ),
                    expected: format!(
                        "{} child processes that each print their lines, alive at once",
                        run.children
                    ),
                    got: format!("{} child processes wrote the lines", writers.len()),
                    hint,
                },
            );
        }
    }
    if held {
        return Check::pass(NAME);
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
                "only {} of {} child processes were alive at the same time{why}",
                seen.most_held, run.children
            ),
            expected: format!("{} child processes alive at once", run.children),
            got: format!("at most {} at once", seen.most_held),
            hint,
        },
    )
}

fn nothing_left(seen: &Observation) -> Check {
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
