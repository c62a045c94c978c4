//! A wrong Q7: the producer never puts `None`, so the consumer waits for
//! an eleventh item forever and the parent waits for the consumer: a
//! deadlock the timeout ends, whose report says where each process was.

use common::{Process, Queue};

fn producer(q: Queue<Option<u32>>) {
    for item in 1..=10 {
        q.put(&Some(item)).expect("the queue takes the item");
    }
}

fn consumer(q: Queue<Option<u32>>) {
    while let Some(item) = q.get().expect("an item from the queue") {
        println!("Consumed {item}");
    }
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
