//! A hostile Q6 that keeps the grader busy instead of finishing, to stretch
//! its deadline (the argument says how):
//!
//! - `threads`: 32 threads write to descriptor 1, turned into `/dev/null`,
//!   without end: a stream of calls the grader must look at;
//! - `tiny-writes`: a million one-byte writes to stdout, then the work;
//! - `stop-signals`: four children and the main process stop themselves
//!   and each other (`SIGSTOP`, `SIGTSTP`) without end.
//!
//! Whatever it does, the verdict must come by the run's timeout plus 2 s.

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
    for _ in 0..32 {
        std::thread::spawn(|| {
            loop {
                let _ = nix::unistd::write(std::io::stdout(), b"x");
            }
        });
    }
    loop {
        std::thread::park();
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
