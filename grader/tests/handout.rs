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
use grader::author::watch;

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

/// Of the grader's tests, the handout keeps the one that grades the
/// student's work, a line per exercise; its manifests make `cargo test`
/// run that alone (not the library's tests, nor the grader's own).
#[test]
fn the_handout_keeps_only_the_test_that_grades_the_student() {
    let files = handout::files(&crate::workspace()).unwrap_or_else(|e| panic!("{e}"));
    let tests: Vec<String> = files
        .iter()
        .filter_map(|f| f.path.strip_prefix("grader/tests").ok())
        .map(|p| p.display().to_string())
        .collect();
    assert_eq!(tests, ["exercises.rs"]);
    let text = |path: &str| {
        let file = files
            .iter()
            .find(|f| f.path == Path::new(path))
            .unwrap_or_else(|| panic!("{path} in the handout"));
        String::from_utf8(file.text.clone()).expect("text")
    };
    let root: toml_edit::DocumentMut = text("Cargo.toml").parse().expect("TOML");
    let default_members = root["workspace"]["default-members"]
        .as_array()
        .expect("default-members");
    assert_eq!(
        default_members
            .iter()
            .filter_map(|m| m.as_str())
            .collect::<Vec<_>>(),
        ["grader"]
    );
    let grader: toml_edit::DocumentMut = text("grader/Cargo.toml").parse().expect("TOML");
    assert_eq!(grader["lib"]["test"].as_bool(), Some(false));
    assert_eq!(grader["lib"]["doctest"].as_bool(), Some(false));
    let targets: Vec<&str> = grader["test"]
        .as_array_of_tables()
        .expect("test targets")
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    assert_eq!(targets, ["exercises"]);
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
    assert!(
        report.contains(&format!("total 0/{}", total_points())),
        "{report}"
    );
    for exercise in grader::EXERCISES {
        let row = report
            .lines()
            .find(|l| l.starts_with(&format!("{:<5} = {}", exercise.id, exercise.package)))
            .unwrap_or_else(|| panic!("a row for {}:\n{report}", exercise.id));
        assert!(row.contains("TODO  the program reached todo!("), "{row}");
    }
    assert!(!report.contains("panicked"), "no panic trace:\n{report}");
    assert!(
        report.contains(&format!(
            "{} hidden checks will also run when your work is graded",
            hidden_checks()
        )),
        "{report}"
    );

    students_cargo_test_is_a_line_per_exercise(&out);
    watch_grades_only_what_changed_and_quits_at_once(&students_grader, &out, &reference);

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
    let total = total_points();
    assert!(
        report.contains(&format!("total {total}/{total}")),
        "{report}"
    );

    let kit = the_gradescope_zip_is_the_kit(dir.path(), &reference);
    gradescope_grades_what_was_handed_in(dir.path(), &kit, &reference, &out);
    classroom_grades_with_the_kit(dir.path(), &kit, &reference, &out);
}

/// `cargo test` in the handout, as a student runs it: a line per
/// exercise, every one graded though the first fails, nothing of the
/// library's tests and no panic of a program on the screen.
fn students_cargo_test_is_a_line_per_exercise(handout: &Path) {
    let tested = Std::new(env!("CARGO"))
        .current_dir(handout)
        .env("CARGO_TARGET_DIR", target_dir())
        .env_remove(common::START_METHOD_ENV)
        .args(["test", "--quiet"])
        .output()
        .expect("cargo runs");
    let stdout = String::from_utf8_lossy(&tested.stdout);
    let stderr = String::from_utf8_lossy(&tested.stderr);
    assert!(
        !tested.status.success(),
        "nothing is written yet:\n{stdout}"
    );
    for exercise in grader::EXERCISES {
        let lines: Vec<&str> = stdout
            .lines()
            .filter(|l| l.starts_with(&format!("{:<4} {} ", exercise.id, exercise.package)))
            .collect();
        assert_eq!(lines.len(), 1, "one line for {}:\n{stdout}", exercise.id);
        assert!(lines[0].contains("TODO  0/"), "{}", lines[0]);
        assert!(lines[0].contains("todo!(\""), "{}", lines[0]);
    }
    assert!(
        stdout.contains(&format!(
            "0 of {} exercises pass, 0/{} points",
            grader::EXERCISES.len(),
            total_points()
        )),
        "{stdout}"
    );
    // libtest's lines (`running 95 tests`, `test result:`) come from no
    // other test; a program's panic never reaches the screen.
    let screen = format!("{stdout}{stderr}");
    for line in screen.lines() {
        assert!(
            !line.starts_with("running ") && !line.starts_with("test result"),
            "another test ran: {line}\n{screen}"
        );
        assert!(!line.contains("panicked"), "{line}\n{screen}");
    }
}

