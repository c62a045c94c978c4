//! The registry: every exercise, once, with what a correct solution does.
//!
//! Adding an exercise means adding one entry to [`EXERCISES`]; the test
//! `registry_matches_workspace` fails until the workspace and this list agree.

use std::time::Duration;

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

/// One run of an exercise binary and what it must do.
#[derive(Debug, Clone)]
pub struct Run {
    /// Command-line arguments.
    pub args: Vec<String>,
    /// Lines that child processes print, in any order (they race).
    pub racing: Vec<String>,
    /// Pairs `(a, b)` of lines where `a` must come before `b`.
    pub before: Vec<(String, String)>,
    /// Lines the main process prints after its children, in this order, last.
    pub last: Vec<String>,
    /// How many child processes of the main process must check in.
    pub children: usize,
    /// Whether all those children must be alive at the same time.
    pub concurrent: bool,
    /// Whether the main process must wait for its children (join) before
    /// printing `last`. The grader then holds the children until the main
    /// process is blocked waiting, so printing early is always caught.
    pub parent_waits: bool,
    /// How long the run may take before its process group is killed.
    pub timeout: Duration,
}

impl Run {
    /// A run with `args` whose main process prints `last` and nothing else.
    pub fn new(args: &[&str], last: &[&str]) -> Run {
        Run {
            args: args.iter().map(|&a| a.to_owned()).collect(),
            racing: Vec::new(),
            before: Vec::new(),
            last: last.iter().map(|&l| l.to_owned()).collect(),
            children: 0,
            concurrent: false,
            parent_waits: false,
            timeout: Duration::from_secs(20),
        }
    }

    /// The command line as a student would type it.
    pub fn command_line(&self, package: &str) -> String {
        std::iter::once(package.to_owned())
            .chain(self.args.iter().cloned())
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// Every exercise, in the homework's order.
pub static EXERCISES: &[Exercise] = &[
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
];

/// Finds an exercise by id or package name.
pub fn find(name: &str) -> Option<&'static Exercise> {
    EXERCISES.iter().find(|e| e.id == name || e.package == name)
}

fn q3_runs() -> Vec<Run> {
    let seed_001 = Run {
        racing: vec!["This is a process!".into()],
        children: 1,
        parent_waits: true,
        ..Run::new(&[], &["The process has completed."])
    };
    let workers = 3;
    let seed_000 = Run {
        racing: (0..workers)
            .flat_map(|i| {
                [
                    format!("Worker {i} started"),
                    format!("Worker {i} finished"),
                ]
            })
            .collect(),
        before: (0..workers)
            .map(|i| {
                (
                    format!("Worker {i} started"),
                    format!("Worker {i} finished"),
                )
            })
            .collect(),
        children: workers,
        concurrent: true,
        parent_waits: true,
        ..Run::new(
            &["--workers", "3", "--sleep-ms", "50"],
            &["All processes are done."],
        )
    };
    vec![seed_001, seed_000]
}

fn q5_runs() -> Vec<Run> {
    let seed_000 = Run {
        children: 4,
        concurrent: true,
        ..Run::new(&[], &["[1, 4, 9, 16, 25, 36, 49, 64, 81, 100]"])
    };
    let seed_001 = Run {
        children: 2,
        concurrent: true,
        ..Run::new(
            &["--processes", "2", "--function", "double", "--upto", "5"],
            &["[2, 4, 6, 8, 10]"],
        )
    };
    vec![seed_000, seed_001]
}

fn q6_runs() -> Vec<Run> {
    vec![Run {
        racing: (1..=4)
            .map(|n| format!("Process {n}: Printing {n}"))
            .collect(),
        children: 4,
        concurrent: true,
        parent_waits: true,
        ..Run::new(&[], &["All processes have completed."])
    }]
}
