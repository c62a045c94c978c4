//! Hostile submissions (grader/examples/hostile_*.rs): each gets a clear
//! verdict in time (`timing.rs`) and leaves no process behind.

use std::time::Duration;

use grader::{RunReport, exercises, grade_run, procfs};

use crate::timing::{assert_before_timeout, assert_stopped_in_time, grade_q6};

/// Grades example `fixture` as q6 with `timeout`; returns the report and how
/// long grading took.
fn grade_hostile(fixture: &str, timeout: Duration) -> (RunReport, Duration) {
    grade_q6(fixture, &[], timeout)
}

/// What the kernel showed of example `fixture` run as q6.
fn observe_q6(fixture: &str) -> grader::observe::Observation {
    let exercise = exercises::find("q6").expect("registered");
    let run = (exercise.runs)().swap_remove(0);
    let binary = crate::binaries().get(fixture).expect("fixture built");
    grader::observe::observe(binary, &run).expect("observed")
}

/// No process runs the fixture's binary any more, not even as a zombie
/// (a zombie is known by its name, `comm`, which the kernel cuts to 15
/// bytes).
#[track_caller]
fn assert_none_left(fixture: &str) {
    let binary = crate::binaries().get(fixture).expect("fixture built");
    let comm = &fixture[..fixture.len().min(15)];
    let left: Vec<_> = procfs::processes()
        .into_iter()
        // By the binary where /proc shows it; by name only where it does
        // not (a run's own uid hides it): another build of the same
        // fixture running elsewhere on the machine is not this one's.
        .filter(
            |(pid, _)| match std::fs::read_link(format!("/proc/{pid}/exe")) {
                Ok(exe) => exe == binary,
                Err(_) => std::fs::read_to_string(format!("/proc/{pid}/comm"))
                    .is_ok_and(|c| c.trim_end() == comm),
            },
        )
        .collect();
    assert!(left.is_empty(), "{fixture} left {left:?}");
}

#[test]
fn an_output_flood_is_stopped_at_the_timeout_and_capped() {
    let timeout = Duration::from_secs(2);
    let (report, took) = grade_hostile("hostile_flood", timeout);
    assert_stopped_in_time(took, timeout, "a flood");
    let exit = report.failure("exit status").expect("timed out");
    assert!(
        exit.problem.contains("did not finish within 2 s"),
        "{report}"
    );
    let output = report.failure("output").expect("wrong output");
    assert!(
        output.problem.contains("only the first 1048576 were kept"),
        "{}",
        output.problem
    );
    assert_none_left("hostile_flood");
}

#[test]
fn a_process_escaping_the_group_with_stdout_open_is_found() {
    let timeout = Duration::from_secs(20);
    let (report, took) = grade_hostile("hostile_escaped_grandchild", timeout);
    assert_before_timeout(took, timeout, "a held pipe held up grading");
    let left = report
        .failure("nothing left behind")
        .expect("a process was left");
    assert!(
        left.problem.contains("1 process was still running"),
        "{report}"
    );
    assert!(report.failure("output").is_none(), "{report}");
    // The straggler is `sleep`, not the fixture: look for it by its parent.
    let me = nix::unistd::getpid();
    let sleeping = procfs::processes()
        .into_iter()
        .filter(|(pid, s)| {
            s.ppid == me
                && !s.is_zombie()
                && std::fs::read_to_string(format!("/proc/{pid}/comm"))
                    .is_ok_and(|c| c.trim() == "sleep")
        })
        .count();
    assert_eq!(sleeping, 0, "the escaped sleep was killed and reaped");
}

#[test]
fn a_segfault_is_named() {
    let (report, _) = grade_hostile("hostile_segfault", Duration::from_secs(10));
    let exit = report.failure("exit status").expect("crashed");
    assert!(
        exit.problem.contains("killed by signal 11 (SIGSEGV)"),
        "{report}"
    );
    assert_none_left("hostile_segfault");
}

#[test]
fn output_that_is_not_utf8_is_shown_not_fatal() {
    let (report, _) = grade_hostile("hostile_non_utf8", Duration::from_secs(10));
    let output = report.failure("output").expect("wrong output");
    assert!(
        output.got.contains("Process 1: Printing \u{fffd}\u{fffd}"),
        "{report}"
    );
}

#[test]
fn a_program_reading_stdin_gets_end_of_file() {
    let timeout = Duration::from_secs(10);
    let (report, took) = grade_hostile("hostile_reads_stdin", timeout);
    assert_before_timeout(took, timeout, "it waited for input");
    assert!(report.failure("exit status").is_none(), "{report}");
    assert!(
        report
            .failure("output")
            .expect("wrong output")
            .got
            .contains("read 0 bytes")
    );
}

