//! A wrong Q11: worker threads and channels, not processes and queues.

use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;

fn main() {
    let (task_tx, task_rx) = mpsc::channel::<Option<u64>>();
    let (result_tx, result_rx) = mpsc::channel::<u64>();
    let task_rx = Arc::new(Mutex::new(task_rx));
    let workers: Vec<_> = (0..2)
        .map(|_| {
            let tasks = Arc::clone(&task_rx);
            let results = result_tx.clone();
            thread::spawn(move || {
                while let Ok(Some(n)) = tasks.lock().expect("the tasks").recv() {
                    results.send(n * n).expect("the parent listens");
                }
            })
        })
        .collect();
    for n in 1..=5u64 {
        task_tx.send(Some(n)).expect("a worker listens");
    }
    let mut squares: Vec<u64> = (0..5)
        .map(|_| result_rx.recv().expect("a square"))
        .collect();
    squares.sort_unstable();
    for square in squares {
        println!("Square: {square}");
    }
    for _ in &workers {
        task_tx.send(None).expect("a worker listens");
    }
    for worker in workers {
        worker.join().expect("a thread ends");
    }
    println!("All tasks done.");
}
