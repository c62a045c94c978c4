//! The binary's command line, run as a user would.

use assert_cmd::Command;
use predicates::prelude::*;

#[test]
fn four_numbered_lines_then_the_final_line() {
    let output = Command::cargo_bin("q6-four-processes")
        .expect("the binary is built")
        .output()
        .expect("runs");
    assert!(output.status.success());
    let text = String::from_utf8(output.stdout).expect("utf-8");
    let mut lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.pop(), Some("All processes have completed."), "{text}");
    lines.sort_unstable();
    assert_eq!(
        lines,
        (1..=4)
            .map(|n| format!("Process {n}: Printing {n}"))
            .collect::<Vec<_>>()
    );
}

#[test]
fn arguments_are_refused() {
    Command::cargo_bin("q6-four-processes")
        .expect("the binary is built")
        .arg("5")
        .assert()
        .code(2)
        .stderr(predicate::str::starts_with(
            "error: unexpected argument '5' found",
        ));
}