#[test]
fn a_fork_bomb_is_stopped_at_the_process_limit() {
    let timeout = Duration::from_secs(10);
    let (report, took) = grade_hostile("hostile_fork_bomb", timeout);
    assert_before_timeout(took, timeout, "a fork bomb");
    let exit = report.failure("exit status").expect("stopped");
    assert!(
        exit.problem.contains(&format!(
            "tried to create more than {} processes",
            grader::observe::PROCESS_LIMIT
        )),
        "{report}"
    );
    assert_none_left("hostile_fork_bomb");
}

#[test]
fn an_abort_is_named() {
    let (report, _) = grade_hostile("hostile_abort", Duration::from_secs(10));
    let exit = report.failure("exit status").expect("crashed");
    assert!(
        exit.problem.contains("killed by signal 6 (SIGABRT)"),
        "{report}"
    );
    assert_none_left("hostile_abort");
}

/// A daemon made by fork, setsid, fork, with its output elsewhere: found
/// through the kernel's events, reported, killed.
#[test]
fn a_daemon_that_cut_every_tie_is_found() {
    let timeout = Duration::from_secs(10);
    let (report, took) = grade_hostile("hostile_daemon", timeout);
    assert_before_timeout(took, timeout, "a daemon");
    let left = report
        .failure("nothing left behind")
        .expect("the daemon was left");
    assert!(left.problem.contains("still running"), "{report}");
    assert!(report.failure("output").is_none(), "{report}");
    assert_none_left("hostile_daemon");
}

/// Runs the grader's own command on fixture `fixture` as q6, with `env`;
/// returns its output.
fn grader_cli(fixture: &str, args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let binary = crate::binaries().get(fixture).expect("fixture built");
    assert_cmd::Command::cargo_bin("grader")
        .expect("the grader is built")
        .envs(env.iter().copied())
        .arg("--binary")
        .arg(binary)
        .args(["--exercise", "q6"])
        .args(args)
        .output()
        .expect("the grader runs")
}

/// SIGSTOP and SIGKILL to its parent and to every process it may signal:
/// the grader prints its verdict all the same (in its PID namespace the
/// program's parent is the run's init, and the grader has no pid there).
#[test]
fn a_program_cannot_stop_or_kill_the_grader() {
    let output = grader_cli("hostile_attacks_grader", &[], &[]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("total 10/10"), "{stdout}");
    let seen = observe_q6("hostile_attacks_grader");
    let stderr = seen.stderr.text();
    assert!(
        stderr.contains("kill(parent 1, SIGKILL)"),
        "its parent is the init: {stderr}"
    );
    assert_none_left("hostile_attacks_grader");
}

/// Forty silent check-in connections and a half-written label: the verdict
/// still comes when the run is stopped at its timeout (see `timing.rs`
/// for the bound a test can hold).
#[test]
fn silent_check_ins_do_not_stretch_the_deadline() {
    let timeout = Duration::from_secs(2);
    let (report, took) = grade_hostile("hostile_checkin_flood", timeout);
    assert_stopped_in_time(took, timeout, "silent check-ins");
    let exit = report.failure("exit status").expect("timed out");
    assert!(
        exit.problem.contains("did not finish within 2 s"),
        "{report}"
    );
    assert_none_left("hostile_checkin_flood");
}