/// The points of every exercise of the registry.
fn total_points() -> u32 {
    grader::EXERCISES.iter().map(|e| e.points).sum()
}

/// The checks the registry's hidden runs make.
fn hidden_checks() -> usize {
    grader::EXERCISES
        .iter()
        .map(grader::exercises::hidden_checks)
        .sum()
}

/// The points of the exercises `ids`.
fn points(ids: &[&str]) -> u32 {
    grader::EXERCISES
        .iter()
        .filter(|e| ids.contains(&e.id))
        .map(|e| e.points)
        .sum()
}

/// The ids of the registry's exercises but `except`, as a list.
fn ids(except: &[&str]) -> String {
    grader::EXERCISES
        .iter()
        .map(|e| e.id)
        .filter(|id| !except.contains(id))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Copies exercise `package`'s `src/` from `from` into `to`.
fn copy_src(from: &Path, to: &Path, package: &str) {
    let src = from.join(package).join("src");
    std::fs::create_dir_all(to.join(package).join("src")).expect("mkdir");
    for entry in std::fs::read_dir(&src).expect("src") {
        let entry = entry.expect("an entry");
        std::fs::copy(
            entry.path(),
            to.join(package).join("src").join(entry.file_name()),
        )
        .expect("copy");
    }
}

/// `grader watch` in a pseudo-terminal, read as the screen shows it.
struct Watching {
    child: Child,
    screen: mpsc::Receiver<String>,
    seen: String,
    keys: std::fs::File,
}

impl Watching {
    fn start(grader: &Path, handout: &Path, args: &[&str]) -> Watching {
        let pty = nix::pty::openpty(None, None).expect("a pseudo-terminal");
        let terminal = |fd: &OwnedFd| Stdio::from(fd.try_clone().expect("dup"));
        let child = Std::new(grader)
            .env("CARGO_TARGET_DIR", target_dir())
            .arg("watch")
            .args(args)
            .arg("--workspace")
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
            seen: String::new(),
            keys: std::fs::File::from(pty.master),
        }
    }

    /// Reads the screen until `text` shows after what was read before (two
    /// minutes at most); returns what came up to it.
    fn wait_for(&mut self, text: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(120);
        while !self.seen.contains(text) {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.screen.recv_timeout(left) {
                Ok(more) => self.seen.push_str(&more),
                Err(_) => panic!("watch never showed {text:?}:\n{}", self.seen),
            }
        }
        let end = self.seen.find(text).expect("shown") + text.len();
        let shown: String = self.seen.drain(..end).collect();
        shown
    }

    /// What the screen shows meanwhile, without waiting.
    fn so_far(&mut self) -> &str {
        while let Ok(more) = self.screen.try_recv() {
            self.seen.push_str(&more);
        }
        &self.seen
    }

    fn pid(&self) -> nix::unistd::Pid {
        nix::unistd::Pid::from_raw(i32::try_from(self.child.id()).expect("a pid"))
    }

    /// CPU time (user and system, in clock ticks) of the watch and of the
    /// gradings it has reaped, from `/proc/PID/stat`.
    fn cpu_ticks(&self) -> u64 {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid())).expect("stat");
        let fields: Vec<&str> = stat[stat.rfind(')').expect(")") + 2..].split(' ').collect();
        // utime, stime, cutime, cstime: fields 14 to 17.
        fields[11..15]
            .iter()
            .map(|f| f.parse::<u64>().expect("ticks"))
            .sum()
    }

    /// Waits for the watch to end (ten seconds at most); asserts it ended
    /// cleanly.
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

