//! The handout checked end to end, as rustlings' `dev check` checks its
//! exercises: regions balanced, no solution given away, a handout that
//! builds without a warning and starts red, the student's watch loop, the
//! reference's sources giving full marks in a fresh handout, and
//! Gradescope's `run_autograder` in a fake `/autograder`.
//!
//! Handout builds go to a target directory of their own under this test's
//! temporary space, so they never replace the workspace's own binaries.

use std::io::{Read, Write};
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::process::{Child, Command as Std, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use assert_cmd::Command;
use grader::author::handout::{self, regions};

/// Where handout builds go: shared by the steps of this file.
fn target_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("handout-target")
}

/// The grader binary run on `workspace` with `args`, building into the
/// handout's target directory.
fn grader(args: &[&str]) -> Command {
    let mut command = Command::cargo_bin("grader").expect("the grader is built");
    command.env("CARGO_TARGET_DIR", target_dir()).args(args);
    command
}

#[test]
fn every_exercise_has_balanced_solution_regions() {
    let files = handout::files(&crate::workspace()).unwrap_or_else(|e| panic!("{e}"));
    for exercise in grader::EXERCISES {
        let main = Path::new(exercise.package).join("src/main.rs");
        let file = files
            .iter()
            .find(|f| f.path == main)
            .unwrap_or_else(|| panic!("{} is in the handout", main.display()));
        assert!(
            !file.solution.is_empty(),
            "{}: no BEGIN SOLUTION region, so the handout would give the answer",
            main.display()
        );
    }
}

/// Of the grader's tests, the handout keeps those that grade the
/// student's work, which the student's `cargo test` runs: the test root
/// with only their modules, the reference check and the registry check.
#[test]
fn the_handout_keeps_only_the_tests_that_grade_the_student() {
    let files = handout::files(&crate::workspace()).unwrap_or_else(|e| panic!("{e}"));
    let tests: Vec<String> = files
        .iter()
        .filter_map(|f| f.path.strip_prefix("grader/tests").ok())
        .map(|p| p.display().to_string())
        .collect();
    assert_eq!(tests, ["reference.rs", "registry.rs", "tests.rs"]);
    let root = files
        .iter()
        .find(|f| f.path == Path::new("grader/tests/tests.rs"))
        .expect("the test root");
    let modules: Vec<&str> = std::str::from_utf8(&root.text)
        .expect("text")
        .lines()
        .filter_map(|l| l.strip_prefix("mod "))
        .collect();
    assert_eq!(modules, ["reference;", "registry;"]);
}

#[test]
fn the_handout_refuses_a_directory_that_is_not_empty() {
    let out = tempfile::tempdir().expect("temp dir");
    std::fs::write(out.path().join("precious"), "keep me").expect("write");
    let output = grader(&["handout"])
        .arg(out.path())
        .arg("--workspace")
        .arg(crate::workspace())
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("is not empty"), "{stderr}");
    assert_eq!(
        std::fs::read_to_string(out.path().join("precious")).expect("kept"),
        "keep me"
    );
}

