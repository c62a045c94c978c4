//! Q7. A producer process puts the numbers 1 to 10 on a queue, then `None`
//! to say it is done; a consumer process takes items off the queue until
//! it gets `None`, printing each. The parent starts both, joins both, and
//! prints `Done.`
//!
//! The Python original (the same output under `fork`, `spawn` and
//! `forkserver`):
//!
//! ```python
//! import multiprocessing as mp
//!
//! def producer(q):
//!     for item in range(1, 11):
//!         q.put(item)
//!     q.put(None)
//!
//! def consumer(q):
//!     while True:
//!         item = q.get()
//!         if item is None:
//!             break
//!         print(f"Consumed {item}")
//!
//! if __name__ == "__main__":
//!     q = mp.Queue()
//!     p = mp.Process(target=producer, args=(q,))
//!     c = mp.Process(target=consumer, args=(q,))
//!     p.start()
//!     c.start()
//!     p.join()
//!     c.join()
//!     print("Done.")
//! ```
//!
//! ```text
//! Consumed 1
//! Consumed 2
//! ...
//! Consumed 10
//! Done.
//! ```
//!
//! The items reach the consumer in the order the producer put them, so
//! the `Consumed` lines are always in order; `Done.` comes last, after
//! both are joined. The grader checks from the kernel that each number the
//! consumer prints is one it took out of a queue it shares with another
//! process (see the grader's `data` check), so counting to ten without the
//! queue does not pass.

use std::process::ExitCode;

use clap::Parser;
// BEGIN SOLUTION
use common::{Process, Queue};
// END SOLUTION

/// A producer and a consumer process passing numbers through a queue.
#[derive(Parser)]
#[command(version, about)]
struct Args {}

// BEGIN SOLUTION
// Put the numbers 1 to 10 on the queue, then None to say there is no more
fn producer(q: Queue<Option<u32>>) {
    for item in 1..=10 {
        q.put(&Some(item)).expect("the queue takes the item");
    }
    q.put(&None).expect("the queue takes the end mark");
}

// Take items off the queue until None, printing each
fn consumer(q: Queue<Option<u32>>) {
    while let Some(item) = q.get().expect("an item from the queue") {
        println!("Consumed {item}");
    }
}
// END SOLUTION

fn run() -> common::Result<()> {
    // BEGIN SOLUTION
    // STUB: todo!("make a Queue; start a producer Process that puts Some(1) to Some(10) then None, and a consumer Process that gets until None, printing `Consumed N` for each; join both, then print `Done.`")
    let q = Queue::new()?;
    let mut p = Process::with_args(producer, q.clone());
    let mut c = Process::with_args(consumer, q.clone());
    p.start()?;
    c.start()?;
    p.join()?;
    c.join()?;
    println!("Done.");
    Ok(())
    // END SOLUTION
}

fn main() -> ExitCode {
    Args::parse();
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("q7-producer-consumer: {error}");
            ExitCode::from(error.exit_code())
        }
    }
}
