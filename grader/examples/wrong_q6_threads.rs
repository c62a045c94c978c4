//! A wrong Q6: threads instead of processes. The output is right; the
//! grader must still fail it on `processes` and `concurrency`.

fn main() {
    let threads: Vec<_> = (1..=4)
        .map(|number| std::thread::spawn(move || println!("Process {number}: Printing {number}")))
        .collect();
    for thread in threads {
        thread.join().expect("the thread ran");
    }
    println!("All processes have completed.");
}