/// A watch left running by a failed assertion is asked to stop (SIGTERM,
/// which stops its grading and all it started), then killed.
impl Drop for Watching {
    fn drop(&mut self) {
        if !matches!(self.child.try_wait(), Ok(None)) {
            return;
        }
        let _ = nix::sys::signal::kill(self.pid(), nix::sys::signal::Signal::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(5);
        while matches!(self.child.try_wait(), Ok(None)) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Every process below `root`, from `/proc`.
fn descendants(root: nix::unistd::Pid) -> Vec<nix::unistd::Pid> {
    let all = grader::procfs::processes();
    let mut found = Vec::new();
    let mut parents = vec![root];
    while let Some(parent) = parents.pop() {
        for (pid, _) in all.iter().filter(|(_, s)| s.ppid == parent) {
            found.push(*pid);
            parents.push(*pid);
        }
    }
    found
}

/// The watch loop in a pseudo-terminal. It shows the exercise just saved
/// when it fails (not the first in the list); what does not change a
/// source's contents (a touch, a read, a save of the same text, a file
/// outside the sources) grades nothing and costs no CPU; a change during
/// a grading that hangs, then `q`, ends the loop at once with every
/// process of that grading gone; Ctrl-C ends it too.
fn watch_grades_only_what_changed_and_quits_at_once(
    grader: &Path,
    handout: &Path,
    reference: &Path,
) {
    let main = handout.join("q6-four-processes/src/main.rs");
    let stub = std::fs::read(&main).expect("the stub");
    let mut watching = Watching::start(grader, handout, &[]);
    let first = watching.wait_for("q quits)");
    let all = grader::EXERCISES.len();
    assert!(
        first.contains(&format!("0 of {all} exercises passing")),
        "{first}"
    );
    assert!(
        first.contains("next: q1 (q1-why-multiprocessing)"),
        "{first}"
    );

    // Threads instead of processes: q6 fails, and it is q6 that is shown.
    std::fs::copy(reference.join("grader/examples/wrong_q6_threads.rs"), &main).expect("save");
    let screen = watching.wait_for("q quits)");
    assert!(
        screen.contains("q6-four-processes/src/main.rs changed"),
        "{screen}"
    );
    assert!(screen.contains("next: q6 (q6-four-processes)"), "{screen}");
    assert!(screen.contains("q6 FAIL"), "{screen}");

    // Idle, and things that change no source's contents.
    let ticks = watching.cpu_ticks();
    filetime_touch(&main);
    let _ = std::fs::read(&main).expect("read");
    std::fs::write(&main, std::fs::read(&main).expect("read")).expect("the same text");
    std::fs::write(handout.join("q6-four-processes/notes.txt"), "notes").expect("write");
    std::fs::create_dir_all(handout.join("q6-four-processes/target")).expect("mkdir");
    std::fs::write(handout.join("q6-four-processes/target/x.rs"), "").expect("write");
    std::thread::sleep(watch::SETTLE * 10);
    assert!(
        !watching.so_far().contains("changed"),
        "graded without a change: {}",
        watching.so_far()
    );
    let used = watching.cpu_ticks() - ticks;
    assert!(used < 10, "{used} clock ticks of CPU while idle");

    // The reference's q6: it passes, and the first not started is shown.
    copy_src(reference, handout, "q6-four-processes");
    let screen = watching.wait_for("q quits)");
    assert!(
        screen.contains(&format!("1 of {all} exercises passing")),
        "{screen}"
    );
    assert!(screen.contains("next: q1"), "{screen}");

    // A q6 that never ends; q while it is graded.
    std::fs::write(
        &main,
        "fn main() { std::thread::sleep(std::time::Duration::from_secs(600)); }\n",
    )
    .expect("save");
    watching.wait_for("changed: grading...");
    let deadline = Instant::now() + Duration::from_secs(120);
    let running = loop {
        let below = descendants(watching.pid());
        // The program itself, not the compiler: its argv[0] is its path.
        let runs = below.iter().any(|&pid| {
            std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|c| {
                let argv0 = c.split(|&b| b == 0).next().unwrap_or_default();
                Path::new(&*String::from_utf8_lossy(argv0)).file_name()
                    == Some("q6-four-processes".as_ref())
            })
        });
        if runs {
            break below;
        }
        assert!(Instant::now() < deadline, "the hanging q6 never ran");
        std::thread::sleep(Duration::from_millis(20));
    };
    let asked = Instant::now();
    watching.keys.write_all(b"q").expect("type q");
    watching.ends_cleanly();
    let took = asked.elapsed();
    // The run's own timeout is 20 s: the loop did not wait for it (it
    // quits in well under a second; half the timeout leaves a loaded
    // machine room).
    assert!(took < Duration::from_secs(10), "quit took {took:?}");
    let left: Vec<_> = running
        .iter()
        .filter(|&&pid| grader::procfs::stat(pid).is_some_and(|s| !s.is_zombie()))
        .collect();
    assert!(left.is_empty(), "left running: {left:?}");
    std::fs::write(&main, &stub).expect("the stub back");

    let mut watching = Watching::start(grader, handout, &["-e", "q6"]);
    watching.wait_for("0 of 1 exercises passing");
    nix::sys::signal::kill(watching.pid(), nix::sys::signal::Signal::SIGINT).expect("Ctrl-C");
    watching.ends_cleanly();
}

/// Sets `path`'s times to now, as `touch` does, without writing it.
fn filetime_touch(path: &Path) {
    let file = std::fs::File::options()
        .append(true)
        .open(path)
        .expect("open");
    file.set_modified(std::time::SystemTime::now())
        .expect("touch");
}

/// Every line of a reference solution that tells something, by exercise.
fn solution_lines(reference: &Path) -> Vec<(String, String)> {
    let mut lines = Vec::new();
    for exercise in grader::EXERCISES {
        let main = Path::new(exercise.package).join("src/main.rs");
        let stripped =
            regions::strip(&std::fs::read_to_string(reference.join(&main)).expect("the reference"))
                .expect("balanced");
        let also_given = |line: &str| stripped.text.lines().any(|g| g.trim() == line.trim());
        for line in stripped.solution {
            if regions::telling(&line) && !also_given(&line) {
                lines.push((main.display().to_string(), line.trim().to_owned()));
            }
        }
    }
    lines
}

/// Gradescope's zip: the two scripts and the grading kit, which is the
/// handout file for file but for the registry (whose hidden runs it has),
/// `withheld.txt` and its README; in these and in every exercise's files,
/// no line of any reference solution appears. Returns where it was
/// unpacked (the kit, as Gradescope's `/autograder/source`).
fn the_gradescope_zip_is_the_kit(scratch: &Path, reference: &Path) -> PathBuf {
    let zip_path = scratch.join("autograder.zip");
    let made = grader(&["gradescope"])
        .arg(&zip_path)
        .arg("--workspace")
        .arg(reference)
        .output()
        .expect("runs");
    assert!(made.status.success(), "{made:?}");
    let source = scratch.join("autograder/source");
    let mut zip =
        zip::ZipArchive::new(std::fs::File::open(&zip_path).expect("open")).expect("a zip");
    zip.extract(&source).expect("unzip");
    let handout = handout::files(reference).unwrap_or_else(|e| panic!("{e}"));
    let solutions = solution_lines(reference);
    assert!(!solutions.is_empty());
    let differs = [
        "grader/src/exercises.rs",
        "grader/withheld.txt",
        "README.md",
    ];
    let scripts = ["setup.sh", "run_autograder"];
    let mut registry_has_hidden = false;
    for i in 0..zip.len() {
        let mut file = zip.by_index(i).expect("an entry");
        let name = file.name().to_owned();
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).expect("read");
        if scripts.contains(&name.as_str()) {
            continue;
        }
        if !differs.contains(&name.as_str()) {
            let given = handout
                .iter()
                .find(|f| f.path == Path::new(&name))
                .unwrap_or_else(|| panic!("{name} is in the zip, not in the handout"));
            assert!(given.text == bytes, "{name} is not the handout's");
        }
        // What the kit has that the handout has not (the hidden runs),
        // and every exercise's files: no solution line.
        let text = String::from_utf8_lossy(&bytes);
        let handouts = handout
            .iter()
            .find(|f| f.path == Path::new(&name))
            .map(|f| String::from_utf8_lossy(&f.text).into_owned())
            .unwrap_or_default();
        // An exercise's own solution, in its own file; any solution, in
        // what the kit adds (one exercise's code shows the library's
        // calls that another's solution makes).
        let exercise = grader::EXERCISES
            .iter()
            .any(|e| Path::new(&name).starts_with(e.package));
        for added in text
            .lines()
            .filter(|l| exercise || !handouts.lines().any(|h| h == *l))
        {
            let own = |from: &String| !exercise || *from == name;
            for (from, line) in solutions.iter().filter(|(from, _)| own(from)) {
                assert!(
                    added.trim() != line,
                    "{name} gives away {from}'s solution line {line:?}"
                );
            }
        }
        registry_has_hidden |= name == "grader/src/exercises.rs" && text.contains("hidden: true");
    }
    for script in scripts {
        assert!(source.join(script).is_file(), "{script} in the zip");
    }
    assert!(registry_has_hidden, "the kit has the hidden checks");
    source
}

/// Runs Gradescope's `run_autograder` in a fake `/autograder` whose
/// submission is made by `hand_in`; returns `results.json` and the
/// script's stdout (what Gradescope shows instructors only).
fn run_autograder(
    scratch: &Path,
    name: &str,
    kit: &Path,
    hand_in: impl FnOnce(&Path),
) -> (serde_json::Value, String) {
    let root = scratch.join(name);
    std::fs::create_dir_all(root.join("submission")).expect("mkdir");
    std::os::unix::fs::symlink(kit, root.join("source")).expect("the kit as source");
    hand_in(&root.join("submission"));
    let run = Std::new("bash")
        .arg(root.join("source/run_autograder"))
        .env("AUTOGRADER_ROOT", &root)
        .env("CARGO_TARGET_DIR", target_dir())
        .env_remove(common::START_METHOD_ENV)
        .output()
        .expect("bash runs");
    assert!(run.status.success(), "{run:?}");
    let text = std::fs::read_to_string(root.join("results/results.json")).unwrap_or_else(|e| {
        let log = std::fs::read_to_string(root.join("results/report.txt")).unwrap_or_default();
        panic!("no results.json ({e}):\n{log}")
    });
    (
        serde_json::from_str(&text).expect("JSON"),
        String::from_utf8_lossy(&run.stdout).into_owned(),
    )
}

/// The kit graded by Gradescope's `run_autograder` in a fake
/// `/autograder`: the solved workspace scores every point with the hidden checks
/// (which students see only once grades are published, and only as
/// passed); an empty submission 0, saying which exercises were not found
/// and which layouts are accepted; a folder holding q6 beside a loose
/// q5.rs scores their points, naming the others, not found.
fn gradescope_grades_what_was_handed_in(
    scratch: &Path,
    kit: &Path,
    reference: &Path,
    solved: &Path,
) {
    let (results, stdout) = run_autograder(scratch, "whole", kit, |submission| {
        for exercise in grader::EXERCISES {
            copy_src(solved, submission, exercise.package);
        }
    });
    let tests = results["tests"].as_array().expect("tests");
    let max: f64 = tests
        .iter()
        .map(|t| t["max_score"].as_f64().expect("a number"))
        .sum();
    let total = total_points();
    assert_eq!(max, f64::from(total), "{results}");
    assert_eq!(results["score"], total, "{results}");
    let hidden: Vec<&serde_json::Value> = tests
        .iter()
        .filter(|t| t["visibility"] == "after_published")
        .collect();
    assert!(
        !hidden.is_empty(),
        "the kit runs the hidden checks: {results}"
    );
    for test in &hidden {
        assert!(
            test["name"]
                .as_str()
                .is_some_and(|n| n.contains(": hidden run ")),
            "{test}"
        );
    }
    let visible = results["output"].as_str().expect("output");
    assert!(!visible.contains("--upto 12"), "{visible}");
    assert!(
        stdout.contains(&format!("total {total}/{total}")),
        "the instructor's report, on stdout:\n{stdout}"
    );

    let (results, _) = run_autograder(scratch, "empty", kit, |_| {});
    assert_eq!(results["score"], 0, "{results}");
    let visible = results["output"].as_str().expect("output");
    assert!(
        visible.contains(&format!("none of the exercises ({})", ids(&[]))),
        "{visible}"
    );
    assert!(visible.contains("the workspace in one folder"), "{visible}");
    assert!(visible.contains("loose files"), "{visible}");

    let (results, _) = run_autograder(scratch, "partial", kit, |submission| {
        let folder = submission.join("my-work");
        copy_src(reference, &folder, "q6-four-processes");
        std::fs::copy(reference.join("q5-pool/src/main.rs"), folder.join("q5.rs")).expect("copy");
    });
    assert_eq!(results["score"], points(&["q5", "q6"]), "{results}");
    let visible = results["output"].as_str().expect("output");
    assert!(
        visible.contains(&format!(
            "not found in the submission: {} (a submission is",
            ids(&["q5", "q6"])
        )),
        "{visible}"
    );
}

/// The Classroom workflow's grading step, run as it runs (in the kit, on
/// the student's checkout) on a submission whose q5 is right, whose q6
/// does not compile and which lacks the rest: the reporter's total is the
/// points it records, which are the report's.
fn classroom_grades_with_the_kit(scratch: &Path, kit: &Path, reference: &Path, solved: &Path) {
    let submission = scratch.join("classroom-submission");
    copy_src(solved, &submission, "q5-pool");
    copy_src(reference, &submission, "q6-four-processes");
    std::fs::write(
        submission.join("q6-four-processes/src/main.rs"),
        "fn main() { oops }\n",
    )
    .expect("write");
    let graded = Std::new(env!("CARGO"))
        .current_dir(kit)
        .env("CARGO_TARGET_DIR", target_dir())
        .env_remove(common::START_METHOD_ENV)
        .args(["run", "--quiet", "-p", "grader", "--", "--format", "github"])
        .arg(&submission)
        .output()
        .expect("cargo runs");
    assert_eq!(graded.status.code(), Some(0), "{graded:?}");
    let reported = crate::report_formats::reporter(&String::from_utf8_lossy(&graded.stdout));
    assert_eq!(reported.recorded, 10.0);
    assert_eq!(reported.console, reported.recorded);
    assert_eq!(reported.max, f64::from(total_points()));
    let log = String::from_utf8_lossy(&graded.stderr);
    assert!(
        log.contains(&format!("total 10/{}", total_points())),
        "{log}"
    );
    assert!(log.contains("error[E0425]"), "the compiler's error: {log}");
}

/// The workflow's step for a grading that wrote nothing, run as Actions
/// runs it: one runner, an explicit 0 of the assignment's points and why
/// (the log's last lines, or that the kit could not be checked out), which
/// the reporter reads without error.
#[test]
fn the_workflow_explains_a_grading_that_could_not_run() {
    let workflow = handout::classroom_workflow();
    let step = workflow
        .split("      - name: ")
        .find(|s| s.starts_with("Explain a grading that could not run"))
        .expect("the step");
    let script: String = step
        .split_once("        run: |\n")
        .expect("its script")
        .1
        .lines()
        .map_while(|l| {
            l.strip_prefix("          ")
                .or((l.is_empty()).then_some(""))
        })
        .map(|l| format!("{l}\n"))
        .collect();
    for (kit, log, says) in [
        (
            "success",
            "Compiling grader\nerror: could not compile `grader` at /home/runner/work/x/grader/src/lib.rs\n",
            "could not compile `grader` at .../lib.rs",
        ),
        ("failure", "", "GRADING_TOKEN"),
    ] {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("grading.log"), log).expect("write");
        let env_file = dir.path().join("github_env");
        std::fs::write(&env_file, "").expect("write");
        let ran = Std::new("bash")
            .args(["-eo", "pipefail", "-c", &script])
            .current_dir(dir.path())
            .env("GITHUB_ENV", &env_file)
            .env("KIT", kit)
            .env("POSSIBLE_POINTS", "45")
            .output()
            .expect("bash runs");
        assert!(ran.status.success(), "{ran:?}");
        let reported = crate::report_formats::reporter(
            &std::fs::read_to_string(&env_file).expect("the variables"),
        );
        assert_eq!(
            (reported.console, reported.recorded, reported.max),
            (0.0, 0.0, 45.0)
        );
        let result = &reported.results[0];
        assert_eq!(result["status"], "error");
        let message = result["tests"][0]["message"].as_str().expect("why");
        assert!(message.contains(says), "{message}");
    }
}

