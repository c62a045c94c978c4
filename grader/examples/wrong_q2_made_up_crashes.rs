//! A wrong Q2: it creates and joins the fifteen processes the experiments
//! would, but they do nothing; every fact, the crashes' exit codes
//! included, is typed in as the seeds claim it.

use common::Process;

fn main() {
    for _ in 0..15 {
        let mut process = Process::new(|| {});
        process.start().expect("started");
        process.join().expect("joined");
    }
    println!(
        r#"{{
  "memory": {{"child_saw": 42, "parent_after_child": 0, "parent_after_thread": 42}},
  "crash": {{"child_abort_exitcode": -6, "child_segfault_exitcode": -11,
             "thread_abort_exitcode": -6, "thread_panic_contained": true}},
  "cost": {{"iterations": 10, "process_us": 180.0, "thread_us": 25.0}},
  "communication": {{"through_pipe": 12345, "through_shared_memory": 12345}}
}}"#
    );
}
