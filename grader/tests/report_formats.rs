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
            .all(|t| t["status"] == "pass" && t["task_id"] == 6),
        "q6 is task 6, its place in the registry: {exercism}"
    );
}

#[test]
fn a_failing_submission_scores_per_check() {
    let (code, classroom, exercism) = grade_json("wrong_q6_threads");
    assert_eq!(code, Some(1));
    assert_eq!(classroom["status"], "fail");
    let tests = classroom["tests"].as_array().expect("tests");
    let failed: Vec<&Value> = tests.iter().filter(|t| t["status"] == "fail").collect();
    assert_eq!(
        failed.len(),
        3,
        "output (written by the main process), processes and concurrency: {classroom}"
    );
    assert!(
        failed.iter().all(
            |t| t["score"] == 0.0 && t["message"].as_str().is_some_and(|m| m.contains("hint:"))
        )
    );
    let earned = sum(&classroom["tests"], "score");
    assert!(
        (earned - 4.0).abs() < 1e-9,
        "2 of 5 checks of 10 points: {earned}"
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

/// Runs the grader on the binary of `fixture` as q6 with `args` after the
/// usual ones; returns its output.
fn grader_on(fixture: &str, args: &[&str]) -> std::process::Output {
    let path = crate::binaries().get(fixture).expect("built");
    Command::cargo_bin("grader")
        .expect("the grader is built")
        .arg("--binary")
        .arg(path)
        .args(["--exercise", "q6"])
        .args(args)
        .output()
        .expect("runs")
}

/// What Classroom's grading reporter (classroom-resources/
/// autograding-grading-reporter, `src/`) does with the variables a step
/// appended to `$GITHUB_ENV`, in the same floating-point arithmetic: for
/// each runner in `runners`, decode `<RUNNER>_RESULTS` from base64 as
/// JSON; its console total is, per runner, the share of tests passed times
/// `max_score` (`getTestScore`); what it records is the sum of the tests'
/// `score`s over runners whose `max_score` is not 0 (`NotifyClassroom`).
pub(crate) struct Reported {
    pub(crate) console: f64,
    pub(crate) recorded: f64,
    pub(crate) max: f64,
    pub(crate) results: Vec<Value>,
}

pub(crate) fn reporter(github_env: &str) -> Reported {
    use base64::Engine as _;
    let vars: std::collections::BTreeMap<&str, &str> = github_env
        .lines()
        .map(|l| l.split_once('=').expect("NAME=value"))
        .collect();
    let runners = vars
        .get(grader::formats::RUNNERS_ENV)
        .expect("the runners' names");
    let (mut console, mut recorded, mut max) = (0.0, 0.0, 0.0);
    let mut all = Vec::new();
    for runner in runners.split(',') {
        assert!(
            !runner.is_empty() && runner.chars().all(|c| c.is_ascii_alphanumeric()),
            "the reporter wants letters and digits: {runner:?}"
        );
        let encoded = vars
            .get(format!("{}_RESULTS", runner.trim().to_uppercase()).as_str())
            .unwrap_or_else(|| panic!("{runner}'s results"));
        let json = base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .expect("base64");
        let results: Value = serde_json::from_slice(&json).expect("JSON");
        let tests = results["tests"].as_array().expect("tests");
        let runner_max = results["max_score"].as_f64().expect("a max_score");
        let passed = tests.iter().filter(|t| t["status"] == "pass").count();
        console += passed as f64 / tests.len() as f64 * runner_max;
        if runner_max != 0.0 {
            max += runner_max;
            for test in tests {
                recorded += test["score"].as_f64().expect("a score");
            }
        }
        all.push(results);
    }
    Reported {
        console,
        recorded,
        max,
        results: all,
    }
}

/// `--format github` as the workflow runs it: lines for `$GITHUB_ENV`,
/// read back as Classroom's reporter reads them; its console total is
/// the points it records, which are the report's.
#[test]
fn github_env_reads_as_the_reporter_reads_it() {
    let output = grader_on("wrong_q6_threads", &["--format", "github"]);
    assert_eq!(output.status.code(), Some(0), "the reporter must still run");
    let stdout = String::from_utf8(output.stdout).expect("utf-8");
    let reported = reporter(&stdout);
    assert_eq!(reported.results.len(), 5, "a runner per check");
    assert_eq!(reported.recorded, 4.0, "2 of 5 checks of 2 points");
    assert_eq!(reported.console, reported.recorded);
    assert_eq!(reported.max, 10.0);
    assert!(reported.results.iter().any(|r| r["status"] == "fail"));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("FAIL  processes"),
        "the report goes to the log: {stderr}"
    );
}

/// Whole-number shares always add up to the exercise's points, even when
/// the checks do not divide them (q3: 14 checks for 10 points).
#[test]
fn shares_add_up_exactly_whatever_the_count() {
    let exercise = grader::exercises::find("q3").expect("q3");
    let binary = crate::binaries().get(exercise.package).expect("built");
    let report = grader::grade_exercise(exercise, binary).expect("graded");
    let allotted = report.allotted();
    assert!(allotted.len() > 10, "more checks than points");
    assert_eq!(
        allotted.iter().map(|a| a.points).sum::<grader::Points>(),
        10
    );
    assert!(allotted.iter().all(|a| a.points > grader::Points::ZERO));
    assert_eq!(report.score(), 10);
}

#[test]
fn gradescope_results_follow_its_specification() {
    let out = tempfile::tempdir().expect("temp dir");
    let dir = out.path().join("made/on/demand");
    let output = grader_on(
        "wrong_q6_threads",
        &[
            "--format",
            "gradescope",
            "--out",
            dir.to_str().expect("utf-8"),
        ],
    );
    assert_eq!(output.status.code(), Some(1));
    let results: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("results.json")).expect("written into a new --out"),
    )
    .expect("JSON");
    assert_eq!(results["score"], 4);
    assert!(results["execution_time"].as_f64().is_some());
    assert!(
        results["output"]
            .as_str()
            .is_some_and(|o| o.contains("total 4/10"))
    );
    let tests = results["tests"].as_array().expect("tests");
    assert_eq!(tests.len(), 5);
    for test in tests {
        for key in [
            "name",
            "score",
            "max_score",
            "status",
            "output",
            "visibility",
        ] {
            assert!(!test[key].is_null(), "{key} in {test}");
        }
        assert!(matches!(test["status"].as_str(), Some("passed" | "failed")));
        assert_eq!(test["visibility"], "visible", "q6 has no hidden run");
    }
    let failed = tests
        .iter()
        .find(|t| t["status"] == "failed")
        .expect("one failed");
    let text = failed["output"].as_str().expect("text");
    assert!(text.contains("expected:") && text.contains("got:") && text.contains("hint:"));
}

