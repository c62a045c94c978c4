//! A class graded from what the students wrote: copies of the handout with
//! the reference's solutions, one of them tampered with outside its
//! exercises, one wrong, graded together while `CARGO_TARGET_DIR` and each
//! copy's `.cargo/config.toml` point every build at one shared directory.

use std::path::Path;

use assert_cmd::Command;

/// A student's copy: the handout with the reference's `src/` of every
/// exercise.
fn solved_copy(dir: &Path) {
    let handout = grader::author::handout::files(&crate::workspace()).expect("the handout");
    for file in handout {
        let path = dir.join(&file.path);
        std::fs::create_dir_all(path.parent().expect("a directory")).expect("mkdir");
        std::fs::write(&path, &file.text).expect("write");
    }
    for exercise in grader::EXERCISES {
        let src = crate::workspace().join(exercise.package).join("src");
        for entry in std::fs::read_dir(&src).expect("src").flatten() {
            std::fs::copy(
                entry.path(),
                dir.join(exercise.package)
                    .join("src")
                    .join(entry.file_name()),
            )
            .expect("copy");
        }
    }
}

#[test]
fn each_verdict_comes_from_that_submission_alone() {
    let class = tempfile::tempdir().expect("temp dir");
    // The workspace's own target directory: every build of every copy is
    // sent there, where the reference's binaries are.
    let shared = cargo_metadata::MetadataCommand::new()
        .manifest_path(crate::workspace().join("Cargo.toml"))
        // A relative CARGO_TARGET_DIR is taken from the workspace's root.
        .current_dir(crate::workspace())
        .no_deps()
        .exec()
        .expect("cargo metadata")
        .target_directory
        .into_std_path_buf();
    let (right, tampered, wrong) = (
        class.path().join("right"),
        class.path().join("tampered"),
        class.path().join("wrong"),
    );
    for copy in [&right, &tampered, &wrong] {
        solved_copy(copy);
        std::fs::create_dir_all(copy.join(".cargo")).expect("mkdir");
        std::fs::write(
            copy.join(".cargo/config.toml"),
            format!("[build]\ntarget-dir = {:?}\n", shared.display().to_string()),
        )
        .expect("write");
    }
    // Tampering outside the exercises: a common whose Process never runs
    // its target, a registry that expects nothing, a build script that
    // leaves a mark.
    std::fs::write(
        tampered.join("common/src/lib.rs"),
        "compile_error!(\"a tampered common\");\n",
    )
    .expect("write");
    std::fs::write(
        tampered.join("grader/src/exercises.rs"),
        "// nothing expected\n",
    )
    .expect("write");
    // The workflow edited to report whatever the student likes.
    std::fs::write(
        tampered.join(".github/workflows/classroom.yml"),
        "on: push\njobs: {}\n",
    )
    .expect("write");
    let mark = class.path().join("build-script-ran");
    std::fs::write(
        tampered.join("q6-four-processes/build.rs"),
        format!(
            "fn main() {{ std::fs::write({:?}, \"\").unwrap(); }}\n",
            mark.display().to_string()
        ),
    )
    .expect("write");
    // A wrong q6: threads instead of processes.
    std::fs::copy(
        crate::workspace().join("grader/examples/wrong_q6_threads.rs"),
        wrong.join("q6-four-processes/src/main.rs"),
    )
    .expect("copy");

    let out = class.path().join("marks");
    // A temporary directory of its own, so that what other tests leave in
    // the shared one while they run is not counted below.
    let temp = class.path().join("tmp");
    std::fs::create_dir(&temp).expect("mkdir");
    let mut grader = Command::cargo_bin("grader").expect("the grader is built");
    grader
        .env("TMPDIR", &temp)
        .env("CARGO_TARGET_DIR", &shared)
        .env("CARGO_BUILD_TARGET_DIR", &shared);
    crate::grade_q6_class(grader, &out, &[&right, &tampered, &wrong]);
    let report = |name: &str| crate::class_report(&out, name);
    assert!(
        report("right").contains("total 10/10"),
        "{}",
        report("right")
    );
    let tampered_report = report("tampered");
    assert!(tampered_report.contains("total 10/10"), "{tampered_report}");
    for file in [
        "common/src/lib.rs",
        "grader/src/exercises.rs",
        "q6-four-processes/build.rs",
        ".cargo/config.toml",
        ".github/workflows/classroom.yml",
    ] {
        assert!(
            tampered_report.contains(file),
            "{file} is listed as not used:\n{tampered_report}"
        );
    }
    assert!(
        tampered_report.contains("changed outside the exercises, not used"),
        "{tampered_report}"
    );
    assert!(
        tampered_report.contains("a GitHub workflow was changed"),
        "{tampered_report}"
    );
    assert!(!report("right").contains("workflow"), "{}", report("right"));
    assert!(!mark.exists(), "the submission's build script ran");
    let wrong_report = report("wrong");
    assert!(
        wrong_report.contains("the main process created 4 threads"),
        "{wrong_report}"
    );
    for copy in [&right, &tampered, &wrong] {
        assert!(
            !copy.join("target").exists(),
            "nothing is built inside a submission"
        );
    }
    let leftover = std::fs::read_dir(&temp)
        .expect("temp")
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("grader-submission-")
        })
        .count();
    assert_eq!(
        leftover, 0,
        "each submission's binaries are removed once graded"
    );
}

/// An untouched copy of the handout: its gradebook row says what its
/// report says, the `todo!` it reached, not how the program exited.
#[test]
fn an_untouched_copy_says_todo_in_its_row_as_in_its_report() {
    let class = tempfile::tempdir().expect("temp dir");
    let untouched = class.path().join("untouched");
    for file in grader::author::handout::files(&crate::workspace()).expect("the handout") {
        let path = untouched.join(&file.path);
        std::fs::create_dir_all(path.parent().expect("a directory")).expect("mkdir");
        std::fs::write(&path, &file.text).expect("write");
    }
    let out = class.path().join("marks");
    let output = Command::cargo_bin("grader")
        .expect("the grader is built")
        .args(["--exercise", "q6", "--jobs", "1", "--out"])
        .arg(&out)
        .arg(&untouched)
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let report = std::fs::read_to_string(out.join("untouched/report.txt")).expect("a report");
    let row = report
        .lines()
        .find(|l| l.starts_with("q6    = q6-four-processes"))
        .unwrap_or_else(|| panic!("a row for q6:\n{report}"));
    let todo = row
        .split("TODO  ")
        .nth(1)
        .unwrap_or_else(|| panic!("TODO: {row}"));
    let mut gradebook = csv::Reader::from_path(out.join("summary.csv")).expect("summary.csv");
    let headers = gradebook.headers().expect("headers").clone();
    let detail = headers
        .iter()
        .position(|h| h == "detail")
        .expect("a detail column");
    let record = gradebook
        .records()
        .next()
        .expect("a row")
        .expect("a record");
    assert_eq!(&record[detail], format!("q6: TODO {todo}"), "{report}");
    assert!(!record[detail].contains("exited with code"), "{record:?}");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).expect("read"))
            .expect("JSON");
    assert_eq!(json[0]["detail"], format!("q6: TODO {todo}"));
}
