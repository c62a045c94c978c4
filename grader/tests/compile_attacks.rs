//! A class whose q6 attacks the compiler (`grader/tests/attacks/`): each
//! submission's `main.rs` tries to bring a file or a variable of the host
//! into a compile error or into its binary, or is a link to the reference
//! solution. The class is graded as an instructor grades one, with a
//! secret of the instructor's in a file and in the environment; then no
//! report, no gradebook file holds a byte of any of them, and each
//! submission scores 0.

use std::path::{Path, PathBuf};

use assert_cmd::Command;

/// The attacks, by fixture file; each becomes a submission of that name.
const ATTACKS: &[&str] = &[
    "include_etc_shadow",
    "include_etc_passwd",
    "include_registry",
    "include_secret",
    "path_attribute",
    "env_token",
    "option_env",
];

/// What the instructor exported, which no submission may see.
const TOKEN: &str = "instructor-token-5f0c1d";

/// What the instructor's private file holds.
const SECRET: &str = "instructor-secret-9a7e22";

/// A submission at `dir` whose q6 `main.rs` is `main`.
fn submission(dir: &Path, main: &str) {
    let src = dir.join("q6-four-processes/src");
    std::fs::create_dir_all(&src).expect("mkdir");
    std::fs::write(src.join("main.rs"), main).expect("write");
}

/// Every file under `dir`, with its text.
fn every_file(dir: &Path) -> Vec<(PathBuf, String)> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read").flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(every_file(&path));
        } else {
            let text = String::from_utf8_lossy(&std::fs::read(&path).expect("read")).into_owned();
            files.push((path, text));
        }
    }
    files
}

/// What must not show anywhere: the secret, the token, the instructor's
/// home, lines of the registry's code and of host files (those the test
/// itself can read), the reference solution's code.
fn forbidden(home: &Path) -> Vec<String> {
    let mut forbidden = vec![
        TOKEN.to_owned(),
        SECRET.to_owned(),
        home.display().to_string(),
    ];
    let code_lines = |path: PathBuf, keep: fn(&str) -> bool| -> Vec<String> {
        std::fs::read_to_string(path)
            .unwrap_or_default()
            .lines()
            .map(str::trim)
            .filter(|l| keep(l))
            .map(str::to_owned)
            .collect()
    };
    // The registry's code (not its messages, which reports quote).
    forbidden.extend(code_lines(
        crate::workspace().join("grader/src/exercises.rs"),
        |l| l.starts_with("pub fn ") || l.starts_with("fn ") || l.starts_with("pub static "),
    ));
    // The reference solution's code.
    forbidden.extend(code_lines(
        crate::workspace().join("q6-four-processes/src/main.rs"),
        |l| l.starts_with("fn ") || l.starts_with("use "),
    ));
    // Host files, each line with a field separator (a passwd or shadow
    // entry), where this test may read them.
    for host in ["/etc/passwd", "/etc/shadow"] {
        forbidden.extend(code_lines(PathBuf::from(host), |l| {
            l.matches(':').count() >= 6
        }));
    }
    forbidden
}

#[test]
fn no_report_or_gradebook_holds_a_byte_of_the_host() {
    let class = tempfile::tempdir().expect("temp dir");
    // The instructor's home, named nowhere else.
    let home = tempfile::tempdir().expect("temp dir");
    let home = home.path();
    let secret = class.path().join("secret.txt");
    std::fs::write(&secret, format!("{SECRET}\n")).expect("write");
    std::fs::set_permissions(&secret, std::os::unix::fs::PermissionsExt::from_mode(0o600))
        .expect("chmod");
    let attacks = crate::workspace().join("grader/tests/attacks");
    let mut submissions = Vec::new();
    for attack in ATTACKS {
        let main = std::fs::read_to_string(attacks.join(format!("{attack}.rs")))
            .expect("the fixture")
            .replace("@WORKSPACE@", &crate::workspace().display().to_string())
            .replace("@SECRET@", &secret.display().to_string());
        let dir = class.path().join(attack);
        submission(&dir, &main);
        submissions.push(dir);
    }
    // A main.rs that is a link to the reference solution.
    let linked = class.path().join("linked_to_the_reference");
    std::fs::create_dir_all(linked.join("q6-four-processes/src")).expect("mkdir");
    std::os::unix::fs::symlink(
        crate::workspace().join("q6-four-processes/src/main.rs"),
        linked.join("q6-four-processes/src/main.rs"),
    )
    .expect("link");
    submissions.push(linked);

    let out = class.path().join("marks");
    let mut grader = Command::cargo_bin("grader").expect("the grader is built");
    grader
        .env("HOME", home)
        .env("GRADER_INSTRUCTOR_TOKEN", TOKEN);
    let paths: Vec<&Path> = submissions.iter().map(PathBuf::as_path).collect();
    let printed = crate::grade_q6_class(grader, &out, &paths);
    let report = |name: &str| crate::class_report(&out, name);
    for attack in ATTACKS.iter().filter(|a| **a != "option_env") {
        let text = report(attack);
        assert!(
            text.contains("FAIL  build: the exercise did not compile"),
            "{attack}:\n{text}"
        );
    }
    let text = report("option_env");
    assert!(
        text.contains("HOME at compile time: Some(\"/tmp\")")
            && text.contains("token at compile time: None")
            && text.contains("USER at compile time: None"),
        "the compiler's environment is the sandbox's:\n{text}"
    );
    let text = report("linked_to_the_reference");
    assert!(
        text.contains(
            "q6-four-processes/src/main.rs is a symbolic link; a submission's sources may be \
             regular files and directories only"
        ),
        "{text}"
    );
    assert!(text.contains("total 0/10"), "{text}");

    let forbidden = forbidden(home);
    assert!(forbidden.len() > 5, "something to look for: {forbidden:?}");
    let mut written = every_file(&out);
    written.push((PathBuf::from("stdout and stderr"), printed));
    for (path, text) in &written {
        for bad in &forbidden {
            assert!(
                !text.contains(bad.as_str()),
                "{} holds {bad:?}:\n{text}",
                path.display()
            );
        }
    }
}