#[test]
fn hidden_runs_are_shown_after_publication() {
    let exercise = grader::exercises::find("q5").expect("q5");
    let binary = crate::binaries().get(exercise.package).expect("built");
    let report = grader::Report {
        exercises: vec![grader::grade_exercise(exercise, binary).expect("graded")],
        unused: Vec::new(),
        built: Vec::new(),
    };
    let results = serde_json::to_value(grader::formats::gradescope(
        &report,
        std::time::Duration::ZERO,
    ))
    .expect("JSON");
    let visibility: Vec<&str> = results["tests"]
        .as_array()
        .expect("tests")
        .iter()
        .map(|t| t["visibility"].as_str().expect("visibility"))
        .collect();
    assert!(visibility.contains(&"after_published"), "{visibility:?}");
    assert!(visibility.contains(&"visible"), "{visibility:?}");
}

/// An --out that cannot be written: one clear line, and the report is
/// still printed.
#[test]
fn an_unwritable_out_is_one_line_and_the_report_still_prints() {
    let out = tempfile::NamedTempFile::new().expect("a file, not a directory");
    let output = grader_on(
        "q6-four-processes",
        &[
            "--format",
            "json",
            "--out",
            out.path().to_str().expect("utf-8"),
        ],
    );
    assert_eq!(output.status.code(), Some(2));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("total 10/10"), "{stdout}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.starts_with("grader: could not create"), "{stderr}");
}

