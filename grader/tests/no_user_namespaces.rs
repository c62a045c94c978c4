//! The grader as an ordinary user on a machine where user namespaces are
//! turned off: the sandbox's namespaces and new root cannot be had, the
//! report names every layer missing, and the policies that need them
//! refuse to grade.
//!
//! The scene is set as the kernel would have it on such a machine: a user
//! namespace mapping every id, in which the limit on further user
//! namespaces (`user.max_user_namespaces`, which is per namespace) is 0, and
//! the grader run there as uid 65534. Setting it needs root and util-linux's
//! `unshare` and `setpriv`; where they are lacking each test is counted as
//! ignored with the reason on stderr, never passed without running. A
//! harness of its own (libtest-mimic) for that reason.

use std::ffi::OsStr;
use std::fs;
use std::io::Write as _;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Output, Stdio};
use std::time::{Duration, Instant};

use libtest_mimic::{Arguments, Failed, Trial};

/// The uid the grader runs as: one that owns nothing here.
const NOBODY: u32 = 65534;

/// What the child shell does once its namespace's maps are written: it
/// executes itself again, so that it holds the namespace's capabilities,
/// turns user namespaces off there, and drops to uid 65534.
const INNER: &str = "echo 0 > /proc/sys/user/max_user_namespaces || exit 97
exec setpriv --reuid=65534 --regid=65534 --clear-groups -- \"$@\"";

/// Copies of the grader and of q6's reference, in a directory uid 65534
/// may enter and read.
struct Scene {
    dir: tempfile::TempDir,
}