/// What the sandbox refused, as the program itself saw it: no write outside
/// its own /tmp, no registry, no root-only file, nothing of the init (a
/// copy of the grader), no network (not even a port this test listens on,
/// on the host's loopback), no 3 GiB, no other process, no capability; and
/// who it was and what `/proc` showed it of the host.
#[test]
fn the_sandbox_refuses_what_a_run_must_not_do() {
    let workspace = crate::workspace().join("grader");
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
    listener.set_nonblocking(true).expect("non-blocking");
    let port = listener.local_addr().expect("an address").port();
    let exercise = exercises::find("q6").expect("registered");
    let mut run = (exercise.runs)().swap_remove(0);
    run.args = vec![port.to_string()];
    let binary = crate::binaries()
        .get("hostile_sandbox_probe")
        .expect("fixture built");
    let report = grade_run(exercise, &run, binary).expect("graded");
    let got = &report.failure("output").expect("its own lines").got;
    for refused in [
        format!("write {}: refused", workspace.display()),
        "write /root: refused".to_owned(),
        "write /usr: refused".to_owned(),
        "read the registry: refused".to_owned(),
        "read /etc/shadow: refused (permission denied)".to_owned(),
        "read the init's environment: refused (permission denied)".to_owned(),
        "read the init's memory: refused (permission denied)".to_owned(),
        "connect to the host's port: refused".to_owned(),
        "allocate 3 GiB: refused".to_owned(),
        // Its own init and itself.
        "processes visible: 2".to_owned(),
        "CapEff: 0000000000000000".to_owned(),
        "CapBnd: 0000000000000000".to_owned(),
        "hostname: sandbox".to_owned(),
    ] {
        assert!(got.contains(&refused), "{refused:?} in:\n{got}");
    }
    for whole in [
        // Blanked: the init is a copy of the grader, command line and all.
        "the init's command line: ",
        "environment: PATH HOME LANG TMPDIR COMMON_START_METHOD COMMON_CHECKIN",
    ] {
        assert!(got.lines().any(|l| l == whole), "{whole:?} in:\n{got}");
    }
    assert!(
        listener.accept().is_err(),
        "the run connected to the host's port"
    );
    let line = |name: &str| {
        got.lines()
            .find_map(|l| l.strip_prefix(name))
            .unwrap_or_else(|| panic!("{name} in:\n{got}"))
            .to_owned()
    };
    // Who it was: as root, a uid and gid of its own (from 1879048192), with
    // no group; otherwise the grader's own uid, which is all a user
    // namespace of an ordinary user may map.
    let me = nix::unistd::geteuid().as_raw();
    let uid: u32 = line("Uid: ")
        .split(' ')
        .next()
        .and_then(|u| u.parse().ok())
        .expect("a uid");
    if me == 0 {
        assert!(uid >= 1_879_048_192, "the run's uid {uid}");
        assert_eq!(line("Groups: ").trim(), "", "no group");
    } else {
        assert_eq!(uid, me, "the grader's own uid");
    }
    // Nothing of the host's control groups or paths: every group is its
    // root, and the mounts are the system's directories and its own.
    assert!(
        line("cgroups: ").split(" | ").all(|g| g.ends_with(":/")),
        "{got}"
    );
    let mounts = line("mounts: ");
    let roots: Vec<&str> = mounts
        .split(" | ")
        .filter_map(|m| m.split(' ').nth(3))
        .collect();
    for root in &roots {
        let system = [
            "/", "/usr", "/etc", "/lib", "/lib32", "/lib64", "/bin", "/sbin",
        ];
        let device = ["/null", "/zero", "/full", "/random", "/urandom"];
        assert!(
            system.contains(root) || device.contains(root),
            "a host path shows in the run's mounts: {root} in {mounts}"
        );
    }
    // Nothing it wrote is anywhere the grader can see.
    for dir in [
        workspace.clone(),
        crate::workspace(),
        "/root".into(),
        std::env::temp_dir(),
    ] {
        // The probe names its file for this test's port: a file another
        // run left behind is not this one's.
        let escaped = dir.join(format!("sandbox-escape-{port}"));
        assert!(
            !escaped.exists(),
            "a file of the run appeared: {}",
            escaped.display()
        );
    }
    assert_none_left("hostile_sandbox_probe");
}

/// Sandboxes launched from several threads at once, while another thread
/// makes and ends threads, all start and pass: the child of `clone` is a
/// copy of a multi-threaded grader, and a library call there that takes a
/// lock another thread held at the clone (glibc's `setresuid` takes the
/// thread list's) would wait for ever; such runs failed as "could not
/// start the program", stuck in a futex.
#[test]
fn sandboxes_launched_from_many_threads_at_once_all_start() {
    let exercise = exercises::find("q6").expect("registered");
    let run = (exercise.runs)().swap_remove(0);
    let binary = crate::binaries().get("q6-four-processes").expect("built");
    let stop = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|scope| {
        scope.spawn(|| {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                std::thread::spawn(|| std::hint::black_box(0))
                    .join()
                    .expect("a thread");
            }
        });
        let graders: Vec<_> = (0..3)
            .map(|_| {
                scope.spawn(|| {
                    for _ in 0..6 {
                        let report = grade_run(exercise, &run, binary).expect("graded");
                        report.assert_pass();
                    }
                })
            })
            .collect();
        for grader in graders {
            let outcome = grader.join();
            stop.store(true, std::sync::atomic::Ordering::Relaxed);
            if let Err(panic) = outcome {
                std::panic::resume_unwind(panic);
            }
        }
    });
}

