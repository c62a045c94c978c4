//! A wrong Q10: threads meeting at a `std::sync::Barrier`, not processes.

use std::sync::{Arc, Barrier};
use std::thread;

fn main() {
    let barrier = Arc::new(Barrier::new(4));
    let threads: Vec<_> = (0..4)
        .map(|i| {
            let barrier = Arc::clone(&barrier);
            thread::spawn(move || {
                println!("Worker {i} phase 1");
                barrier.wait();
                println!("Worker {i} phase 2");
            })
        })
        .collect();
    for thread in threads {
        thread.join().expect("a thread ends");
    }
    println!("All phases done.");
}