#[test]
fn a_handout_round_trip() {
    let reference = crate::workspace();
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("handout");
    let written = grader(&["handout"])
        .arg(&out)
        .arg("--workspace")
        .arg(&reference)
        .output()
        .expect("runs");
    assert!(written.status.success(), "{written:?}");

    // Nothing of the solutions, and none of the instructor's material.
    for exercise in grader::EXERCISES {
        let main = Path::new(exercise.package).join("src/main.rs");
        let given = std::fs::read_to_string(out.join(&main)).expect("in the handout");
        let stripped =
            regions::strip(&std::fs::read_to_string(reference.join(&main)).expect("the reference"))
                .expect("balanced");
        // A line the reference also has outside its regions is given on
        // purpose (q2's cost loop starts processes too).
        let also_given = |line: &str| stripped.text.lines().any(|g| g.trim() == line.trim());
        for line in stripped
            .solution
            .iter()
            .filter(|l| regions::telling(l) && !also_given(l))
        {
            assert!(
                !given.lines().any(|g| g.trim() == line.trim()),
                "{} gives away the solution line {line:?}",
                main.display()
            );
        }
        assert!(given.contains("todo!("), "{} has a stub", main.display());
    }
    for left in handout::LEFT_OUT {
        if *left != "README.md" && *left != ".github" {
            assert!(!out.join(left).exists(), "{left} is left out");
        }
    }
    let registry = std::fs::read_to_string(out.join("grader/src/exercises.rs")).expect("read");
    assert!(
        !registry.contains("hidden: true"),
        "no hidden run in the handout"
    );
    let readme = std::fs::read_to_string(out.join("README.md")).expect("a student README");
    assert!(readme.contains("| q6 | `q6-four-processes` |"), "{readme}");
    assert!(!readme.contains("GRADER_BLESS"), "no instructor material");
    assert!(out.join(".github/workflows/classroom.yml").is_file());

    // It builds without a warning.
    let build = Std::new(env!("CARGO"))
        .current_dir(&out)
        .env("CARGO_TARGET_DIR", target_dir())
        .args([
            "build",
            "--workspace",
            "--all-targets",
            "--message-format=short",
        ])
        .output()
        .expect("cargo runs");
    let stderr = String::from_utf8_lossy(&build.stderr);
    assert!(build.status.success(), "the handout builds:\n{stderr}");
    let warnings: Vec<&str> = stderr.lines().filter(|l| l.contains("warning")).collect();
    assert!(
        warnings.is_empty(),
        "the handout builds with warnings:\n{stderr}"
    );

    // Graded as it is, by the handout's own grader as a student runs it: 0
    // everywhere, each exercise `not started` in a line.
    let students_grader = target_dir().join("debug/grader");
    let graded = Std::new(&students_grader)
        .current_dir(&out)
        .env("CARGO_TARGET_DIR", target_dir())
        .output()
        .expect("runs");
    assert_eq!(graded.status.code(), Some(1));
    let report = String::from_utf8_lossy(&graded.stdout);
    assert!(report.contains("total 0/45"), "{report}");
    for exercise in grader::EXERCISES {
        let row = report
            .lines()
            .find(|l| l.starts_with(&format!("{:<5} = {}", exercise.id, exercise.package)))
            .unwrap_or_else(|| panic!("a row for {}:\n{report}", exercise.id));
        assert!(row.contains("TODO  the program reached todo!("), "{row}");
    }
    assert!(!report.contains("panicked"), "no panic trace:\n{report}");
    assert!(
        report.contains("10 hidden checks will also run when your work is graded"),
        "{report}"
    );

    watch_turns_green_when_the_solution_is_saved(&students_grader, &out, &reference);

    // The reference's sources in the handout: full marks.
    for exercise in grader::EXERCISES {
        copy_src(&reference, &out, exercise.package);
    }
    let graded = Std::new(&students_grader)
        .current_dir(&out)
        .env("CARGO_TARGET_DIR", target_dir())
        .output()
        .expect("runs");
    let report = String::from_utf8_lossy(&graded.stdout);
    assert_eq!(graded.status.code(), Some(0), "{report}");
    assert!(report.contains("total 45/45"), "{report}");

    gradescope_grades_the_solved_handout(dir.path(), &reference, &out);
}

/// Copies exercise `package`'s `src/` from `from` into `to`.
fn copy_src(from: &Path, to: &Path, package: &str) {
    let src = from.join(package).join("src");
    for entry in std::fs::read_dir(&src).expect("src") {
        let entry = entry.expect("an entry");
        std::fs::copy(
            entry.path(),
            to.join(package).join("src").join(entry.file_name()),
        )
        .expect("copy");
    }
}

/// `grader watch -e q6` in a pseudo-terminal, read as the screen shows it.
struct Watching {
    child: Child,
    screen: mpsc::Receiver<String>,
    keys: std::fs::File,
}

impl Watching {
    fn start(grader: &Path, handout: &Path) -> Watching {
        let pty = nix::pty::openpty(None, None).expect("a pseudo-terminal");
        let terminal = |fd: &OwnedFd| Stdio::from(fd.try_clone().expect("dup"));
        let child = Std::new(grader)
            .env("CARGO_TARGET_DIR", target_dir())
            .args(["watch", "-e", "q6", "--workspace"])
            .arg(handout)
            .stdin(terminal(&pty.slave))
            .stdout(terminal(&pty.slave))
            .stderr(terminal(&pty.slave))
            .spawn()
            .expect("watch starts");
        drop(pty.slave);
        let (tx, screen) = mpsc::channel::<String>();
        let mut reader = std::fs::File::from(pty.master.try_clone().expect("dup"));
        std::thread::spawn(move || {
            let mut buffer = [0u8; 4096];
            while let Ok(n) = reader.read(&mut buffer) {
                if n == 0
                    || tx
                        .send(String::from_utf8_lossy(&buffer[..n]).into_owned())
                        .is_err()
                {
                    break;
                }
            }
        });
        Watching {
            child,
            screen,
            keys: std::fs::File::from(pty.master),
        }
    }

    /// Reads the screen until `text` shows (two minutes at most).
    fn wait_for(&mut self, text: &str) {
        let deadline = Instant::now() + Duration::from_secs(120);
        let mut seen = String::new();
        while !seen.contains(text) {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.screen.recv_timeout(left) {
                Ok(more) => seen.push_str(&more),
                Err(_) => panic!("watch never showed {text:?}:\n{seen}"),
            }
        }
    }

    /// Waits for the watch to end; asserts it ended cleanly.
    fn ends_cleanly(mut self) {
        self.wait_for("watch: stopped");
        let deadline = Instant::now() + Duration::from_secs(10);
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                break status;
            }
            assert!(Instant::now() < deadline, "watch did not end");
            std::thread::sleep(Duration::from_millis(20));
        };
        assert!(status.success(), "{status:?}");
    }
}

