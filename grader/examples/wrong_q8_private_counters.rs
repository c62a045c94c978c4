//! A wrong Q8: each process counts in a number of its own and the parent
//! prints what the total would be; nothing is shared. The output is
//! exactly right.

use common::Process;

fn increment(increments: u32) {
    let mut mine = 0;
    for _ in 0..increments {
        mine += 1;
    }
    std::hint::black_box(mine);
}

fn main() -> common::Result<()> {
    let mut processes = Vec::new();
    for _ in 0..4 {
        processes.push(Process::with_args(increment, 1000));
    }
    for process in &mut processes {
        process.start()?;
    }
    for process in &processes {
        process.join()?;
    }
    println!("Counter: {}", 4 * 1000);
    Ok(())
}
