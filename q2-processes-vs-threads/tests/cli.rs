//! The binary's command line, run as a user would.

use assert_cmd::Command;
use predicates::prelude::*;

fn q2() -> Command {
    Command::cargo_bin("q2-processes-vs-threads").expect("the binary is built")
}

#[test]
fn the_table_states_each_difference() {
    q2().args(["--iterations", "3"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "a child process set the value to 42; the parent still sees 0",
        ))
        .stdout(predicate::str::contains(
            "a thread set the value to 42; the parent sees 42",
        ))
        .stdout(predicate::str::contains(
            "a child that aborted ended with exit code -6",
        ))
        .stdout(predicate::str::contains(
            "segmentation fault ended with exit code -11",
        ))
        .stdout(predicate::str::contains(
            "took its whole process down (exit code -6)",
        ))
        .stdout(predicate::str::contains(
            "through a pipe from a child: 12345",
        ));
}

#[test]
fn the_panicking_thread_prints_nothing() {
    q2().args(["--iterations", "1"])
        .assert()
        .success()
        .stderr("");
}

#[test]
fn zero_iterations_is_a_usage_error() {
    q2().args(["--iterations", "0"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--iterations"));
}
