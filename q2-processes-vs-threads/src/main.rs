//! Q2. What are the differences between multiprocessing and multithreading?
//!
//! The seeds answer with a table: processes have separate memory, threads
//! share it; a crash in one process leaves the others running, a crash in a
//! thread can take its whole process down; a process costs more to create;
//! processes talk through inter-process communication, threads through
//! shared memory. This program runs each row as an experiment and prints
//! what happened:
//!
//! ```text
//! memory         a child process set the value to 42; the parent still sees 0
//!                a thread set the value to 42; the parent sees 42
//! crash          a child that aborted ended with exit code -6; the parent runs on
//!                a child with a segmentation fault ended with exit code -11
//!                a thread that aborted took its whole process down (exit code -6)
//!                a thread that panicked was contained: join returned the panic
//! cost           create+join: process 180 us, thread 25 us (median of 200)
//! communication  through a pipe from a child: 12345; through shared memory: 12345
//! ```
//!
//! The crashing thread runs inside a sacrificial child process, so that the
//! demonstration survives it. A Rust panic that unwinds stays in its thread;
//! an abort or a segmentation fault does not, which is the seeds' point.
//! `--json` prints the same facts for machines.

#[expect(unsafe_code, reason = "restoring SIGSEGV's default action needs it")]
mod os;

use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clap::Parser;
use common::{Connection, Process};
use serde::Serialize;

