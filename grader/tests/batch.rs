//! Grading a class at once: a good submission, one that does not compile,
//! one without its exercise's package and a directory that is no workspace,
//! graded two at a time; the summaries read back as a spreadsheet would.

use std::path::Path;

use assert_cmd::Command;

/// Writes a submission into `dir` whose exercise `package` has `main` as
/// its `src/main.rs`, laid out as the handout is.
fn tiny_submission(dir: &Path, package: &str, main: &str) {
    std::fs::create_dir_all(dir.join(package).join("src")).expect("mkdir");
    std::fs::write(dir.join(package).join("src/main.rs"), main).expect("write");
}

/// Writes a one-package workspace into `dir` whose `src/main.rs` is `main`,
/// to be graded `--whole`.
fn tiny_workspace(dir: &Path, package: &str, main: &str) {
    std::fs::create_dir_all(dir.join("src")).expect("mkdir");
    let manifest = format!(
        "[package]\nname = \"{package}\"\nversion = \"0.1.0\"\nedition = \"2024\"\n\n[workspace]\n"
    );
    std::fs::write(dir.join("Cargo.toml"), manifest).expect("write");
    std::fs::write(dir.join("src/main.rs"), main).expect("write");
}

#[test]
fn a_class_is_graded_with_a_verdict_for_each_submission() {
    let class = tempfile::tempdir().expect("temp dir");
    let broken = class.path().join("bob");
    tiny_submission(
        &broken,
        "q6-four-processes",
        "fn main() {\n    let n: u32 = \"four\";\n}\n",
    );
    let elsewhere = class.path().join("carol");
    tiny_submission(&elsewhere, "q5-pool", "fn main() {}\n");
    let empty = class.path().join("dave");
    std::fs::create_dir(&empty).expect("mkdir");
    let out = class.path().join("out");

    let output = Command::cargo_bin("grader")
        .expect("the grader is built")
        .args(["--exercise", "q6", "--jobs", "2", "--out"])
        .arg(&out)
        .arg(crate::workspace())
        .args([&broken, &elsewhere, &empty])
        .output()
        .expect("runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "some failed:\n{stdout}");

    let mut csv = csv::Reader::from_path(out.join("summary.csv")).expect("summary.csv");
    let rows: Vec<csv::StringRecord> = csv.records().map(|r| r.expect("a row")).collect();
    let header = csv.headers().expect("a header").clone();
    let column = |name: &str| header.iter().position(|h| h == name).expect(name);
    let row = |submission: &str| {
        rows.iter()
            .find(|r| &r[column("submission")] == submission)
            .unwrap_or_else(|| panic!("a row for {submission}:\n{stdout}"))
    };
    // This workspace's row is named after its directory, whatever that is.
    let ours = crate::workspace();
    let ours = ours.file_name().expect("a name").to_string_lossy();
    let main = row(&ours);
    assert_eq!(&main[column("verdict")], "pass");
    assert_eq!(&main[column("score")], &main[column("possible")]);
    let bob = row("bob");
    assert_eq!(&bob[column("verdict")], "build failed");
    assert_eq!(&bob[column("score")], "0");
    assert!(
        bob[column("detail")].contains("error[E0308]: mismatched types"),
        "the compiler's first error: {:?}",
        &bob[column("detail")]
    );
    assert_eq!(&row("carol")[column("verdict")], "error");
    assert!(row("carol")[column("detail")].contains("is not a submission"));
    assert_eq!(&row("dave")[column("verdict")], "error");
    assert!(row("dave")[column("detail")].contains("is not a submission"));

    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).expect("read"))
            .expect("JSON");
    let verdicts: std::collections::BTreeMap<&str, &str> = json
        .as_array()
        .expect("one entry per submission")
        .iter()
        .map(|s| {
            (
                s["submission"].as_str().expect("a name"),
                s["verdict"].as_str().expect("a verdict"),
            )
        })
        .collect();
    assert_eq!(
        verdicts,
        [
            ("bob", "build failed"),
            ("carol", "error"),
            ("dave", "error"),
            (ours.as_ref(), "pass"),
        ]
        .into_iter()
        .collect()
    );
    // A column per exercise graded, and each check's points in the JSON.
    assert_eq!(&main[column("q6")], "10");
    assert_eq!(&bob[column("q6")], "0");
    let ours_json = json
        .as_array()
        .expect("rows")
        .iter()
        .find(|r| r["submission"] == ours.as_ref())
        .expect("our row");
    assert_eq!(
        ours_json["exercises"]["q6"]["checks"]["concurrency"],
        serde_json::json!([2, 2])
    );
    let report = std::fs::read_to_string(out.join("bob/report.txt")).expect("bob's report");
    assert!(report.contains("FAIL  build"), "{report}");
}

