//! A wrong Q7: the parent takes the items and prints them itself; the
//! consumer process does nothing.

use common::{Process, Queue};

fn producer(q: Queue<Option<u32>>) {
    for item in 1..=10 {
        q.put(&Some(item)).expect("the queue takes the item");
    }
    q.put(&None).expect("the queue takes the end mark");
}

fn consumer(_q: Queue<Option<u32>>) {}

fn main() -> common::Result<()> {
    let q = Queue::new()?;
    let mut p = Process::with_args(producer, q.try_clone()?);
    let mut c = Process::with_args(consumer, q.try_clone()?);
    p.start()?;
    c.start()?;
    while let Some(item) = q.get()? {
        println!("Consumed {item}");
    }
    p.join()?;
    c.join()?;
    println!("Done.");
    Ok(())
}
