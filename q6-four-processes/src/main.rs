//! Q6. Write a program to create 4 processes, each process should print a
//! different number using the multiprocessing module.
//!
//! Ports seed 001's answer, which starts one `multiprocessing.Process` per
//! number in `[1, 2, 3, 4]`, joins them all, then reports:
//!
//! ```text
//! Process 1: Printing 1
//! Process 2: Printing 2
//! Process 3: Printing 3
//! Process 4: Printing 4
//! All processes have completed.
//! ```
//!
//! The four `Process n` lines come in whatever order the processes run;
//! `All processes have completed.` always comes last, because the parent
//! prints it only after joining every child.

use std::process::ExitCode;

use clap::Parser;
// BEGIN SOLUTION
use common::Process;
// END SOLUTION

/// Four processes, each printing a different number.
#[derive(Parser)]
#[command(version, about)]
struct Args {}

// BEGIN SOLUTION
// Function to print a number
fn print_number(number: u32) {
    println!("Process {number}: Printing {number}");
}
// END SOLUTION

fn run() -> common::Result<()> {
    // BEGIN SOLUTION
    // STUB: todo!("create a Process per number 1 to 4, each printing `Process n: Printing n`; start each, join each, then print `All processes have completed.`")
    // Create a list of numbers to be printed
    let numbers = [1, 2, 3, 4];

    // Create four processes
    let mut processes = Vec::new();
    for number in numbers {
        let process = Process::with_args(print_number, number);
        processes.push(process);
    }

    // Start each process
    for process in &mut processes {
        process.start()?;
    }

    // Wait for each process to complete
    for process in &processes {
        process.join()?;
    }

    println!("All processes have completed.");
    Ok(())
    // END SOLUTION
}

fn main() -> ExitCode {
    Args::parse();
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("q6-four-processes: {error}");
            ExitCode::from(error.exit_code())
        }
    }
}
