//! The JSON reports, read back as the classroom tools read them.

use assert_cmd::Command;
use serde_json::Value;

/// Grades `binary` as q6 with `--format json`; returns the exit code and the
/// two files.
fn grade_json(binary: &str) -> (Option<i32>, Value, Value) {
    let out = tempfile::tempdir().expect("temp dir");
    let path = crate::binaries().get(binary).expect("built");
    let output = Command::cargo_bin("grader")
        .expect("the grader is built")
        .arg("--binary")
        .arg(path)
        .args(["--exercise", "q6", "--format", "json", "--out"])
        .arg(out.path())
        .output()
        .expect("runs");
    let read = |name: &str| -> Value {
        let text = std::fs::read_to_string(out.path().join(name)).expect("written");
        serde_json::from_str(&text).expect("JSON")
    };
    (
        output.status.code(),
        read("autograding.json"),
        read("results.json"),
    )
}

fn sum(tests: &Value, key: &str) -> f64 {
    tests
        .as_array()
        .expect("tests")
        .iter()
        .map(|t| t[key].as_f64().expect("a number"))
        .sum()
}

#[test]
fn a_passing_submission_scores_full_marks() {
    let (code, classroom, exercism) = grade_json("q6-four-processes");
    assert_eq!(code, Some(0));
    assert_eq!(classroom["version"], 1);
    assert_eq!(classroom["status"], "pass");
    assert_eq!(classroom["max_score"], 10);
    assert!(
        (sum(&classroom["tests"], "score") - 10.0).abs() < 1e-9,
        "{classroom}"
    );
    assert_eq!(exercism["version"], 3);
    assert_eq!(exercism["status"], "pass");
    assert!(
        exercism["tests"]
            .as_array()
            .expect("tests")
            .iter()
            .all(|t| t["status"] == "pass" && t["task_id"] == 1)
    );
}

#[test]
fn a_failing_submission_scores_per_check() {
    let (code, classroom, exercism) = grade_json("wrong_q6_threads");
    assert_eq!(code, Some(1));
    assert_eq!(classroom["status"], "fail");
    let tests = classroom["tests"].as_array().expect("tests");
    let failed: Vec<&Value> = tests.iter().filter(|t| t["status"] == "fail").collect();
    assert_eq!(failed.len(), 2, "processes and concurrency: {classroom}");
    assert!(
        failed.iter().all(
            |t| t["score"] == 0.0 && t["message"].as_str().is_some_and(|m| m.contains("hint:"))
        )
    );
    let earned = sum(&classroom["tests"], "score");
    assert!(
        (earned - 6.0).abs() < 1e-9,
        "3 of 5 checks of 10 points: {earned}"
    );
    assert!((sum(&classroom["tests"], "max_score") - 10.0).abs() < 1e-9);
    assert_eq!(exercism["status"], "fail");
    let names: Vec<&str> = exercism["tests"]
        .as_array()
        .expect("tests")
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    assert!(
        names.contains(&"q6: q6-four-processes / processes"),
        "{names:?}"
    );
}
