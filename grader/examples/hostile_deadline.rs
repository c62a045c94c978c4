//! A hostile Q6 that keeps the grader busy instead of finishing, to stretch
//! its deadline (the argument says how):
//!
//! - `threads`: 32 threads and the main thread write to descriptor 1,
//!   turned into `/dev/null`, without end: a stream of calls the grader
//!   must look at;
//! - `tiny-writes`: a million one-byte writes to stdout, then the work;
//! - `stop-signals`: four children and the main process stop themselves
//!   and each other (`SIGSTOP`, `SIGTSTP`) without end.
//!
//! Whatever it does, the verdict must come when the grader stops it at the
//! run's timeout (`grader/tests/timing.rs` says by when a test holds it).

use std::io::Write;

use common::Process;
use nix::sys::signal::{Signal, kill, raise};
use nix::unistd::Pid;

fn threads() -> ! {
    let null = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/null")
        .expect("/dev/null");
    nix::unistd::dup2_stdout(&null).expect("dup2");
    // A thread the kernel refuses is not one of the flood: the others and
    // the main thread write all the same, so the run lasts until its
    // deadline however many threads it got. (Under the run's 1 GiB
    // address-space cap, glibc gives each new thread's first allocation
    // an arena of its own, 64 MiB reserved, up to eight per CPU; how many
    // exist before the last threads are made depends on timing, and a
    // thread once failed to be made, EAGAIN, under load.)
    for _ in 0..32 {
        let _ = std::thread::Builder::new()
            .stack_size(64 * 1024)
            .spawn(write_without_end);
    }
    write_without_end()
}

fn write_without_end() -> ! {
    loop {
        let _ = nix::unistd::write(std::io::stdout(), b"x");
    }
}

fn tiny_writes() -> common::Result<()> {
    let stdout = std::io::stdout();
    for _ in 0..1_000_000 {
        let _ = nix::unistd::write(&stdout, b".");
    }
    let mut processes: Vec<Process> = (1..=4)
        .map(|n: u32| Process::with_args(|n: u32| println!("Process {n}: Printing {n}"), n))
        .collect();
    for process in &mut processes {
        process.start()?;
    }
    for process in &processes {
        process.join()?;
    }
    println!("All processes have completed.");
    Ok(())
}

fn stop_signals() -> common::Result<()> {
    let mut processes: Vec<Process> = (0..4)
        .map(|_| {
            Process::new(|| {
                loop {
                    let _ = raise(Signal::SIGSTOP);
                    let _ = kill(Pid::parent(), Signal::SIGTSTP);
                }
            })
        })
        .collect();
    for process in &mut processes {
        process.start()?;
    }
    loop {
        let _ = raise(Signal::SIGTSTP);
        for process in &processes {
            if let Some(pid) = process.pid() {
                let pid = i32::try_from(pid).expect("a pid");
                let _ = kill(Pid::from_raw(pid), Signal::SIGSTOP);
            }
        }
        let _ = std::io::stdout().flush();
    }
}

fn main() -> common::Result<()> {
    match std::env::args().nth(1).unwrap_or_default().as_str() {
        "threads" => threads(),
        "tiny-writes" => tiny_writes(),
        "stop-signals" => stop_signals(),
        other => panic!("unknown mode {other:?}"),
    }
}
