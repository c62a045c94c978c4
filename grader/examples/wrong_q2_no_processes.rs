//! A wrong Q2: prints the facts a correct run reports, without running a
//! single experiment. The kernel saw no process, so the grader fails it.

fn main() {
    println!(
        r#"{{
  "memory": {{"child_saw": 42, "parent_after_child": 0, "parent_after_thread": 42}},
  "crash": {{"child_abort_exitcode": -6, "child_segfault_exitcode": -11,
             "thread_abort_exitcode": -6, "thread_panic_contained": true}},
  "cost": {{"iterations": 10, "process_us": 150.0, "thread_us": 20.0}},
  "communication": {{"through_pipe": 12345, "through_shared_memory": 12345}}
}}"#
    );
}