/// Grading one submission again into a gradebook updates its row and keeps
/// the others.
#[test]
fn regrading_one_submission_updates_its_row_only() {
    let class = tempfile::tempdir().expect("temp dir");
    let out = class.path().join("marks");
    let alice = class.path().join("alice");
    let bob = class.path().join("bob");
    tiny_submission(&alice, "q6-four-processes", "fn main() { oops }\n");
    tiny_submission(&bob, "q6-four-processes", "fn main() { oops }\n");
    let grade = |paths: &[&Path]| {
        Command::cargo_bin("grader")
            .expect("the grader is built")
            .args(["--exercise", "q6", "--jobs", "1", "--out"])
            .arg(&out)
            .args(paths)
            .output()
            .expect("runs")
    };
    grade(&[&alice, &bob]);
    // Alice fixes her program (it prints nothing, so it still fails, but
    // builds now): only her row changes.
    std::fs::write(
        alice.join("q6-four-processes/src/main.rs"),
        "fn main() {}\n",
    )
    .expect("write");
    grade(&[&alice]);
    let rows: Vec<serde_json::Value> =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).expect("read"))
            .expect("JSON");
    let verdict = |name: &str| {
        rows.iter()
            .find(|r| r["submission"] == name)
            .unwrap_or_else(|| panic!("a row for {name}: {rows:?}"))["verdict"]
            .clone()
    };
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_eq!(verdict("alice"), "fail");
    assert_eq!(verdict("bob"), "build failed");
    let csv = std::fs::read_to_string(out.join("summary.csv")).expect("csv");
    assert_eq!(csv.lines().count(), 3, "a header and two rows:\n{csv}");
}

