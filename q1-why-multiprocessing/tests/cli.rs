//! The binary's command line, run as a user would. Timings are printed, never
//! asserted: only the facts that do not depend on the machine's load are.

use assert_cmd::Command;
use predicates::prelude::*;

fn q1() -> Command {
    Command::cargo_bin("q1-why-multiprocessing").expect("the binary is built")
}

#[test]
fn the_table_names_every_method_and_the_cores() {
    q1().args(["--bound", "5000", "--workers", "2"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "counting primes below 5000 (669 primes)",
        ))
        .stdout(predicate::str::contains("sequential").and(predicate::str::contains("processes")))
        .stdout(predicate::str::contains("threads"))
        .stdout(predicate::str::contains("no GIL"));
}

#[test]
fn json_has_every_method_with_the_same_count() {
    let output = q1()
        .args(["--bound", "5000", "--workers", "3", "--json"])
        .output()
        .expect("runs");
    assert!(output.status.success());
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    let timings = json["timings"].as_array().expect("timings");
    assert_eq!(timings.len(), 3);
    assert!(timings.iter().all(|t| t["primes"] == 669), "{json}");
    assert_eq!(json["worker_pids"].as_array().map(Vec::len), Some(3));
}

#[test]
fn a_bound_below_two_is_a_usage_error() {
    q1().args(["--bound", "1"])
        .assert()
        .code(2)
        .stderr(predicate::str::starts_with(
            "error: invalid value '1' for '--bound <BOUND>'",
        ));
}
