//! The registry: every exercise, once, with what a correct solution does.
//!
//! Adding an exercise means adding one entry to [`EXERCISES`]; the test
//! `registry_matches_workspace` fails until the workspace and this list agree.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::error::Error;
pub use crate::expect::{Fact, JsonFacts as Facts, MAIN, Order, Parsed, Pattern, Role, Run};
use crate::trace::{Created, Ending, Events};

/// One exercise of the homework.
#[derive(Debug)]
pub struct Exercise {
    /// Short id, such as `q6`.
    pub id: &'static str,
    /// The Cargo package, whose binary has the same name.
    pub package: &'static str,
    /// Which question of which seed document it ports.
    pub ports: &'static str,
    /// Points for passing every check of every run.
    pub points: u32,
    /// What to look at first when a check fails.
    pub hint: &'static str,
    /// The runs to grade, each with its arguments and expectations.
    pub runs: fn() -> Vec<Run>,
}

/// The pids of the processes that checked in during a run, as the program
/// sees them (inside its PID namespace), which is how it prints them.
pub type CheckedIn = BTreeSet<u64>;

/// Every exercise, in the homework's order.
pub static EXERCISES: &[Exercise] = &[
    Exercise {
        id: "q1",
        package: "q1-why-multiprocessing",
        ports: "Q1 of both seeds, as an experiment: a CPU-bound job sequentially, over processes, over threads",
        points: 5,
        hint: "every method must count the same primes, and the processes must come from a common::Pool",
        runs: q1_runs,
    },
    Exercise {
        id: "q2",
        package: "q2-processes-vs-threads",
        ports: "Q2 of both seeds, as experiments: memory, crashes, cost and communication",
        points: 5,
        hint: "run each experiment in a real child process (common::Process) and report what it saw",
        runs: q2_runs,
    },
    Exercise {
        id: "q3",
        package: "q3-create-process",
        ports: "Q3 of both seeds: create a process, join it, check is_alive",
        points: 10,
        hint: "start the Process, join it, then ask is_alive; with --workers, start every \
               worker before joining any of them",
        runs: q3_runs,
    },
    Exercise {
        id: "q4",
        package: "q4-why-pool",
        ports: "Q4 of both seeds, as an experiment: a process per task against a pool's reused workers",
        points: 5,
        hint: "run one common::Process per task, then the same tasks on one common::Pool",
        runs: q4_runs,
    },
    Exercise {
        id: "q5",
        package: "q5-pool",
        ports: "Q5 of both seeds: a pool of worker processes maps a function over a list",
        points: 10,
        hint: "create a Pool of the requested size and print the result of pool.map",
        runs: q5_runs,
    },
    Exercise {
        id: "q6",
        package: "q6-four-processes",
        ports: "Q6 of seed 001: four processes, each printing a different number",
        points: 10,
        hint: "create the four Processes, start each, join each, and only then print the \
               final line",
        runs: q6_runs,
    },
    Exercise {
        id: "q7",
        package: "q7-producer-consumer",
        ports: "beyond the seeds: a producer and a consumer process pass items through a Queue",
        points: 10,
        hint: "put each item on a common::Queue in the producer and print what get returns in \
               the consumer; start both before joining either, then print `Done.`",
        runs: q7_runs,
    },
    Exercise {
        id: "q8",
        package: "q8-shared-counter",
        ports: "beyond the seeds: processes add to one shared Value under its lock",
        points: 10,
        hint: "give every process the same common::Value and hold its get_lock() across each \
               read and write of it (counter.set(counter.get() + 1)); join them all before \
               printing",
        runs: q8_runs,
    },
    Exercise {
        id: "q9",
        package: "q9-pipe-ping-pong",
        ports: "beyond the seeds: a parent and a child process exchange ping and pong over a Pipe",
        points: 10,
        hint: "make a common::pipe, give one end to the child Process; the parent sends each \
               `ping I` and prints the reply it receives, the child prints each message it \
               receives and sends back `pong I`, both through the pipe",
        runs: q9_runs,
    },
    Exercise {
        id: "q10",
        package: "q10-barrier-phases",
        ports: "beyond the seeds: worker processes meet at a Barrier between two phases",
        points: 10,
        hint: "give every worker the same common::Barrier, made for all of them, and wait on \
               it between the phase 1 line and the phase 2 line; join them all before \
               printing",
        runs: q10_runs,
    },
    Exercise {
        id: "q11",
        package: "q11-task-queue",
        ports: "beyond the seeds: worker processes square numbers from a JoinableQueue onto a \
                result Queue",
        points: 10,
        hint: "have the workers put each square on a common::Queue shared with the parent and \
               call task_done for every get; the parent joins the task queue, gets the squares \
               from that queue, prints them sorted, then puts a None per worker and joins them",
        runs: q11_runs,
    },
];