/// Grades the submission at `dir` with `args`, with `env` set; asserts
/// that it failed (exit code 1) and returns the report.
#[track_caller]
fn grade_failing(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> String {
    let output = Command::cargo_bin("grader")
        .expect("the grader is built")
        .envs(env.iter().copied())
        .args(args)
        .arg(dir)
        .output()
        .expect("runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    stdout
}

#[test]
fn one_submission_that_does_not_build_is_a_verdict_not_a_crash() {
    let dir = tempfile::tempdir().expect("temp dir");
    tiny_submission(dir.path(), "q6-four-processes", "fn main() { oops }\n");
    let stdout = grade_failing(dir.path(), &["--exercise", "q6"], &[]);
    let row = |check: &str| {
        stdout
            .lines()
            .find(|l| l.starts_with("q6 ") && l.contains(check))
            .unwrap_or_else(|| panic!("a row for {check}:\n{stdout}"))
            .split_whitespace()
            .rev()
            .take(2)
            .collect::<Vec<_>>()
    };
    assert_eq!(row("= q6-four-processes"), ["FAIL", "0/10"], "{stdout}");
    assert_eq!(row("build"), ["FAIL", "0/10"], "{stdout}");
    assert!(stdout.contains("error[E0425]"), "{stdout}");
}

/// A build script that never ends: the build is stopped at the build
/// timeout, the verdict says so, and no process of the build is left.
#[test]
fn a_build_that_hangs_is_stopped() {
    let dir = tempfile::tempdir().expect("temp dir");
    tiny_workspace(dir.path(), "q6-four-processes", "fn main() {}\n");
    std::fs::write(
        dir.path().join("build.rs"),
        "fn main() { std::thread::sleep(std::time::Duration::from_secs(600)); }\n",
    )
    .expect("write");
    let started = std::time::Instant::now();
    let stdout = grade_failing(
        dir.path(),
        &["--whole", "--exercise", "q6"],
        &[(grader::BUILD_TIMEOUT_ENV, "3")],
    );
    assert!(
        stdout.contains("cargo build did not finish within 3 s"),
        "{stdout}"
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(30));
    let inside = grader::procfs::processes().into_iter().filter(|(pid, _)| {
        std::fs::read_link(format!("/proc/{pid}/exe")).is_ok_and(|exe| exe.starts_with(dir.path()))
    });
    assert_eq!(inside.count(), 0, "the build script was killed");
}

/// With `--keep-going`, an exercise that does not compile costs that
/// exercise only: the others are built and graded, and the broken one's
/// report shows its own first error.
#[test]
fn an_exercise_that_does_not_compile_costs_only_itself() {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path();
    std::fs::write(
        root.join("Cargo.toml"),
        "[workspace]\nmembers = [\"q3-create-process\", \"q6-four-processes\"]\n",
    )
    .expect("write");
    tiny_member(root, "q3-create-process", "fn main() {}\n");
    tiny_member(
        root,
        "q6-four-processes",
        "fn main() { let n: u32 = \"four\"; }\n",
    );
    let stdout = grade_failing(root, &["--exercise", "q3", "--exercise", "q6"], &[]);
    assert!(
        stdout.contains("FAIL  build: the exercise did not compile"),
        "{stdout}"
    );
    assert!(stdout.contains("q6-four-processes/src/main.rs"), "{stdout}");
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("q3 ") && l.contains("exit status")),
        "q3 was run and graded:\n{stdout}"
    );
}

/// Writes package `name` with `main` as its `src/main.rs` under `root`.
fn tiny_member(root: &Path, name: &str, main: &str) {
    let dir = root.join(name);
    std::fs::create_dir_all(dir.join("src")).expect("mkdir");
    let manifest =
        format!("[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2024\"\n");
    std::fs::write(dir.join("Cargo.toml"), manifest).expect("write");
    std::fs::write(dir.join("src/main.rs"), main).expect("write");
}

/// Two workspaces graded whole in one batch, with the same package, the
/// same `main.rs` and build scripts that differ, while `CARGO_TARGET_DIR`
/// points at one directory: each is built in its own `target/`, so each
/// binary prints what its own build script set. (In one target directory
/// cargo would name both build scripts' output alike, and the second
/// workspace would be graded with the first one's.)
#[test]
fn workspaces_graded_whole_never_share_build_artifacts() {
    let class = tempfile::tempdir().expect("temp dir");
    let shared = class.path().join("shared-target");
    let names = ["alice", "bob"];
    for name in names {
        let dir = class.path().join(name);
        tiny_workspace(
            &dir,
            "q6-four-processes",
            "fn main() { println!(\"built by {}\", env!(\"BUILT_BY\")); }\n",
        );
        std::fs::write(
            dir.join("build.rs"),
            format!("fn main() {{ println!(\"cargo:rustc-env=BUILT_BY={name}\"); }}\n"),
        )
        .expect("write");
    }
    let out = class.path().join("marks");
    // Named from the class's directory, as an instructor types them.
    let output = Command::cargo_bin("grader")
        .expect("the grader is built")
        .current_dir(class.path())
        .env("CARGO_TARGET_DIR", &shared)
        .args([
            "--whole",
            "--exercise",
            "q6",
            "--jobs",
            "1",
            "--out",
            "marks",
        ])
        .args(names)
        .output()
        .expect("runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    for name in names {
        let report = std::fs::read_to_string(out.join(name).join("report.txt")).expect("a report");
        assert!(
            report.contains(&format!("built by {name}")),
            "{name} was graded with another's build:\n{report}"
        );
    }
    for name in names {
        assert!(
            class.path().join(name).join("target").is_dir(),
            "{name} was built in its own target/"
        );
    }
}

