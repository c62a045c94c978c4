//! A wrong Q7: the main process puts the items while the producer idles.
//! The consumer takes them out of a queue the producer holds too, but the
//! producer put nothing in.

use common::{Process, Queue};

fn producer(_q: Queue<Option<u32>>) {}

fn consumer(q: Queue<Option<u32>>) {
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
    for item in 1..=10 {
        q.put(&Some(item))?;
    }
    q.put(&None)?;
    p.join()?;
    c.join()?;
    println!("Done.");
    Ok(())
}
