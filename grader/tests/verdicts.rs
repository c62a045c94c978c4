//! Hostile and careless Q6 submissions against each verdict the grader
//! concludes (grader/examples/hostile_*.rs and wrong_*.rs): for each fact,
//! what else could have produced the same evidence. Each test asserts what
//! the kernel showed: the verdict, its message, and how long it took.

use std::time::{Duration, Instant};

use grader::observe::Observation;
use grader::{RunReport, exercises, judge, observe};

use crate::timing::{assert_before_timeout, assert_stopped_in_time, grade_q6};
use crate::wrong_solutions::{assert_fails, assert_passes};

/// What the kernel showed of example `fixture` run as q6 with `args`, and
/// its report.
fn observe_q6(fixture: &str, args: &[&str]) -> (Observation, RunReport) {
    let exercise = exercises::find("q6").expect("registered");
    let mut run = (exercise.runs)().swap_remove(0);
    run.args = args.iter().map(|&a| a.to_owned()).collect();
    let binary = crate::binaries().get(fixture).expect("fixture built");
    let seen = observe::observe(binary, &run).expect("observed");
    let report = judge(exercise, &run, &seen);
    (seen, report)
}

/// A stray whose main thread has exited (its stat says `Z`) while another
/// of its threads sleeps for 30 s is still running: it is counted and
/// killed, at once rather than when its thread wakes.
#[test]
fn a_process_whose_main_thread_exited_is_still_left_behind() {
    let timeout = Duration::from_secs(20);
    let (report, took) = grade_q6("hostile_zombie_leader", &[], timeout);
    assert_fails(
        &report,
        "nothing left behind",
        "1 process was still running",
    );
    assert_passes(&report, "output");
    assert_passes(&report, "concurrency");
    assert_before_timeout(took, timeout, "a zombie leader");
}

/// A main process that blocks in something other than joining its four
/// children (a sleep, a poll, a wait for a fifth child of its own) before
/// its final line is not waiting for them: the line was written while
/// they had not all been joined, whatever the output's order.
#[test]
fn blocking_in_anything_but_a_join_is_not_waiting() {
    for mode in ["sleep", "poll", "extra-child"] {
        for _ in 0..3 {
            let (report, _) = grade_q6("hostile_order", &[mode], Duration::from_secs(20));
            assert_fails(
                &report,
                "output",
                "`All processes have completed.` was written before the main process had joined \
                 its children",
            );
            assert_passes(&report, "processes");
            assert_passes(&report, "exit status");
        }
    }
}

/// Children that check in by hand and run one after another, each reading
/// the first byte of the answer and then going on without waiting to be
/// let go: exited (`exit`), alive but done (`linger`), or alive with the
/// socket closed (`hang-up`), none counts as held at the rendezvous. Each
/// mode is graded `GRADER_TRIALS` times (default 1).
#[test]
fn only_processes_alive_and_waiting_at_one_instant_are_concurrent() {
    for trial in 0..crate::trials(1) {
        for mode in ["exit", "linger", "hang-up"] {
            let timeout = Duration::from_secs(20);
            let (report, took) = grade_q6("hostile_rendezvous", &[mode], timeout);
            let what = format!("{mode}, trial {trial}");
            eprintln!("graded {what}");
            assert_fails(&report, "concurrency", "of 4 child processes were alive");
            assert_passes(&report, "processes");
            assert_before_timeout(took, timeout, &what);
        }
    }
    // One process holding four check-ins is one process held.
    let (report, _) = grade_q6(
        "hostile_rendezvous",
        &["once-four-times"],
        Duration::from_secs(20),
    );
    assert_fails(
        &report,
        "concurrency",
        "only 1 of 4 child processes were alive",
    );
}