/// `grader new` on a copy of this workspace's manifest and registry: the
/// crate is written, the manifest is still TOML with the new member (and
/// its comments), and the registry has the entry whose placeholder fails;
/// a number an exercise has (q7) is refused, with nothing written.
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
    // q7 is taken: refused in one line, with nothing written.
    let taken = grader(&["new", "q7-shared-memory", "--workspace"])
        .arg(root)
        .output()
        .expect("runs");
    assert_eq!(taken.status.code(), Some(2), "{taken:?}");
    let said = String::from_utf8_lossy(&taken.stderr);
    assert!(said.contains("q7 is already an exercise's id"), "{said}");
    assert!(!root.join("q7-shared-memory").exists());
    let output = grader(&["new", "q99-shared-memory", "--workspace"])
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
        Some("q99-shared-memory")
    );
    assert!(
        added.contains("# BEGIN INSTRUCTOR"),
        "comments kept:\n{added}"
    );
    assert!(root.join("q99-shared-memory/src/main.rs").is_file());
    let registry = std::fs::read_to_string(root.join("grader/src/exercises.rs")).expect("read");
    assert!(
        registry.contains("package: \"q99-shared-memory\""),
        "{registry}"
    );
    assert!(registry.contains(grader::author::new::PLACEHOLDER));
}

