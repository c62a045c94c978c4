//! A wrong Q7: the consumer prints the number it expects next, then takes
//! an item: what it prints is a guess, not what crossed. The output is
//! exactly right.

use common::{Process, Queue};

fn producer(q: Queue<Option<u32>>) {
    for item in 1..=10 {
        q.put(&Some(item)).expect("the queue takes the item");
    }
    q.put(&None).expect("the queue takes the end mark");
}

fn consumer(q: Queue<Option<u32>>) {
    let mut next = 1;
    loop {
        println!("Consumed {next}");
        if q.get().expect("an item") == Some(10) {
            break;
        }
        next += 1;
    }
    let _ = q.get();
}

fn main() -> common::Result<()> {
    let q = Queue::new()?;
    let mut p = Process::with_args(producer, q.try_clone()?);
    let mut c = Process::with_args(consumer, q.try_clone()?);
    p.start()?;
    c.start()?;
    p.join()?;
    c.join()?;
    println!("Done.");
    Ok(())
}