/// Exercism's specification: when nothing builds, status `error` with the
/// compiler's first error.
#[test]
fn exercism_says_error_when_nothing_builds() {
    let dir = tempfile::tempdir().expect("temp dir");
    let src = dir.path().join("q6-four-processes/src");
    std::fs::create_dir_all(&src).expect("mkdir");
    std::fs::write(src.join("main.rs"), "fn main() { oops }\n").expect("write");
    let out = dir.path().join("out");
    let output = Command::cargo_bin("grader")
        .expect("the grader is built")
        .args(["--exercise", "q6", "--format", "json", "--out"])
        .arg(&out)
        .arg(dir.path())
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(1));
    let results: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("results.json")).expect("read"))
            .expect("JSON");
    assert_eq!(results["status"], "error");
    assert!(
        results["message"]
            .as_str()
            .is_some_and(|m| m.contains("error[E0425]")),
        "{results}"
    );
}

/// Text no JSON written by hand with `sed` survives: quotes, backslashes,
/// newlines, a tab, a carriage return, an escape sequence, a bell, a NUL.
const NASTY: &str = "said \"quoted\" and 'single'\nback\\slash \\\" \\n\ttab\rreturn \u{1b}[2J bell\u{7} nul\u{0} end";

/// Reads `dir/results.json` as Gradescope does: it must be JSON.
fn gradescope_results(dir: &std::path::Path) -> Value {
    let text = std::fs::read_to_string(dir.join("results.json")).expect("results.json");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}):\n{text}"))
}

/// `grader gradescope-error`, which run_autograder calls when the grader
/// wrote no results: the log's last lines, whatever bytes they hold, reach
/// Gradescope's `output` intact, control characters shown as escapes.
#[test]
fn a_failed_grading_is_reported_to_gradescope_whatever_its_log_says() {
    let dir = tempfile::tempdir().expect("temp dir");
    let log = dir.path().join("report.txt");
    std::fs::write(&log, format!("an early line\n{NASTY}\n")).expect("write");
    let out = dir.path().join("results");
    let output = Command::cargo_bin("grader")
        .expect("the grader is built")
        .args(["gradescope-error", "--exit-code", "101", "--log"])
        .arg(&log)
        .arg("--out")
        .arg(&out)
        .output()
        .expect("runs");
    assert!(output.status.success(), "{output:?}");
    let results = gradescope_results(&out);
    assert_eq!(results["score"], 0);
    assert_eq!(results["tests"], serde_json::json!([]));
    let shown = results["output"].as_str().expect("output");
    let expected = format!(
        "the grader could not run (exit 101):\nan early line\n{}",
        NASTY
            .replace('\r', "\\r")
            .replace('\u{1b}', "\\x1b")
            .replace('\u{7}', "\\x07")
            .replace('\u{0}', "\\x00")
    );
    assert_eq!(shown, expected);
}

/// The grader's own failure to grade (here: a path that is no workspace,
/// named with the same characters) is written to results.json by the
/// grader itself, so run_autograder has nothing to escape.
#[test]
fn a_grading_that_cannot_start_writes_gradescope_results_saying_why() {
    let dir = tempfile::tempdir().expect("temp dir");
    let name = "no \"workspace\" \\ here\n\u{1b}[2J\u{7}";
    let output = Command::cargo_bin("grader")
        .expect("the grader is built")
        .args(["--whole", "--format", "gradescope", "--out"])
        .arg(dir.path())
        .arg(dir.path().join(name))
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    let results = gradescope_results(dir.path());
    assert_eq!(results["score"], 0);
    let shown = results["output"].as_str().expect("output");
    assert!(
        shown.contains("no \"workspace\" \\ here\n\\x1b[2J\\x07"),
        "{shown:?}"
    );
    assert!(shown.contains("is not a workspace to grade"), "{shown:?}");
}