/// What the handout leaves out wherever it is: a build's `target/` and the
/// files the grader writes, so that no test output ever ships.
#[test]
fn no_build_or_grader_output_ships() {
    for path in [
        "target",
        "q6-four-processes/target",
        "grader/summary.csv",
        "grader/summary.json",
        "out/alice/report.txt",
        "results.json",
        "autograding.json",
        "grader/tests/batch.rs",
        "grader/tests/a-new-test.rs",
    ] {
        assert!(handout::left_out(Path::new(path)), "{path} ships");
    }
    for path in [
        "q6-four-processes/src/main.rs",
        "grader/tests/exercises.rs",
        "common/Cargo.toml",
    ] {
        assert!(!handout::left_out(Path::new(path)), "{path} is left out");
    }
}

/// The workspace holds no output of the grader nor a stray build: tests
/// write into scratch directories, never the source tree (run after a
/// whole `cargo test`, this finds what an earlier run left; CI checks the
/// tree with git after the whole suite too).
#[test]
fn the_source_tree_holds_no_test_output() {
    fn walk(root: &Path, relative: &Path, found: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(root.join(relative))
            .expect("read")
            .flatten()
        {
            let path = relative.join(entry.file_name());
            if path == Path::new("target") || path == Path::new(".git") {
                continue;
            }
            let name = entry.file_name();
            if handout::GRADER_OUTPUTS.iter().any(|o| name == *o) || name == "target" {
                found.push(path);
            } else if entry.file_type().is_ok_and(|t| t.is_dir()) {
                walk(root, &path, found);
            }
        }
    }
    let mut found = Vec::new();
    walk(&crate::workspace(), Path::new(""), &mut found);
    assert!(
        found.is_empty(),
        "test output in the source tree: {found:?}"
    );
}

/// The student README says how to hand in: Gradescope's layouts and
/// leaving `target/` out, GitHub Classroom, and git for a handout that is
/// no repository.
#[test]
fn the_student_readme_says_how_to_hand_in() {
    let files = handout::files(&crate::workspace()).unwrap_or_else(|e| panic!("{e}"));
    let readme = files
        .iter()
        .find(|f| f.path == Path::new("README.md"))
        .map(|f| String::from_utf8_lossy(&f.text).into_owned())
        .expect("a README");
    for needed in [
        "**Gradescope.**",
        "without `target/`",
        "zip -r submission.zip . -x 'target/*'",
        "`q6.rs` or `q6-four-processes.rs`",
        "**GitHub Classroom.**",
        "This directory is not a git repository",
        "`git init`",
        "a line per exercise",
    ] {
        assert!(readme.contains(needed), "{needed:?} in:\n{readme}");
    }
}