/// Finds an exercise by id or package name.
pub fn find(name: &str) -> Option<&'static Exercise> {
    EXERCISES.iter().find(|e| e.id == name || e.package == name)
}

/// The exercises named in `only`, or all of them when it is empty.
pub fn chosen(only: &[String]) -> Result<Vec<&'static Exercise>, Error> {
    if only.is_empty() {
        return Ok(EXERCISES.iter().collect());
    }
    only.iter()
        .map(|name| find(name).ok_or_else(|| Error::UnknownExercise(name.clone())))
        .collect()
}

/// Where each exercise is in the registry, from 1 (Exercism's task id).
pub fn position(id: &str) -> Option<usize> {
    EXERCISES.iter().position(|e| e.id == id).map(|i| i + 1)
}

/// What [`withheld`] reads: `id count` lines, written by the handout for
/// its copy of the grader; the instructor's copy withholds nothing.
const WITHHELD: &str = include_str!("../withheld.txt");

/// How many of exercise `id`'s checks this copy of the grader does not
/// have: in a student's handout, the hidden runs' checks.
pub fn withheld(id: &str) -> usize {
    WITHHELD
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once(' '))
        .find(|(exercise, _)| *exercise == id)
        .and_then(|(_, count)| count.trim().parse().ok())
        .unwrap_or(0)
}

/// How many checks the hidden runs of `exercise` make, under one start
/// method: what a handout withholds.
pub fn hidden_checks(exercise: &Exercise) -> usize {
    (exercise.runs)()
        .iter()
        .filter(|r| r.hidden)
        .map(Run::check_count)
        .sum()
}

/// Seed 000's Q3 with `workers` workers sleeping `sleep_ms`: each worker
/// prints its two lines, "started" before "finished", all at once.
fn workers_run(workers: usize, sleep_ms: u32) -> Run {
    let lines = |i: usize| {
        (
            format!("Worker {i} started"),
            format!("Worker {i} finished"),
        )
    };
    Run {
        roles: vec![Role::new(
            "worker",
            (0..workers)
                .map(|i| {
                    let (started, finished) = lines(i);
                    vec![started, finished]
                })
                .collect(),
        )],
        concurrent: true,
        parent_waits: true,
        ..Run::new(
            &[
                "--workers",
                &workers.to_string(),
                "--sleep-ms",
                &sleep_ms.to_string(),
            ],
            &["All processes are done."],
        )
    }
}

fn q3_runs() -> Vec<Run> {
    let seed_001 = Run {
        roles: vec![Role::line_each("child", ["This is a process!".to_owned()])],
        parent_waits: true,
        ..Run::new(&[], &["The process has completed."])
    };
    let seed_000 = workers_run(3, 50);
    // BEGIN HIDDEN
    let more_workers = Run {
        hidden: true,
        ..workers_run(5, 20)
    };
    // END HIDDEN
    let runs = vec![seed_001, seed_000];
    // BEGIN HIDDEN
    let runs = [runs, vec![more_workers]].concat();
    // END HIDDEN
    runs
}

/// Q5's fact: the list printed is what the pool's workers computed.
const MAPPED: Fact = Fact::Returned {
    from: "worker",
    line: "[{}]",
};

