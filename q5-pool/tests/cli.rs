//! The binary's command line, run as a user would.

use assert_cmd::Command;
use predicates::prelude::*;

fn q5() -> Command {
    Command::cargo_bin("q5-pool").expect("the binary is built")
}

#[test]
fn default_output_is_seed_000s() {
    q5().assert()
        .success()
        .stdout("[1, 4, 9, 16, 25, 36, 49, 64, 81, 100]\n");
}

#[test]
fn double_up_to_five_is_seed_001s() {
    q5().args(["--function", "double", "--upto", "5"])
        .assert()
        .success()
        .stdout("[2, 4, 6, 8, 10]\n");
}

#[test]
fn results_keep_input_order_with_any_pool_size() {
    let expected: Vec<i64> = (1..=200).map(|n| n * n).collect();
    for processes in ["1", "3", "7"] {
        q5().args(["--processes", processes, "--upto", "200"])
            .assert()
            .success()
            .stdout(format!("{expected:?}\n"));
    }
}

#[test]
fn a_pool_of_zero_is_a_usage_error() {
    q5().args(["--processes", "0"])
        .assert()
        .code(2)
        .stderr(predicate::str::starts_with(
            "error: invalid value '0' for '--processes <N>'",
        ));
}

#[test]
fn a_range_too_large_is_a_usage_error() {
    q5().args(["--upto", "10000001"])
        .assert()
        .code(2)
        .stderr(predicate::str::starts_with(
            "error: invalid value '10000001' for '--upto <N>'",
        ));
}

#[test]
fn an_unknown_function_is_a_usage_error() {
    q5().args(["--function", "cube"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("cube"));
}