/// Processes against threads: memory, crashes, cost, communication.
#[derive(Parser)]
#[command(version, about)]
struct Args {
    /// How many processes and threads to create and join to measure the cost.
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    iterations: u32,

    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

/// The value the memory experiment changes.
static VALUE: AtomicU64 = AtomicU64::new(0);

#[derive(Serialize)]
struct Memory {
    /// What the child process saw after setting the value to 42.
    child_saw: u64,
    /// What the parent saw after joining that child.
    parent_after_child: u64,
    /// What the parent saw after joining a thread that set it to 42.
    parent_after_thread: u64,
}

#[derive(Serialize)]
struct Crash {
    /// Exit code of a child process that aborted.
    child_abort_exitcode: Option<i32>,
    /// Exit code of a child process that had a segmentation fault.
    child_segfault_exitcode: Option<i32>,
    /// Exit code of a process one of whose threads aborted.
    thread_abort_exitcode: Option<i32>,
    /// Whether a panicking thread was caught by `join`, its process going on.
    /// (That this parent survived every crash is shown by its printing this.)
    thread_panic_contained: bool,
}

#[derive(Serialize)]
struct Cost {
    iterations: u32,
    /// Median microseconds to create and join a process.
    process_us: f64,
    /// Median microseconds to create and join a thread.
    thread_us: f64,
}

#[derive(Serialize)]
struct Communication {
    /// The value a child process sent through a pipe, as received.
    through_pipe: u64,
    /// The value a thread stored in shared memory, as read.
    through_shared_memory: u64,
}

#[derive(Serialize)]
struct Report {
    memory: Memory,
    crash: Crash,
    cost: Cost,
    communication: Communication,
}

/// The value every experiment sends.
const SENT: u64 = 12345;

/// Runs `target` in a child process, with one end of a pipe, and returns
/// the number it sent back, and its exit code.
fn in_child(target: fn(Connection)) -> common::Result<(Option<u64>, Option<i32>)> {
    // BEGIN SOLUTION
    // STUB: let _ = target;
    // STUB: todo!("make a pipe, start a Process running target with one end, receive a number from the other end (None if the child sent none), join it and return the number with its exitcode")
    let (ours, theirs) = common::pipe()?;
    let mut process = Process::with_args(target, theirs);
    process.start()?;
    // The child holds the only copy of its end, so this sees the pipe close
    // if the child ends without sending anything.
    let received = ours.recv().ok();
    process.join()?;
    Ok((received, process.exitcode()))
    // END SOLUTION
}

fn send(conn: &Connection, value: u64) {
    conn.send(&value).expect("the parent listens");
}

/// The child's side of the memory experiment: change the value, report it.
fn set_value(conn: Connection) {
    VALUE.store(42, Ordering::SeqCst);
    send(&conn, VALUE.load(Ordering::SeqCst));
}

fn abort(_: Connection) {
    std::process::abort();
}

/// A crashing thread, inside a sacrificial child: it sends nothing if the
/// abort takes its main thread down too.
fn abort_in_a_thread(conn: Connection) {
    let _ = std::thread::spawn(|| std::process::abort()).join();
    send(&conn, 1);
}

fn send_the_value(conn: Connection) {
    send(&conn, SENT);
}

/// Ends this process as an invalid memory access would: with SIGSEGV.
fn segfault(_: Connection) {
    os::segfault();
}

fn median(mut samples: Vec<Duration>) -> f64 {
    samples.sort_unstable();
    samples[samples.len() / 2].as_secs_f64() * 1e6
}

/// Everything that forks comes first: once this process has run threads it
/// no longer forks (see `common`'s docs).
fn run(args: &Args) -> common::Result<Report> {
    // Memory, a process: the child changes its own copy.
    let (child_saw, _) = in_child(set_value)?;
    let parent_after_child = VALUE.load(Ordering::SeqCst);

    // Crashes in child processes.
    let (_, child_abort_exitcode) = in_child(abort)?;
    let (_, child_segfault_exitcode) = in_child(segfault)?;
    let (main_thread_went_on, thread_abort_exitcode) = in_child(abort_in_a_thread)?;
    debug_assert!(main_thread_went_on.is_none() || thread_abort_exitcode == Some(0));

    // Cost of a process.
    let mut process_samples = Vec::new();
    for _ in 0..args.iterations {
        let start = Instant::now();
        let mut process = Process::new(|| {});
        process.start()?;
        process.join()?;
        process_samples.push(start.elapsed());
    }

    // Communication through a pipe.
    let (through_pipe, _) = in_child(send_the_value)?;

    // From here on, threads.
    std::thread::spawn(|| VALUE.store(42, Ordering::SeqCst))
        .join()
        .expect("the thread stores a value");
    let parent_after_thread = VALUE.load(Ordering::SeqCst);

    let thread_panic_contained = std::thread::spawn(|| panic!("a thread panics on purpose"))
        .join()
        .is_err();

    let thread_samples = (0..args.iterations)
        .map(|_| {
            let start = Instant::now();
            std::thread::spawn(|| {}).join().expect("an empty thread");
            start.elapsed()
        })
        .collect();

    let shared = Arc::new(Mutex::new(0));
    let writer = Arc::clone(&shared);
    std::thread::spawn(move || *writer.lock().expect("not poisoned") = SENT)
        .join()
        .expect("the thread stores a value");
    let through_shared_memory = *shared.lock().expect("not poisoned");

    Ok(Report {
        memory: Memory {
            child_saw: child_saw.unwrap_or(0),
            parent_after_child,
            parent_after_thread,
        },
        crash: Crash {
            child_abort_exitcode,
            child_segfault_exitcode,
            thread_abort_exitcode,
            thread_panic_contained,
        },
        cost: Cost {
            iterations: args.iterations,
            process_us: median(process_samples),
            thread_us: median(thread_samples),
        },
        communication: Communication {
            through_pipe: through_pipe.unwrap_or(0),
            through_shared_memory,
        },
    })
}

fn code(exitcode: Option<i32>) -> String {
    exitcode.map_or("unknown".to_owned(), |c| c.to_string())
}

fn print_table(r: &Report) {
    let m = &r.memory;
    println!(
        "memory         a child process set the value to {}; the parent still sees {}",
        m.child_saw, m.parent_after_child
    );
    println!(
        "               a thread set the value to 42; the parent sees {}",
        m.parent_after_thread
    );
    let c = &r.crash;
    println!(
        "crash          a child that aborted ended with exit code {}; the parent runs on",
        code(c.child_abort_exitcode)
    );
    println!(
        "               a child with a segmentation fault ended with exit code {}",
        code(c.child_segfault_exitcode)
    );
    let took_down = if c.thread_abort_exitcode == Some(-6) {
        "took its whole process down"
    } else {
        "did NOT take its process down"
    };
    println!(
        "               a thread that aborted {took_down} (exit code {})",
        code(c.thread_abort_exitcode)
    );
    if c.thread_panic_contained {
        println!("               a thread that panicked was contained: join returned the panic");
    }
    println!(
        "cost           create+join: process {:.0} us, thread {:.0} us (median of {})",
        r.cost.process_us, r.cost.thread_us, r.cost.iterations
    );
    println!(
        "communication  through a pipe from a child: {}; through shared memory: {}",
        r.communication.through_pipe, r.communication.through_shared_memory
    );
}

fn main() -> ExitCode {
    let args = Args::parse();
    // The panicking thread is on purpose: keep its message off the terminal.
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if std::thread::current().name() == Some("main") {
            default_hook(info);
        }
    }));
    match run(&args) {
        Ok(report) => {
            if args.json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&report).expect("plain data")
                );
            } else {
                print_table(&report);
            }
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("q2-processes-vs-threads: {error}");
            ExitCode::from(error.exit_code())
        }
    }
}