fn q5_runs() -> Vec<Run> {
    let seed_000 = Run {
        roles: vec![Role::silent("worker", 4)],
        facts: vec![MAPPED],
        concurrent: true,
        replaceable: true,
        ..Run::new(&[], &["[1, 4, 9, 16, 25, 36, 49, 64, 81, 100]"])
    };
    let seed_001 = Run {
        roles: vec![Role::silent("worker", 2)],
        facts: vec![MAPPED],
        concurrent: true,
        replaceable: true,
        ..Run::new(
            &["--processes", "2", "--function", "double", "--upto", "5"],
            &["[2, 4, 6, 8, 10]"],
        )
    };
    // BEGIN HIDDEN
    let other_size = Run {
        roles: vec![Role::silent("worker", 3)],
        facts: vec![MAPPED],
        concurrent: true,
        replaceable: true,
        hidden: true,
        ..Run::new(
            &["--processes", "3", "--upto", "12"],
            &["[1, 4, 9, 16, 25, 36, 49, 64, 81, 100, 121, 144]"],
        )
    };
    // END HIDDEN
    let runs = vec![seed_000, seed_001];
    // BEGIN HIDDEN
    let runs = [runs, vec![other_size]].concat();
    // END HIDDEN
    runs
}

fn q6_runs() -> Vec<Run> {
    vec![Run {
        roles: vec![Role::line_each(
            "worker",
            (1..=4).map(|n| format!("Process {n}: Printing {n}")),
        )],
        concurrent: true,
        parent_waits: true,
        ..Run::new(&[], &["All processes have completed."])
    }]
}

/// A list of pids in the JSON at `pointer`.
fn pids(json: &Value, pointer: &str) -> BTreeSet<u64> {
    json.pointer(pointer)
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_u64).collect())
        .unwrap_or_default()
}

/// `want` unless `json` has exactly `expected` at `pointer`.
fn expect(problems: &mut Vec<String>, json: &Value, pointer: &str, expected: Value) {
    let got = json.pointer(pointer).cloned().unwrap_or(Value::Null);
    if got != expected {
        problems.push(format!("{pointer} is {got}, expected {expected}"));
    }
}

fn q1_runs() -> Vec<Run> {
    vec![Run::json(
        &["--bound", "20000", "--workers", "2", "--json"],
        // The seed's snippet's pool of 4, then the experiment's of 2.
        6,
        q1_facts,
    )]
}

fn q1_facts(json: &Value, checked_in: &CheckedIn, _: Option<&Events>) -> Vec<String> {
    let mut problems = Vec::new();
    expect(
        &mut problems,
        json,
        "/seed_snippet",
        serde_json::json!([2, 4, 6, 8, 10]),
    );
    let primes = (2..20_000u64)
        .filter(|&n| {
            (2..)
                .take_while(|d| d * d <= n)
                .all(|d| !n.is_multiple_of(d))
        })
        .count();
    let timings = json["timings"].as_array().cloned().unwrap_or_default();
    let methods: Vec<&str> = timings
        .iter()
        .filter_map(|t| t["method"].as_str())
        .collect();
    if methods != ["sequential", "processes", "threads"] {
        problems.push(format!(
            "timings cover {methods:?}, expected sequential, processes and threads"
        ));
    }
    for timing in &timings {
        if timing["primes"].as_u64() != Some(primes as u64) {
            problems.push(format!(
                "{} counted {} primes below 20000, expected {primes}",
                timing["method"], timing["primes"]
            ));
        }
    }
    let workers = pids(json, "/worker_pids");
    if workers.len() != 2 || !workers.is_subset(checked_in) {
        problems.push(format!(
            "worker_pids {workers:?} are not the 2 pool workers the kernel saw {:?}",
            checked_in
        ));
    }
    problems
}

fn q2_runs() -> Vec<Run> {
    // 1 (memory) + 2 (crashing children) + 1 (crashing thread's process)
    // + 10 (cost) + 1 (pipe).
    vec![Run::json(&["--iterations", "10", "--json"], 15, q2_facts)]
}

fn q2_facts(json: &Value, _: &CheckedIn, traced: Option<&Events>) -> Vec<String> {
    let mut problems = traced.map(crashes_seen).unwrap_or_default();
    for (pointer, expected) in [
        ("/memory/child_saw", Value::from(42)),
        ("/memory/parent_after_child", Value::from(0)),
        ("/memory/parent_after_thread", Value::from(42)),
        ("/crash/child_abort_exitcode", Value::from(-6)),
        ("/crash/child_segfault_exitcode", Value::from(-11)),
        ("/crash/thread_abort_exitcode", Value::from(-6)),
        ("/crash/thread_panic_contained", Value::from(true)),
        ("/cost/iterations", Value::from(10)),
        ("/communication/through_pipe", Value::from(12345)),
        ("/communication/through_shared_memory", Value::from(12345)),
    ] {
        expect(&mut problems, json, pointer, expected);
    }
    problems
}

