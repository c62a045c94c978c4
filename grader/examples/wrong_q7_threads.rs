//! A wrong Q7: the producer and the consumer are threads of the main
//! process, not processes.

use common::Queue;

fn main() -> common::Result<()> {
    let q: Queue<Option<u32>> = Queue::new()?;
    let into = q.try_clone()?;
    let producer = std::thread::spawn(move || {
        for item in 1..=10 {
            into.put(&Some(item)).expect("the queue takes the item");
        }
        into.put(&None).expect("the queue takes the end mark");
    });
    let consumer = std::thread::spawn(move || {
        while let Some(item) = q.get().expect("an item") {
            println!("Consumed {item}");
        }
    });
    producer.join().expect("the producer ends");
    consumer.join().expect("the consumer ends");
    println!("Done.");
    Ok(())
}