/// Children made with `clone(CLONE_VM)` have pids of their own and the main
/// process for parent, and share its memory: threads in all but name.
#[test]
fn processes_that_share_the_main_process_memory_are_not_processes() {
    let (report, _) = grade_q6("hostile_shared_memory", &[], Duration::from_secs(20));
    assert_fails(
        &report,
        "processes",
        "shares the main process's memory (it was made with CLONE_VM or vfork",
    );
    assert_fails(&report, "processes", "the kernel saw 0");
}

/// The main process writes the children's lines by every route it can
/// think of while four real children idle: each byte is still attributed
/// to the process that wrote it, or the output fails as not attributed, or
/// the kernel refused the route (said on the program's stderr).
#[test]
fn every_byte_of_the_output_is_attributed() {
    for (mode, problem) in [
        ("high-fd", "was written by the main process"),
        ("sendmsg", "was written by the main process"),
        ("stderr-budget", "was written by the main process"),
        ("dup", "could not be attributed"),
        (
            "split-line",
            "was written by more than one process (the main process (",
        ),
    ] {
        let (_, report) = observe_q6("hostile_authorship", &[mode]);
        assert_fails(&report, "output", problem);
    }
    for (mode, refused) in [
        ("aio", "io_setup: refused (Function not implemented"),
        (
            "seccomp",
            "seccomp: refused (Operation not permitted (os error 1)); \
             prctl(PR_SET_SECCOMP): refused (Operation not permitted",
        ),
    ] {
        let (seen, report) = observe_q6("hostile_authorship", &[mode]);
        assert!(
            seen.stderr.text().contains(refused),
            "{mode}: {}",
            seen.stderr.text()
        );
        assert_fails(&report, "output", "was written by the main process");
    }
    // Its stdout is a socket, which /proc cannot open: the children's
    // lines stay theirs, and the run is right.
    let (seen, report) = observe_q6("hostile_authorship", &["read-back"]);
    assert!(
        seen.stderr
            .text()
            .contains("open /proc/self/fd/1 for reading: refused (No such device or address"),
        "{}",
        seen.stderr.text()
    );
    assert_passes(&report, "output");
}

/// Floods of calls, of tiny writes and of stop signals: the verdict comes
/// when the run is stopped at its timeout (see `timing.rs` for the bound a
/// test can hold).
#[test]
fn the_deadline_holds_whatever_the_program_does() {
    let timeout = Duration::from_secs(3);
    for mode in ["threads", "tiny-writes", "stop-signals"] {
        let (report, took) = grade_q6("hostile_deadline", &[mode], timeout);
        assert_stopped_in_time(took, timeout, mode);
        if mode != "tiny-writes" || report.failure("exit status").is_some() {
            assert_fails(&report, "exit status", "did not finish within 3 s");
        }
    }
}

/// An honest program that writes a million lines to stderr gets full
/// marks (what it costs to grade is measured in BENCHMARKS.md), and every
/// byte of its stderr is put down to the process that wrote it, by the
/// kernel's account of each sender: the main process's two million bytes,
/// and each child's line to that child.
#[test]
fn a_million_lines_of_stderr_do_not_cost_the_marks() {
    let (seen, report) = observe_q6("honest_loud_stderr", &[]);
    assert!(report.passed(), "{report}");
    let events = seen.traced.as_ref().expect("traced");
    let mut by: Vec<(i32, u64)> = Vec::new();
    for wrote in &seen.stderr.writers {
        match by.iter_mut().find(|(pid, _)| *pid == wrote.pid.as_raw()) {
            Some((_, bytes)) => *bytes += wrote.bytes,
            None => by.push((wrote.pid.as_raw(), wrote.bytes)),
        }
    }
    let main = by.iter().find(|(pid, _)| *pid == seen.main.as_raw());
    assert_eq!(main, Some(&(seen.main.as_raw(), 2_000_000)), "{by:?}");
    let children: Vec<i32> = events
        .children_of(seen.main)
        .map(|c| c.pid.as_raw())
        .collect();
    assert_eq!(children.len(), 4, "{children:?}");
    for child in &children {
        // "child N\n": eight bytes.
        assert!(by.contains(&(*child, 8)), "child {child}: {by:?}");
    }
    assert_eq!(by.len(), 5, "{by:?}");
    assert_eq!(seen.stderr.total, 2_000_000 + 4 * 8);
}