/// What the kernel saw of q2's crash experiments: a process of the run
/// killed by SIGSEGV, one killed by SIGABRT after creating a thread (the
/// thread that aborted), and one more killed by SIGABRT (the child that
/// aborted). The exit codes the report states could be typed in; these
/// endings only come from the experiments.
fn crashes_seen(events: &Events) -> Vec<String> {
    const SIGABRT: i32 = 6;
    const SIGSEGV: i32 = 11;
    let killed_by = |signal: i32| -> Vec<&Created> {
        events
            .processes
            .iter()
            .filter(|p| p.exit == Some(Ending::Signaled(signal)))
            .collect()
    };
    let aborted = killed_by(SIGABRT);
    let threaded = |p: &&Created| events.threads.iter().any(|&(_, of)| of == p.pid);
    let mut problems = Vec::new();
    if killed_by(SIGSEGV).is_empty() {
        problems.push(
            "no process of the run was killed by SIGSEGV (11): the segmentation fault did \
             not happen in a child process"
                .to_owned(),
        );
    }
    if !aborted.iter().any(threaded) {
        problems.push(
            "no process of the run that had created a thread was killed by SIGABRT (6): \
             no thread aborted and took its process down"
                .to_owned(),
        );
    }
    if aborted.len() < 2 {
        let (count, were) = match aborted.len() {
            0 => ("no process", "was"),
            _ => ("only 1 process", "was"),
        };
        problems.push(format!(
            "{count} of the run {were} killed by SIGABRT (6), expected 2: a child that aborts \
             and one whose thread aborts"
        ));
    }
    problems
}

fn q4_runs() -> Vec<Run> {
    // The seed's snippet's pool of 4, 20 processes, one per task, then a
    // pool of 2.
    vec![Run::json(
        &["--tasks", "20", "--workers", "2", "--json"],
        26,
        q4_facts,
    )]
}

fn q4_facts(json: &Value, checked_in: &CheckedIn, _: Option<&Events>) -> Vec<String> {
    let mut problems = Vec::new();
    expect(
        &mut problems,
        json,
        "/seed_snippet",
        serde_json::json!([2, 4, 6, 8, 10]),
    );
    let per_task = pids(json, "/process_per_task/pids");
    let pool = pids(json, "/pool/pids");
    let workers = pids(json, "/pool_workers");
    if per_task.len() != 20 || !per_task.is_subset(checked_in) {
        problems.push(format!(
            "a process per task used {} processes, expected 20 distinct ones the kernel saw",
            per_task.len()
        ));
    }
    if workers.len() != 2 || !workers.is_subset(checked_in) {
        problems.push(format!(
            "pool_workers {workers:?} are not 2 processes the kernel saw"
        ));
    }
    if pool.is_empty() || !pool.is_subset(&workers) {
        problems.push(format!(
            "the pool's tasks ran in {pool:?}, not only in its workers {workers:?}"
        ));
    }
    expect(
        &mut problems,
        json,
        "/process_per_task/results_correct",
        Value::from(true),
    );
    expect(
        &mut problems,
        json,
        "/pool/results_correct",
        Value::from(true),
    );
    problems
}

fn q7_runs() -> Vec<Run> {
    // The program takes no arguments (as Python's takes none), so there is
    // no other run to hide.
    vec![Run {
        roles: vec![
            Role::silent("producer", 1),
            Role::new(
                "consumer",
                vec![(1..=10).map(|item| format!("Consumed {item}")).collect()],
            ),
        ],
        facts: vec![Fact::Put {
            from: "producer",
            to: "consumer",
            line: "Consumed {}",
        }],
        concurrent: true,
        parent_waits: true,
        ..Run::new(&[], &["Done."])
    }]
}

/// Q8's run: `processes` processes adding 1 `increments` times each.
fn counter_run(processes: usize, increments: usize) -> Run {
    Run {
        roles: vec![Role::silent("worker", processes)],
        facts: vec![Fact::Counted {
            line: "Counter: {}",
            updates: processes * increments,
        }],
        concurrent: true,
        parent_waits: true,
        ..Run::new(
            &[
                "--processes",
                &processes.to_string(),
                "--increments",
                &increments.to_string(),
            ],
            &[&format!("Counter: {}", processes * increments)],
        )
    }
}