/// Where the namespaces are not had, grading goes on and the report says
/// which layers were missing.
#[test]
fn without_namespaces_the_report_names_the_missing_layers() {
    let output = grader_cli("q6-four-processes", &[], &[(grader::SANDBOX_ENV, "off")]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("total 10/10"), "{stdout}");
    assert!(
        stdout.contains("not fully sandboxed") && stdout.contains("PID namespace"),
        "{stdout}"
    );
}

/// `grader sandbox` says what a run has here, and each policy refuses
/// exactly when it says so: without namespaces, `isolated` (a class's
/// default) refuses to grade; `--require-sandbox` grades only where every
/// layer, the caps by cgroup included, is had.
#[test]
fn the_sandbox_policy_refuses_what_is_missing() {
    let said = assert_cmd::Command::cargo_bin("grader")
        .expect("the grader is built")
        .arg("sandbox")
        .output()
        .expect("runs");
    let said = String::from_utf8_lossy(&said.stdout).into_owned();
    for layer in [
        "PID namespace of its own",
        "root of its own",
        "seccomp filter",
        "tracing by ptrace",
        "--sandbox isolated: grades here",
    ] {
        assert!(said.contains(layer), "{layer:?} in:\n{said}");
    }
    let full = said.contains("--sandbox full: grades here");
    let output = grader_cli("q6-four-processes", &["--require-sandbox"], &[]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    if full {
        assert_eq!(output.status.code(), Some(0), "{stderr}");
    } else {
        assert_eq!(output.status.code(), Some(2), "{stderr}");
        assert!(
            stderr.contains("refusing to grade: the sandbox here has no"),
            "{stderr}"
        );
    }
    let output = grader_cli(
        "q6-four-processes",
        &["--sandbox", "isolated"],
        &[(grader::SANDBOX_ENV, "off")],
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("no PID namespace of its own") && stderr.contains("refusing to grade"),
        "{stderr}"
    );
}

/// The command line's mistakes: one clear line each, exit code 2.
#[test]
fn binary_mistakes_are_one_line_each() {
    let grader = || assert_cmd::Command::cargo_bin("grader").expect("the grader is built");
    let q6 = crate::binaries().get("q6-four-processes").expect("built");
    let cases: Vec<(Vec<std::ffi::OsString>, &str)> = vec![
        (
            vec![
                "--binary".into(),
                q6.into(),
                "-e".into(),
                "q6".into(),
                "-e".into(),
                "q5".into(),
            ],
            "name exactly one with --exercise (got q6, q5)",
        ),
        (
            vec!["--binary".into(), "true".into(), "-e".into(), "q6".into()],
            "cannot grade true: No such file or directory",
        ),
        (
            vec![
                "--binary".into(),
                "/nonexistent".into(),
                "-e".into(),
                "q6".into(),
            ],
            "cannot grade /nonexistent: No such file or directory",
        ),
        (
            vec!["/nonexistent-a".into(), "/nonexistent-b".into()],
            "no submission could be graded",
        ),
    ];
    // A batch writes its gradebook into the working directory: a scratch
    // one, never the source tree.
    let scratch = tempfile::tempdir().expect("temp dir");
    for (args, says) in cases {
        let output = grader()
            .current_dir(scratch.path())
            .args(&args)
            .output()
            .expect("runs");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        let last = stderr.lines().last().unwrap_or_default();
        assert!(last.contains(says), "{args:?}: {stderr}");
    }
}

/// Every route to the output: what reached stdout was written through the
/// write family, each byte attributed by the tracer to the process that
/// wrote it (here the main process), and the routes that move bytes
/// without such a write are refused.
#[test]
fn every_write_route_is_attributed() {
    let seen = observe_q6("hostile_write_routes");
    let events = seen.traced.as_ref().expect("tracing is permitted here");
    let attributed = events.written_by();
    let [(writer, bytes)] = attributed.as_slice() else {
        panic!("one writer: {attributed:?}");
    };
    assert_eq!(*writer, seen.main);
    let out = seen.stdout.text();
    assert_eq!(
        String::from_utf8_lossy(bytes),
        out,
        "every byte read from stdout was attributed"
    );
    for written in [
        "through write\n",
        "through writev\n",
        "through pwritev2\n",
        "through sendto\n",
        "through sendmsg\n",
    ] {
        assert!(out.contains(written), "{written:?} in:\n{out}");
    }
    for refused in [
        "pwrite64: refused",
        "pwritev: refused",
        "sendfile: refused",
        "splice: refused",
        "vmsplice: refused",
        "tee: refused",
        "copy_file_range: refused",
        "sendmmsg: refused",
    ] {
        assert!(out.contains(refused), "{refused:?} in:\n{out}");
    }
    assert_none_left("hostile_write_routes");
}