/// A run that hands its stderr to a process outside it (this test, at an
/// abstract socket, which only a run without a network namespace of its
/// own can reach): the bytes the outsider writes there are put down by the
/// kernel to the outsider, so the output is not attributed, though the
/// work is done right.
#[test]
#[expect(
    unsafe_code,
    reason = "descriptors received over a socket come as raw numbers"
)]
fn bytes_sent_by_a_process_outside_the_run_are_not_its_own() {
    use nix::sys::socket::{
        AddressFamily, Backlog, ControlMessageOwned, MsgFlags, SockFlag, SockType, UnixAddr,
        accept, bind, listen, recvmsg, socket,
    };
    use std::io::Write;
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

    let listener = socket(
        AddressFamily::Unix,
        SockType::Stream,
        SockFlag::SOCK_NONBLOCK | SockFlag::SOCK_CLOEXEC,
        None,
    )
    .expect("socket");
    let address = UnixAddr::new_abstract(b"grader-tests-stranger-output").expect("address");
    bind(listener.as_raw_fd(), &address).expect("bind the abstract socket");
    listen(&listener, Backlog::new(1).expect("backlog")).expect("listen");
    let binary = crate::binaries()
        .get("hostile_stranger_output")
        .expect("fixture built");
    let grader = std::process::Command::new(assert_cmd::cargo::cargo_bin("grader"))
        .env(grader::SANDBOX_ENV, "off")
        .arg("--binary")
        .arg(binary)
        .args(["--exercise", "q6"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("the grader runs");
    // Killed and reaped however the test ends.
    struct Reaped(std::process::Child);
    impl Drop for Reaped {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let mut grader = Reaped(grader);
    let until = Instant::now() + Duration::from_secs(60);
    let connection = loop {
        match accept(listener.as_raw_fd()) {
            // SAFETY: accept just returned it, owned by nothing else.
            Ok(fd) => break unsafe { OwnedFd::from_raw_fd(fd) },
            Err(nix::errno::Errno::EAGAIN) => {
                let ended = grader.0.try_wait().expect("wait");
                assert!(ended.is_none() && Instant::now() < until, "never connected");
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(e) => panic!("accept: {e}"),
        }
    };
    let mut byte = [0u8; 1];
    let mut iov = [std::io::IoSliceMut::new(&mut byte)];
    let mut space = nix::cmsg_space!([std::os::fd::RawFd; 1]);
    let message = recvmsg::<()>(
        connection.as_raw_fd(),
        &mut iov,
        Some(&mut space),
        MsgFlags::MSG_CMSG_CLOEXEC,
    )
    .expect("recvmsg");
    let fd = message
        .cmsgs()
        .expect("control messages")
        .find_map(|c| match c {
            ControlMessageOwned::ScmRights(fds) => fds.first().copied(),
            _ => None,
        })
        .expect("the run's stderr was sent");
    // SAFETY: the kernel just installed it for this process.
    let mut their_stderr = std::fs::File::from(unsafe { OwnedFd::from_raw_fd(fd) });
    their_stderr
        .write_all(b"from outside\n")
        .expect("write into the run's stderr");
    drop(their_stderr);
    drop(connection);
    let mut stdout = String::new();
    std::io::Read::read_to_string(grader.0.stdout.as_mut().expect("piped"), &mut stdout)
        .expect("read the report");
    let status = grader.0.wait().expect("wait");
    assert_eq!(status.code(), Some(1), "{stdout}");
    let expected = format!(
        "the output could not be attributed: 13 bytes of stderr were sent by process {}, which \
         is not a process of the run",
        std::process::id()
    );
    assert!(stdout.contains(&expected), "{stdout}");
}