/// run_autograder where the grader dies without writing results (a `cargo`
/// on PATH that says odd things and fails): the results come from
/// `grader gradescope-error`; and where even that cannot run, from a fixed
/// line with the exit code. Either way they are JSON.
#[test]
fn run_autograder_writes_json_when_the_grader_cannot_run() {
    use std::os::unix::fs::PermissionsExt;
    let grader = assert_cmd::cargo::cargo_bin("grader");
    for grader_runs in [true, false] {
        let root = tempfile::tempdir().expect("temp dir");
        let source = root.path().join("source");
        let bin = root.path().join("bin");
        for dir in [&source, &root.path().join("submission"), &bin] {
            std::fs::create_dir_all(dir).expect("mkdir");
        }
        let script = source.join("run_autograder");
        std::fs::write(&script, grader::author::gradescope::RUN_AUTOGRADER).expect("write");
        // `cargo run -q -p grader -- ARGS`: the grading fails, saying odd
        // things; the error writer is the real grader, or fails too.
        let shim = format!(
            "#!/bin/sh\ncase \"$*\" in\n  *gradescope-error*) {};;\n  *) printf '%s\\n' '{}'; exit 7;;\nesac\n",
            if grader_runs {
                format!("shift 5; exec '{}' \"$@\"", grader.display())
            } else {
                "exit 9".to_owned()
            },
            // A shell argument holds no NUL.
            NASTY.replace('\0', "").replace('\'', "'\\''")
        );
        std::fs::write(bin.join("cargo"), shim).expect("write");
        std::fs::set_permissions(bin.join("cargo"), std::fs::Permissions::from_mode(0o755))
            .expect("chmod");
        let path = format!(
            "{}:{}",
            bin.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let run = std::process::Command::new("bash")
            .arg(&script)
            .env("AUTOGRADER_ROOT", root.path())
            .env("HOME", root.path())
            .env("PATH", path)
            .output()
            .expect("bash runs");
        assert!(run.status.success(), "{run:?}");
        let results = gradescope_results(&root.path().join("results"));
        assert_eq!(results["score"], 0, "{results}");
        let shown = results["output"].as_str().expect("output");
        if grader_runs {
            assert!(
                shown.starts_with("the grader could not run (exit 7):\n"),
                "{shown:?}"
            );
            assert!(shown.contains("said \"quoted\" and 'single'"), "{shown:?}");
            assert!(shown.contains("back\\slash \\\" \\n"), "{shown:?}");
        } else {
            assert!(shown.contains("(exit 7)"), "{shown:?}");
        }
    }
}

/// Every string in `json`, with where it is.
fn strings(json: &Value, at: &str, into: &mut Vec<(String, String)>) {
    match json {
        Value::String(s) => into.push((at.to_owned(), s.clone())),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                strings(item, &format!("{at}[{i}]"), into);
            }
        }
        Value::Object(map) => {
            for (key, item) in map {
                strings(item, &format!("{at}.{key}"), into);
            }
        }
        _ => {}
    }
}

/// What only the hidden run of q5 (`--processes 3 --upto 12`) says.
const HIDDEN_Q5: &[&str] = &["--upto 12", "--processes 3", "121", "144"];

/// No field of `json` names the hidden run's arguments or output, and
/// none holds a path of this machine.
fn assert_nothing_hidden_or_local(file: &str, json: &Value) {
    let mut all = Vec::new();
    strings(json, file, &mut all);
    for (at, text) in all {
        for secret in HIDDEN_Q5 {
            assert!(!text.contains(secret), "{at} shows {secret:?}: {text}");
        }
        assert_eq!(
            grader::redact::machine_paths(&text),
            text,
            "{at} holds a path of this machine"
        );
    }
}