impl Scene {
    fn set() -> Result<Scene, String> {
        if !nix::unistd::geteuid().is_root() {
            return Err("needs root, to write a user namespace's maps".to_owned());
        }
        for tool in ["unshare", "setpriv"] {
            let found = Command::new(tool)
                .arg("--version")
                .stdout(Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            if !found {
                return Err(format!("needs util-linux's {tool}"));
            }
        }
        let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .expect("the grader lives inside the workspace");
        let built = grader::build(workspace).map_err(|e| e.to_string())?;
        let q6 = built.get("q6-four-processes").map_err(|e| e.to_string())?;
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let readable = fs::Permissions::from_mode(0o755);
        fs::set_permissions(dir.path(), readable.clone()).map_err(|e| e.to_string())?;
        for (from, to) in [
            (Path::new(env!("CARGO_BIN_EXE_grader")), "grader"),
            (q6, "q6-four-processes"),
        ] {
            let copy = dir.path().join(to);
            fs::copy(from, &copy).map_err(|e| format!("copy {}: {e}", from.display()))?;
            fs::set_permissions(&copy, readable.clone()).map_err(|e| e.to_string())?;
        }
        let scene = Scene { dir };
        // A machine whose kernel refuses root a user namespace (a
        // container, say) cannot show this.
        let probe = scene.grader(["--help"]);
        if !probe.status.success() {
            return Err(format!(
                "cannot set the scene here: {}",
                String::from_utf8_lossy(&probe.stderr).trim()
            ));
        }
        Ok(scene)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Runs the grader copy with `args` as uid 65534, in a user namespace
    /// where no further one may be made, from the scene's directory.
    fn grader<I, S>(&self, args: I) -> Output
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let child = Command::new("unshare")
            .args([
                "--user",
                "--",
                "sh",
                "-c",
                "read go && exec sh -c \"$0\" sh \"$@\"",
            ])
            .arg(INNER)
            .arg(self.path("grader"))
            .args(args)
            .current_dir(self.dir.path())
            .env_remove("CARGO_TARGET_DIR")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("unshare starts");
        let mut child = Reaped(Some(child));
        let pid = child.0.as_ref().expect("held").id();
        let own = fs::read_link("/proc/self/ns/user").expect("this process's user namespace");
        let since = Instant::now();
        // `unshare` is the same process once it has made the namespace.
        while fs::read_link(format!("/proc/{pid}/ns/user")).ok().as_ref() == Some(&own) {
            assert!(
                since.elapsed() < Duration::from_secs(30),
                "unshare made no user namespace in 30 s"
            );
            std::thread::sleep(Duration::from_millis(1));
        }
        for map in ["uid_map", "gid_map"] {
            fs::write(format!("/proc/{pid}/{map}"), "0 0 4294967295\n")
                .unwrap_or_else(|e| panic!("write {map}: {e}"));
        }
        let mut child = child.0.take().expect("held");
        let mut go = child.stdin.take().expect("piped");
        go.write_all(b"go\n").expect("the shell reads its go");
        drop(go);
        child.wait_with_output().expect("the grader ends")
    }
}

/// A child killed and reaped if the test fails before it is waited for.
struct Reaped(Option<Child>);

impl Drop for Reaped {
    fn drop(&mut self) {
        if let Some(child) = &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The layers a run here cannot have, as the report names them.
const MISSING: [&str; 5] = [
    "no PID namespace of its own",
    "no root of its own",
    "no network namespace of its own",
    "no IPC namespace of its own",
    "no unprivileged uid of its own",
];

fn check(ok: bool, what: impl Into<String>) -> Result<(), Failed> {
    if ok { Ok(()) } else { Err(what.into().into()) }
}

fn text(output: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// `grader sandbox` lists each missing layer, says why in plain English,
/// and which policies would refuse.
fn the_sandbox_command_names_each_missing_layer_and_why(scene: &Scene) -> Result<(), Failed> {
    let output = scene.grader(["sandbox"]);
    let (stdout, stderr) = text(&output);
    check(output.status.success(), format!("{stdout}{stderr}"))?;
    check(
        stdout.starts_with(&format!("as uid {NOBODY}, not root")),
        format!("who it ran as: {stdout}"),
    )?;
    let (had, lacked) = stdout
        .split_once("and has no:")
        .ok_or(format!("no missing layers listed: {stdout}"))?;
    for layer in MISSING {
        let layer = layer.trim_start_matches("no ");
        check(
            lacked.contains(layer) && !had.contains(layer),
            format!("{layer} listed as missing: {stdout}"),
        )?;
    }
    check(
        stdout.contains("user namespaces are turned off or used up here"),
        format!("the reason: {stdout}"),
    )?;
    check(
        stdout.contains("--sandbox best-effort: grades here")
            && stdout.contains("--sandbox isolated: refuses here")
            && stdout.contains("--sandbox full: refuses here"),
        format!("the policies: {stdout}"),
    )
}

/// One submission, best-effort by default: graded, and the report's note
/// names every layer the run lacked.
fn a_graded_run_names_every_layer_it_lacked(scene: &Scene) -> Result<(), Failed> {
    let binary = scene.path("q6-four-processes");
    let output = scene.grader([
        OsStr::new("--exercise"),
        OsStr::new("q6"),
        OsStr::new("--binary"),
        binary.as_os_str(),
    ]);
    let (stdout, stderr) = text(&output);
    check(output.status.success(), format!("{stdout}{stderr}"))?;
    check(stdout.contains("total 10/10"), format!("graded: {stdout}"))?;
    let note = stdout
        .lines()
        .find(|l| l.contains("the run was not fully sandboxed"))
        .ok_or(format!("no note on the sandbox: {stdout}"))?;
    for layer in MISSING {
        check(note.contains(layer), format!("{layer} in the note: {note}"))?;
    }
    Ok(())
}

/// `--require-sandbox` refuses in one line naming the layers, grades
/// nothing, and exits 2.
fn require_sandbox_refuses_to_grade(scene: &Scene) -> Result<(), Failed> {
    let binary = scene.path("q6-four-processes");
    let output = scene.grader([
        OsStr::new("--exercise"),
        OsStr::new("q6"),
        OsStr::new("--binary"),
        binary.as_os_str(),
        OsStr::new("--require-sandbox"),
    ]);
    let (stdout, stderr) = text(&output);
    check(output.status.code() == Some(2), format!("{stdout}{stderr}"))?;
    check(
        stdout.is_empty() && stderr.lines().count() == 1,
        format!("one line, nothing graded: {stdout}{stderr}"),
    )?;
    check(
        stderr.starts_with("grader: refusing to grade:"),
        format!("the refusal: {stderr}"),
    )?;
    for layer in MISSING {
        check(stderr.contains(layer), format!("{layer} named: {stderr}"))?;
    }
    Ok(())
}

/// A class (two submissions) is graded `isolated` by default: refused
/// before anything is built, and no gradebook written.
fn a_class_is_refused_by_default(scene: &Scene) -> Result<(), Failed> {
    // A folder the grader may write in, so that nothing written is the
    // grader's choice, not a permission's.
    let class = scene.path("class");
    fs::create_dir_all(&class)?;
    std::os::unix::fs::chown(&class, Some(NOBODY), Some(NOBODY))?;
    let out = class.join("gradebook");
    let submissions = [scene.path("alice"), scene.path("bob")];
    for dir in &submissions {
        fs::create_dir_all(dir)?;
    }
    let output = scene.grader(
        [
            OsStr::new("--jobs"),
            OsStr::new("2"),
            OsStr::new("--out"),
            out.as_os_str(),
        ]
        .into_iter()
        .chain(submissions.iter().map(|p| p.as_os_str())),
    );
    let (stdout, stderr) = text(&output);
    check(output.status.code() == Some(2), format!("{stdout}{stderr}"))?;
    check(
        stderr.starts_with("grader: refusing to grade:") && stderr.contains(MISSING[0]),
        format!("the refusal: {stderr}"),
    )?;
    check(!out.exists(), "no gradebook written")
}

fn main() -> ExitCode {
    let args = Arguments::from_args();
    let scene = Scene::set().map(std::sync::Arc::new);
    type Test = fn(&Scene) -> Result<(), Failed>;
    let tests: [(&str, Test); 4] = [
        (
            "no_user_namespaces::the_sandbox_command_names_each_missing_layer_and_why",
            the_sandbox_command_names_each_missing_layer_and_why,
        ),
        (
            "no_user_namespaces::a_graded_run_names_every_layer_it_lacked",
            a_graded_run_names_every_layer_it_lacked,
        ),
        (
            "no_user_namespaces::require_sandbox_refuses_to_grade",
            require_sandbox_refuses_to_grade,
        ),
        (
            "no_user_namespaces::a_class_is_refused_by_default",
            a_class_is_refused_by_default,
        ),
    ];
    let trials = tests
        .into_iter()
        .map(|(name, test)| match &scene {
            Ok(scene) => {
                let scene = scene.clone();
                Trial::test(name, move || test(&scene))
            }
            Err(why) => {
                eprintln!("skipped {name}: {why}");
                Trial::test(name, || Ok(())).with_ignored_flag(true)
            }
        })
        .collect();
    libtest_mimic::run(&args, trials).exit_code()
}
