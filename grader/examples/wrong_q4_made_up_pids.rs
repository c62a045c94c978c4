//! A wrong Q4: runs the tasks in threads and reports pids it made up.

fn main() {
    let per_task: Vec<u32> = (0..20).map(|n| 40_000 + n).collect();
    let squares_ok = std::thread::scope(|s| {
        (0..20u64)
            .map(|n| s.spawn(move || n * n))
            .all(|h| h.join().is_ok())
    });
    println!(
        r#"{{"tasks": 20,
  "process_per_task": {{"tasks_per_second": 3000.0, "pids": {per_task:?}, "results_correct": {squares_ok}}},
  "pool": {{"tasks_per_second": 90000.0, "pids": [50001, 50002], "results_correct": true}},
  "pool_workers": [50001, 50002]}}"#
    );
}
