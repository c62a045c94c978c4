//! An honest Q6 that talks a lot: a million one-byte lines to stderr
//! (one `write` each), then the work, done right, each child also saying
//! on stderr who it is. Grading it must cost little more than running it,
//! give full marks, and account for every byte of stderr by its writer.

use std::io::Write;

use common::Process;

fn main() -> common::Result<()> {
    let mut stderr = std::io::stderr();
    for _ in 0..1_000_000 {
        let _ = stderr.write_all(b"x\n");
    }
    let mut processes: Vec<Process> = (1..=4)
        .map(|n: u32| {
            Process::with_args(
                |n: u32| {
                    eprintln!("child {n}");
                    println!("Process {n}: Printing {n}");
                },
                n,
            )
        })
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
