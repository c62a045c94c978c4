//! A wrong Q7: the consumer makes a queue of its own, fills it and empties
//! it; nothing the producer puts reaches it. The output is exactly right,
//! and the consumer does take every number it prints out of a queue.

use common::{Process, Queue};

fn producer(q: Queue<Option<u32>>) {
    for item in 1..=10 {
        q.put(&Some(item)).expect("the queue takes the item");
    }
    q.put(&None).expect("the queue takes the end mark");
}

fn consumer(_q: Queue<Option<u32>>) {
    let own = Queue::new().expect("a queue");
    for item in 1..=10 {
        own.put(&Some(item)).expect("the queue takes the item");
    }
    own.put(&None).expect("the queue takes the end mark");
    while let Some(item) = own.get().expect("an item") {
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