fn q8_runs() -> Vec<Run> {
    let seed_like = Run {
        args: Vec::new(),
        ..counter_run(4, 1000)
    };
    // BEGIN INSTRUCTOR
    let other_sizes = Run {
        hidden: true,
        ..counter_run(3, 500)
    };
    // END INSTRUCTOR
    let runs = vec![seed_like];
    // BEGIN INSTRUCTOR
    let runs = [runs, vec![other_sizes]].concat();
    // END INSTRUCTOR
    runs
}

fn q9_runs() -> Vec<Run> {
    // The program takes no arguments (as Python's takes none), so there is
    // no other run to hide.
    let ping = |i: u32| format!("Child received: ping {i}");
    let pong = |i: u32| format!("Parent received: pong {i}");
    let conversation: Vec<String> = (0..5).flat_map(|i| [ping(i), pong(i)]).collect();
    vec![Run {
        roles: vec![Role::new("child", vec![(0..5).map(ping).collect()])],
        main: (0..5).map(pong).collect(),
        order: Order::chain(&conversation),
        facts: vec![
            Fact::Received {
                from: MAIN,
                to: "child",
                line: "Child received: {}",
            },
            Fact::Received {
                from: "child",
                to: MAIN,
                line: "Parent received: {}",
            },
        ],
        ..Run::new(&[], &[])
    }]
}

/// Q10's run: `workers` processes printing two phases each around a
/// barrier.
fn barrier_run(workers: usize) -> Run {
    let phase = |n: u32| -> Vec<String> {
        (0..workers)
            .map(|i| format!("Worker {i} phase {n}"))
            .collect()
    };
    Run {
        roles: vec![Role::new(
            "worker",
            phase(1)
                .into_iter()
                .zip(phase(2))
                .map(|(one, two)| vec![one, two])
                .collect(),
        )],
        // No `order` of the phases: the order that came is luck where
        // nothing enforces it; the data check provokes the late worker.
        facts: vec![Fact::Waited {
            before: "Worker {} phase 1",
            after: "Worker {} phase 2",
        }],
        concurrent: true,
        parent_waits: true,
        ..Run::new(&["--workers", &workers.to_string()], &["All phases done."])
    }
}

fn q10_runs() -> Vec<Run> {
    let python_like = Run {
        args: Vec::new(),
        ..barrier_run(4)
    };
    // BEGIN INSTRUCTOR
    let other_size = Run {
        hidden: true,
        ..barrier_run(3)
    };
    // END INSTRUCTOR
    let runs = vec![python_like];
    // BEGIN INSTRUCTOR
    let runs = [runs, vec![other_size]].concat();
    // END INSTRUCTOR
    runs
}

/// Q11's run: `workers` processes squaring the numbers 1 to `tasks`.
fn task_queue_run(workers: usize, tasks: u64) -> Run {
    let squares: Vec<String> = (1..=tasks).map(|n| format!("Square: {}", n * n)).collect();
    Run {
        roles: vec![Role::silent("worker", workers)],
        main: squares,
        // Who put each square in, not only that the parent took it out of
        // a shared queue: the workers may have ended (their end marks
        // sent first) by the time the parent prints.
        facts: vec![Fact::Put {
            from: "worker",
            to: MAIN,
            line: "Square: {}",
        }],
        // The workers are held at their start until all are seen; the
        // parent waits on the task queue then, not in a join, so nothing
        // holds them for that.
        concurrent: true,
        ..Run::new(
            &[
                "--workers",
                &workers.to_string(),
                "--tasks",
                &tasks.to_string(),
            ],
            &["All tasks done."],
        )
    }
}

fn q11_runs() -> Vec<Run> {
    let python_like = Run {
        args: Vec::new(),
        ..task_queue_run(2, 5)
    };
    // BEGIN INSTRUCTOR
    let other_sizes = Run {
        hidden: true,
        ..task_queue_run(3, 8)
    };
    // END INSTRUCTOR
    let runs = vec![python_like];
    // BEGIN INSTRUCTOR
    let runs = [runs, vec![other_sizes]].concat();
    // END INSTRUCTOR
    runs
}
