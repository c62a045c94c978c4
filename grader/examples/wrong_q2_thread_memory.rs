//! A wrong Q2: the memory experiment runs its "child" as a thread, so the
//! parent sees the change. It creates the other processes properly.

use std::sync::atomic::{AtomicU64, Ordering};

use common::Process;

static VALUE: AtomicU64 = AtomicU64::new(0);

fn exitcode(target: fn()) -> Option<i32> {
    let mut process = Process::new(target);
    process.start().ok()?;
    process.join().ok()?;
    process.exitcode()
}

fn main() {
    let mut children = Vec::new();
    // The cost and crash experiments' processes, so that the count is right.
    for _ in 0..14 {
        children.push(exitcode(|| {}));
    }
    let abort = exitcode(|| std::process::abort());
    std::thread::spawn(|| VALUE.store(42, Ordering::SeqCst))
        .join()
        .expect("stored");
    let seen = VALUE.load(Ordering::SeqCst);
    println!(
        r#"{{
  "memory": {{"child_saw": 42, "parent_after_child": {seen}, "parent_after_thread": 42}},
  "crash": {{"child_abort_exitcode": {}, "child_segfault_exitcode": -11,
             "thread_abort_exitcode": -6, "thread_panic_contained": true}},
  "cost": {{"iterations": 10, "process_us": 150.0, "thread_us": 20.0}},
  "communication": {{"through_pipe": 12345, "through_shared_memory": 12345}}
}}"#,
        abort.unwrap_or(0)
    );
}
