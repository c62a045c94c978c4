//! A wrong Q7: the consumer fills the shared queue itself and then takes
//! its own values out; the producer does nothing. What it prints was taken
//! out of a queue another process holds, but the consumer put it in.

use common::{Process, Queue};

fn producer(_q: Queue<Option<u32>>) {}

fn consumer(q: Queue<Option<u32>>) {
    for item in 1..=10 {
        q.put(&Some(item)).expect("the queue takes the item");
    }
    q.put(&None).expect("the queue takes the end mark");
    while let Some(item) = q.get().expect("an item") {
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
