//! Hostile and careless Q6 submissions against each verdict the grader
//! concludes (grader/examples/hostile_*.rs and wrong_*.rs): for each fact,
//! what else could have produced the same evidence. Each test asserts what
//! the kernel showed: the verdict, its message, and how long it took.

use std::time::{Duration, Instant};

use grader::{RunReport, exercises, grade_run};

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

/// Asserts that `check` failed and its problem mentions `words`.
#[track_caller]
fn assert_fails(report: &RunReport, check: &str, words: &str) {
    let failure = report
        .failure(check)
        .unwrap_or_else(|| panic!("`{check}` should have failed:\n{report}"));
    assert!(
        failure.problem.contains(words),
        "`{check}` failed, but its problem does not mention {words:?}:\n{report}"
    );
}

#[track_caller]
fn assert_passes(report: &RunReport, check: &str) {
    assert!(
        report.failure(check).is_none(),
        "`{check}` should have passed:\n{report}"
    );
}

/// A stray whose main thread has exited (its stat says `Z`) while another
/// of its threads sleeps for 30 s is still running: it is counted and
/// killed, at once rather than when its thread wakes.
#[test]
fn a_process_whose_main_thread_exited_is_still_left_behind() {
    let (report, took) = grade_q6("hostile_zombie_leader", &[], Duration::from_secs(20));
    assert_fails(&report, "nothing left behind", "1 process was still running");
    assert_passes(&report, "output");
    assert_passes(&report, "concurrency");
    assert!(took < Duration::from_secs(10), "took {took:?}");
}