/// A build script that reaches for the network: the build runs in a
/// network namespace of its own, so the connection the test listens for
/// never comes, and the script's own message says it was refused.
#[test]
fn a_build_has_no_network() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
    listener.set_nonblocking(true).expect("non-blocking");
    let port = listener.local_addr().expect("an address").port();
    let dir = tempfile::tempdir().expect("temp dir");
    tiny_workspace(dir.path(), "q6-four-processes", "fn main() {}\n");
    std::fs::write(
        dir.path().join("build.rs"),
        format!(
            "fn main() {{ match std::net::TcpStream::connect(\"127.0.0.1:{port}\") {{ \
             Ok(_) => panic!(\"network reached\"), Err(e) => panic!(\"network refused: {{e}}\") }} }}\n"
        ),
    )
    .expect("write");
    let stdout = grade_failing(dir.path(), &["--whole", "--exercise", "q6"], &[]);
    assert!(stdout.contains("network refused"), "{stdout}");
    assert!(
        listener.accept().is_err(),
        "the build script connected to the host"
    );
}

/// Submissions named to harm the gradebook (a formula, the gradebook's own
/// file names) and one that prints 4 MiB on one line: the gradebook is
/// written whole, no cell is a formula, and the reports and the cell are
/// capped, saying how much was cut.
#[test]
fn hostile_names_and_floods_keep_the_gradebook_whole() {
    let class = tempfile::tempdir().expect("temp dir");
    let formula = class.path().join("=HYPERLINK(\"evil.invalid\",\"x\")");
    let csv_named = class.path().join("summary.csv");
    let json_named = class.path().join("summary.json");
    let flood = class.path().join("flood");
    for dir in [&formula, &csv_named, &json_named] {
        tiny_submission(dir, "q6-four-processes", "fn main() {}\n");
    }
    tiny_submission(
        &flood,
        "q6-four-processes",
        "fn main() { print!(\"{}\", \"x\".repeat(4 << 20)); }\n",
    );
    let out = class.path().join("out");
    let grader = Command::cargo_bin("grader").expect("the grader is built");
    let stdout = crate::grade_q6_class(grader, &out, &[&formula, &csv_named, &json_named, &flood]);
    assert!(out.join("summary.csv").is_file(), "{stdout}");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).expect("read"))
            .expect("the gradebook's JSON");
    let mut names: Vec<&str> = json
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| r["submission"].as_str().expect("a name"))
        .collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "=HYPERLINK(\"evil.invalid\",\"x\")",
            "flood",
            "summary.csv-2",
            "summary.json-2"
        ]
    );
    assert!(out.join("summary.csv-2/report.txt").is_file());
    assert!(out.join("summary.json-2/report.txt").is_file());
    let mut csv = csv::Reader::from_path(out.join("summary.csv")).expect("summary.csv");
    let header = csv.headers().expect("a header").clone();
    let column = |name: &str| header.iter().position(|h| h == name).expect(name);
    for row in csv.records().map(|r| r.expect("a row")) {
        for cell in row.iter() {
            assert!(
                !cell.starts_with(['=', '+', '-', '@']),
                "a formula in the gradebook: {cell:?}"
            );
        }
        if row[column("submission")].contains("HYPERLINK") {
            assert!(row[column("submission")].starts_with("'="), "{row:?}");
        }
        if &row[column("submission")] == "flood" {
            let detail = &row[column("detail")];
            assert!(detail.len() < 1200, "a capped cell: {} bytes", detail.len());
            assert!(detail.contains("more bytes cut"), "{detail}");
        }
    }
    let report = crate::class_report(&out, "flood");
    assert!(
        report.len() < 200 << 10,
        "a capped report: {} bytes",
        report.len()
    );
    assert!(
        report.contains("more bytes cut; 65536 are shown"),
        "{report:.2000}"
    );
}