/// The watch loop in a pseudo-terminal: red, then green once q6's solution
/// is saved; `q` ends it cleanly, and so does Ctrl-C (SIGINT).
fn watch_turns_green_when_the_solution_is_saved(grader: &Path, handout: &Path, reference: &Path) {
    let mut watching = Watching::start(grader, handout);
    watching.wait_for("0 of 1 exercises passing");
    copy_src(reference, handout, "q6-four-processes");
    watching.wait_for("1 of 1 exercises passing");
    watching.keys.write_all(b"q").expect("type q");
    watching.ends_cleanly();

    let mut watching = Watching::start(grader, handout);
    watching.wait_for("1 of 1 exercises passing");
    let pid = nix::unistd::Pid::from_raw(i32::try_from(watching.child.id()).expect("a pid"));
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT).expect("Ctrl-C");
    watching.ends_cleanly();
}

/// Gradescope's zip unpacked into a fake `/autograder`, the solved handout
/// as the submission, and `run_autograder` run as Gradescope runs it.
fn gradescope_grades_the_solved_handout(scratch: &Path, reference: &Path, solved: &Path) {
    let zip_path = scratch.join("autograder.zip");
    let made = grader(&["gradescope"])
        .arg(&zip_path)
        .arg("--workspace")
        .arg(reference)
        .output()
        .expect("runs");
    assert!(made.status.success(), "{made:?}");
    let root = scratch.join("autograder");
    let mut zip =
        zip::ZipArchive::new(std::fs::File::open(&zip_path).expect("open")).expect("a zip");
    zip.extract(root.join("source")).expect("unzip");
    for script in ["setup.sh", "run_autograder"] {
        assert!(
            root.join("source").join(script).is_file(),
            "{script} in the zip"
        );
    }
    // A submission as Gradescope stores an upload of the repository.
    let submission = root.join("submission");
    std::fs::create_dir_all(&submission).expect("mkdir");
    for exercise in grader::EXERCISES {
        let dest = submission.join(exercise.package).join("src");
        std::fs::create_dir_all(&dest).expect("mkdir");
        copy_src(solved, &submission, exercise.package);
    }
    let run = Std::new("bash")
        .arg(root.join("source/run_autograder"))
        .env("AUTOGRADER_ROOT", &root)
        .env("CARGO_TARGET_DIR", target_dir())
        .output()
        .expect("bash runs");
    assert!(run.status.success(), "{run:?}");
    let text = std::fs::read_to_string(root.join("results/results.json")).unwrap_or_else(|e| {
        let log = std::fs::read_to_string(root.join("results/report.txt")).unwrap_or_default();
        panic!("no results.json ({e}):\n{log}")
    });
    let results: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    let tests = results["tests"].as_array().expect("tests");
    let max: u64 = tests
        .iter()
        .map(|t| t["max_score"].as_u64().expect("whole"))
        .sum();
    assert_eq!(max, 45, "{results}");
    assert_eq!(results["score"], 45, "{results}");
    assert!(
        tests.iter().any(|t| t["visibility"] == "after_published"),
        "the instructor's grading runs the hidden checks: {results}"
    );
}

/// `grader new` on a copy of this workspace's manifest and registry: the
/// crate is written, the manifest is still TOML with the new member (and
/// its comments), and the registry has the entry whose placeholder fails.
#[test]
fn a_new_exercise_is_added_to_the_manifest_and_the_registry() {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path();
    std::fs::create_dir_all(root.join("grader/src")).expect("mkdir");
    let manifest = std::fs::read_to_string(crate::workspace().join("Cargo.toml")).expect("read");
    std::fs::write(root.join("Cargo.toml"), &manifest).expect("write");
    std::fs::copy(
        crate::workspace().join("grader/src/exercises.rs"),
        root.join("grader/src/exercises.rs"),
    )
    .expect("copy");
    let output = grader(&["new", "q7-shared-memory", "--workspace"])
        .arg(root)
        .output()
        .expect("runs");
    assert!(output.status.success(), "{output:?}");
    let added = std::fs::read_to_string(root.join("Cargo.toml")).expect("read");
    let document: toml_edit::DocumentMut = added.parse().expect("still TOML");
    let members = document["workspace"]["members"]
        .as_array()
        .expect("members");
    assert_eq!(
        members.iter().last().and_then(|m| m.as_str()),
        Some("q7-shared-memory")
    );
    assert!(
        added.contains("# BEGIN INSTRUCTOR"),
        "comments kept:\n{added}"
    );
    assert!(root.join("q7-shared-memory/src/main.rs").is_file());
    let registry = std::fs::read_to_string(root.join("grader/src/exercises.rs")).expect("read");
    assert!(
        registry.contains("package: \"q7-shared-memory\""),
        "{registry}"
    );
    assert!(registry.contains(grader::author::new::PLACEHOLDER));
}
