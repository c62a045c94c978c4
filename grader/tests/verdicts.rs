//! Hostile and careless Q6 submissions against each verdict the grader
//! concludes (grader/examples/hostile_*.rs and wrong_*.rs): for each fact,
//! what else could have produced the same evidence. Each test asserts what
//! the kernel showed: the verdict, its message, and how long it took.

use std::time::{Duration, Instant};

use grader::observe::Observation;
use grader::{RunReport, exercises, grade_run, judge, observe};

use crate::wrong_solutions::{assert_fails, assert_passes};

/// Grades example `fixture` as q6 with `args` and `timeout`; returns the
/// report and how long grading took.
fn grade_q6(fixture: &str, args: &[&str], timeout: Duration) -> (RunReport, Duration) {
    let exercise = exercises::find("q6").expect("registered");
    let mut run = (exercise.runs)().swap_remove(0);
    run.args = args.iter().map(|&a| a.to_owned()).collect();
    run.timeout = timeout;
    let binary = crate::binaries().get(fixture).expect("fixture built");
    let start = Instant::now();
    let report = grade_run(exercise, &run, binary).expect("graded");
    (report, start.elapsed())
}

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
    let (report, took) = grade_q6("hostile_zombie_leader", &[], Duration::from_secs(20));
    assert_fails(
        &report,
        "nothing left behind",
        "1 process was still running",
    );
    assert_passes(&report, "output");
    assert_passes(&report, "concurrency");
    assert!(took < Duration::from_secs(10), "took {took:?}");
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
/// socket closed (`hang-up`), none counts as held at the rendezvous.
#[test]
fn only_processes_alive_and_waiting_at_one_instant_are_concurrent() {
    for mode in ["exit", "linger", "hang-up"] {
        let (report, took) = grade_q6("hostile_rendezvous", &[mode], Duration::from_secs(20));
        assert_fails(&report, "concurrency", "of 4 child processes were alive");
        assert_passes(&report, "processes");
        assert!(took < Duration::from_secs(10), "{mode}: took {took:?}");
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
/// by the timeout plus 2 s, with the run stopped.
#[test]
fn the_deadline_holds_whatever_the_program_does() {
    let timeout = Duration::from_secs(3);
    for mode in ["threads", "tiny-writes", "stop-signals"] {
        let (report, took) = grade_q6("hostile_deadline", &[mode], timeout);
        // The figure, for `--nocapture`.
        eprintln!("hostile_deadline {mode}: verdict after {took:?} on a {timeout:?} timeout");
        assert!(
            took < timeout + Duration::from_secs(2),
            "{mode}: the verdict took {took:?}"
        );
        if mode != "tiny-writes" || report.failure("exit status").is_some() {
            assert_fails(&report, "exit status", "did not finish within 3 s");
        }
    }
}

/// An honest program that writes a million lines to stderr gets full
/// marks (what it costs to grade is measured in BENCHMARKS.md).
#[test]
fn a_million_lines_of_stderr_do_not_cost_the_marks() {
    let (report, _) = grade_q6("honest_loud_stderr", &[], Duration::from_secs(20));
    assert!(report.passed(), "{report}");
}
