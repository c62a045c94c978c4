//! How long a verdict may take, for the tests that time one.
//!
//! The grader bounds every wait of a run by the run's timeout plus
//! [`VERDICT_GRACE`], counted from the start of the sandbox's launch (the
//! unit tests of `observe/deadline.rs` show each bounded wait ends there);
//! judging comes on top, tens of milliseconds. On a quiet machine the
//! verdicts of the runs stopped at their timeout come 10-40 ms after it
//! (`--nocapture` prints each figure). A test that timed only that would
//! depend on the machine: a whole CI run beside the grader has delayed a
//! verdict by over two seconds. So the tests below ask what separates
//! the behaviours, by a wide margin: a run the grader had to stop never
//! ends of itself (a flood, a loop), so a grader that did not stop it
//! never returns; and a run that must not be waited out is graded in a
//! fraction of its timeout.

use std::time::{Duration, Instant};

use grader::observe::VERDICT_GRACE;
use grader::{RunReport, exercises, grade_run};

/// What a loaded machine may add to a verdict's time beyond the grader's
/// own bound.
const LOAD_SLACK: Duration = Duration::from_secs(3);

/// A run that went on until the grader stopped it at `timeout` had its
/// verdict after `took`: by the timeout, [`VERDICT_GRACE`] and
/// [`LOAD_SLACK`].
#[track_caller]
pub fn assert_stopped_in_time(took: Duration, timeout: Duration, what: &str) {
    let bound = timeout + VERDICT_GRACE + LOAD_SLACK;
    assert!(
        took < bound,
        "{what}: the verdict took {took:?}, over {bound:?} on a {timeout:?} timeout"
    );
}

/// A run that must not be waited out (the grader stops it at a limit, or
/// sees it end however it hides) had its verdict after `took`: within
/// half its `timeout`, however loaded the machine.
#[track_caller]
pub fn assert_before_timeout(took: Duration, timeout: Duration, what: &str) {
    assert!(
        took < timeout / 2,
        "{what}: the verdict took {took:?}, not well before the {timeout:?} timeout"
    );
}

/// Grades example `fixture` as q6 with `args` and `timeout`; returns the
/// report and how long grading took (printed, for `--nocapture`).
pub fn grade_q6(fixture: &str, args: &[&str], timeout: Duration) -> (RunReport, Duration) {
    let exercise = exercises::find("q6").expect("registered");
    let mut run = (exercise.runs)().swap_remove(0);
    run.args = args.iter().map(|&a| a.to_owned()).collect();
    run.timeout = timeout;
    let binary = crate::binaries().get(fixture).expect("fixture built");
    let start = Instant::now();
    let report = grade_run(exercise, &run, binary).expect("graded");
    let took = start.elapsed();
    eprintln!("{fixture} {args:?}: verdict after {took:?} on a {timeout:?} timeout");
    (report, took)
}
