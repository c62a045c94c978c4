//! The binary's command line, run as a user would.

use assert_cmd::Command;
use predicates::prelude::*;

fn q4() -> Command {
    Command::cargo_bin("q4-why-pool").expect("the binary is built")
}

#[test]
fn the_pool_reuses_its_workers() {
    q4().args(["--tasks", "30", "--workers", "3"])
        .assert()
        .success()
        .stdout(predicate::str::contains("30 (one per task)"))
        .stdout(predicate::str::contains("reused: the pool's workers"));
}

#[test]
fn zero_workers_is_a_usage_error() {
    q4().args(["--workers", "0"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--workers"));
}
