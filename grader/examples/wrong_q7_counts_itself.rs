//! A wrong Q7: the producer fills the queue, but the consumer never takes
//! anything out of it; it counts from 1 to 10 by itself. The output is
//! exactly right.

use common::{Process, Queue};

fn producer(q: Queue<Option<u32>>) {
    for item in 1..=10 {
        q.put(&Some(item)).expect("the queue takes the item");
    }
    q.put(&None).expect("the queue takes the end mark");
}

fn consumer(_q: Queue<Option<u32>>) {
    for item in 1..=10 {
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