/// A q5 that passes every visible check and fails the hidden run (it
/// never maps past 10): it loses points in the text report and in each
/// platform's file, the same points everywhere, and no platform shows
/// what the hidden run is; the instructor's own report does, in full.
#[test]
fn failing_only_a_hidden_run_costs_points_on_every_platform() {
    let binary = crate::binaries()
        .get("wrong_q5_stops_at_ten")
        .expect("built");
    let dir = tempfile::tempdir().expect("temp dir");
    // Graded with `--format format`, its files in `dir/format`.
    let grade = |format: &str| {
        Command::cargo_bin("grader")
            .expect("the grader is built")
            .arg("--binary")
            .arg(binary)
            .args(["--exercise", "q5", "--format", format, "--out"])
            .arg(dir.path().join(format))
            .output()
            .expect("runs")
    };
    let read = |name: &str| -> Value {
        let text = std::fs::read_to_string(dir.path().join(name)).expect("written");
        serde_json::from_str(&text).expect("JSON")
    };

    // Text, the instructor's own: the hidden run in full, and points lost.
    let text = grade("json");
    assert_eq!(text.status.code(), Some(1));
    let report = String::from_utf8_lossy(&text.stdout);
    let total = report
        .lines()
        .find_map(|l| l.strip_prefix("total "))
        .and_then(|t| t.strip_suffix("/10"))
        .unwrap_or_else(|| panic!("a total:\n{report}"));
    let total: f64 = total.parse().expect("a number");
    assert!(total > 0.0 && total < 10.0, "{report}");
    assert!(report.contains("--processes 3 --upto 12"), "{report}");
    assert!(report.contains("121, 144"), "{report}");
    // A run's block (shown when it failed or has a note) starts with its
    // command line; no visible run's block holds a failed check.
    let visible_failures = report
        .split("\n\n")
        .filter(|block| {
            let header = block.lines().next().unwrap_or_default();
            header == "q5: q5-pool" || header.contains("--function double")
        })
        .flat_map(str::lines)
        .filter(|l| l.trim_start().starts_with("FAIL"))
        .count();
    assert_eq!(visible_failures, 0, "only the hidden run fails:\n{report}");

    // GitHub Classroom's result file, and Exercism's.
    let classroom = read("json/autograding.json");
    let earned: f64 = classroom["tests"]
        .as_array()
        .expect("tests")
        .iter()
        .map(|t| t["score"].as_f64().expect("a score"))
        .sum();
    assert_eq!(earned, total, "{classroom}");
    assert_eq!(classroom["max_score"], 10);
    assert_eq!(classroom["status"], "fail");
    assert_nothing_hidden_or_local("autograding.json", &classroom);
    let exercism = read("json/results.json");
    assert_eq!(exercism["status"], "fail");
    let hidden_failed: Vec<&Value> = exercism["tests"]
        .as_array()
        .expect("tests")
        .iter()
        .filter(|t| t["status"] == "fail")
        .collect();
    assert!(!hidden_failed.is_empty());
    for test in &hidden_failed {
        assert!(
            test["name"]
                .as_str()
                .is_some_and(|n| n.starts_with("q5: hidden run 1 / ")),
            "{test}"
        );
        assert!(
            test["message"]
                .as_str()
                .is_some_and(|m| m.starts_with(grader::redact::HIDDEN_FAILURE)),
            "{test}"
        );
    }
    assert_nothing_hidden_or_local("results.json (Exercism)", &exercism);

    // Gradescope: the same score; the hidden tests shown after publication.
    let graded = grade("gradescope");
    assert_eq!(graded.status.code(), Some(1));
    let gradescope = read("gradescope/results.json");
    assert_eq!(gradescope["score"].as_f64(), Some(total), "{gradescope}");
    let tests = gradescope["tests"].as_array().expect("tests");
    let max: f64 = tests
        .iter()
        .map(|t| t["max_score"].as_f64().expect("a max"))
        .sum();
    assert_eq!(max, 10.0);
    for test in tests.iter().filter(|t| t["status"] == "failed") {
        assert_eq!(test["visibility"], "after_published", "{test}");
        assert_eq!(test["score"], 0, "{test}");
    }
    assert_nothing_hidden_or_local("results.json (Gradescope)", &gradescope);

    // The workflow's variables, as Classroom's reporter reads them.
    let github = grade("github");
    assert_eq!(github.status.code(), Some(0));
    let reported = reporter(&String::from_utf8_lossy(&github.stdout));
    assert_eq!(reported.recorded, total);
    assert_eq!(reported.console, total);
    assert_eq!(reported.max, 10.0);
    for (i, result) in reported.results.iter().enumerate() {
        assert_nothing_hidden_or_local(&format!("runner {i}"), result);
    }
    let log = String::from_utf8_lossy(&github.stderr);
    for secret in HIDDEN_Q5 {
        assert!(!log.contains(secret), "the log shows {secret:?}:\n{log}");
    }
    assert!(log.contains(grader::redact::HIDDEN_FAILURE), "{log}");
}
