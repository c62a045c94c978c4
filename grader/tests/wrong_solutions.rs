//! Each deliberately wrong solution (grader/examples/wrong_*.rs) is graded
//! as the exercise it imitates; the test names the checks that must fail
//! and what their message must say.

use std::time::Duration;

use grader::{Run, RunReport, exercises, judge, observe};

use crate::golden::assert_golden;

/// The timeout of a fixture that never ends, whose report shows where
/// each process was at the timeout: every process gets to its last wait in
/// 0.1-0.3 s on a quiet machine, and a loaded one has delayed a run by over
/// two seconds, so the snapshot is taken well after that.
const HANG_TIMEOUT: Duration = Duration::from_secs(5);

/// What the `exit status` check says of a run stopped at [`HANG_TIMEOUT`].
fn hung() -> String {
    format!("did not finish within {} s", HANG_TIMEOUT.as_secs())
}

/// Grades example `fixture` as run `run_index` of `exercise`, adjusted by
/// `adjust`, three times: a verdict that changes between tries is a defect.
/// The first report must match the fixture's golden report.
fn grade_wrong(fixture: &str, exercise: &str, run_index: usize, adjust: fn(&mut Run)) -> RunReport {
    grade_wrong_shown(fixture, exercise, run_index, adjust, false)
}

/// As [`grade_wrong`]; with `last_races`, for a fixture whose last lines
/// race with the children's (it does not wait for them), its golden report
/// sorts them among the children's lines.
fn grade_wrong_shown(
    fixture: &str,
    exercise: &str,
    run_index: usize,
    adjust: fn(&mut Run),
    last_races: bool,
) -> RunReport {
    let exercise = exercises::find(exercise).expect("registered");
    let mut run = (exercise.runs)().swap_remove(run_index);
    adjust(&mut run);
    let binary = crate::binaries().get(fixture).expect("fixture built");
    let grade = || {
        let seen = observe::observe(binary, &run).expect("observed");
        let report = judge(exercise, &run, &seen);
        (seen, report)
    };
    let (seen, first) = grade();
    // Under another start method the command line names it.
    let golden = match run.start_method {
        common::StartMethod::Fork => fixture.to_owned(),
        method => format!("{fixture}.{method}"),
    };
    let mut shown = run.clone();
    if last_races {
        shown
            .roles
            .push(grader::Role::line_each("main", run.last.iter().cloned()));
    }
    assert_golden(&golden, &shown, &seen, &first);
    for _ in 0..2 {
        let (_, again) = grade();
        let failed = |r: &RunReport| -> Vec<grader::CheckKind> {
            r.checks
                .iter()
                .filter(|c| c.failure.is_some())
                .map(|c| c.kind)
                .collect()
        };
        assert_eq!(
            failed(&again),
            failed(&first),
            "{fixture}: the verdict changed between runs"
        );
    }
    first
}

fn unchanged(_: &mut Run) {}

/// Asserts that `check` failed and its problem mentions `words`.
#[track_caller]
pub(crate) fn assert_fails(report: &RunReport, check: &str, words: &str) {
    let failure = report
        .failure(check)
        .unwrap_or_else(|| panic!("`{check}` should have failed:\n{report}"));
    assert!(
        failure.problem.contains(words),
        "`{check}` failed, but its problem does not mention {words:?}:\n{report}"
    );
    assert!(!failure.hint.is_empty(), "a failure has a hint");
}

#[track_caller]
pub(crate) fn assert_passes(report: &RunReport, check: &str) {
    assert!(
        report.failure(check).is_none(),
        "`{check}` should have passed:\n{report}"
    );
}

#[test]
fn threads_instead_of_processes() {
    let report = grade_wrong("wrong_q6_threads", "q6", 0, unchanged);
    assert_fails(&report, "output", "was written by the main process");
    assert_fails(
        &report,
        "processes",
        "expected 4 child processes of the main process, the kernel saw 0",
    );
    assert_fails(&report, "concurrency", "only 0 of 4");
}

#[test]
fn no_processes_at_all() {
    let report = grade_wrong("wrong_q6_no_processes", "q6", 0, unchanged);
    assert_fails(&report, "output", "was written by the main process");
    assert_fails(&report, "processes", "the kernel saw 0");
}

#[test]
fn final_line_before_children_finish() {
    let report = grade_wrong("wrong_q6_final_line_first", "q6", 0, unchanged);
    assert_fails(
        &report,
        "output",
        "`All processes have completed.` was written before the main process had joined its \
         children",
    );
    assert_passes(&report, "processes");
    assert_passes(&report, "concurrency");
}

/// The common slip: four started, one joined, then the final line. The
/// output often comes in the right order; the kernel's record of the final
/// line's write names the three children not joined, every time.
#[test]
fn final_line_after_joining_one_child_of_four() {
    let report = grade_wrong_shown("wrong_q6_join_one", "q6", 0, unchanged, true);
    assert_fails(
        &report,
        "output",
        "was written before the main process had joined its children: child processes",
    );
    assert_passes(&report, "processes");
    assert_passes(&report, "concurrency");
    assert_passes(&report, "exit status");
}

#[test]
fn final_line_without_joining() {
    let report = grade_wrong("wrong_q6_no_join", "q6", 0, unchanged);
    // Held at the rendezvous until the main process exited, the children
    // never printed; the kernel killed them with their parent
    // (PR_SET_PDEATHSIG), so none is left behind.
    assert_passes(&report, "nothing left behind");
    assert_fails(&report, "output", "`Process 1: Printing 1` is missing");
}

#[test]
fn a_number_twice() {
    let report = grade_wrong("wrong_q6_number_twice", "q6", 0, unchanged);
    assert_fails(
        &report,
        "output",
        "`Process 2: Printing 2` printed 2 times, expected 1",
    );
    assert_fails(&report, "output", "`Process 3: Printing 3` is missing");
    assert_passes(&report, "processes");
}

#[test]
fn non_zero_exit() {
    let report = grade_wrong("wrong_q6_exit_code", "q6", 0, unchanged);
    assert_fails(&report, "exit status", "exited with code 3");
    let failure = report.failure("exit status").expect("failed");
    assert!(
        failure.got.contains("something went wrong at the end"),
        "stderr is shown:\n{report}"
    );
    assert_passes(&report, "output");
}

#[test]
fn a_hang_is_killed_at_the_timeout() {
    let report = grade_wrong("wrong_q6_hang", "q6", 0, |run| run.timeout = HANG_TIMEOUT);
    assert_fails(&report, "exit status", &hung());
    assert_fails(
        &report,
        "output",
        "`All processes have completed.` is missing",
    );
    assert_passes(&report, "nothing left behind");
}

#[test]
fn grandchildren_are_not_children() {
    let report = grade_wrong("wrong_q6_grandchildren", "q6", 0, unchanged);
    assert_fails(
        &report,
        "processes",
        "expected 4 child processes of the main process, the kernel saw 1",
    );
    assert_fails(&report, "processes", "not of the main process");
}

#[test]
fn workers_one_after_another() {
    let report = grade_wrong("wrong_q3_sequential", "q3", 1, unchanged);
    assert_passes(&report, "output");
    assert_passes(&report, "processes");
    assert_fails(
        &report,
        "concurrency",
        "only 1 of 3 child processes were alive at the same time",
    );
    assert_fails(
        &report,
        "concurrency",
        "waited for a child before starting the others",
    );
}

/// Under the fork server, the main process has one more child, the server,
/// which never checks in: the grader must still see that the main process
/// waits while every worker it started is held, and let go.
#[test]
fn workers_one_after_another_from_a_fork_server() {
    let report = grade_wrong("wrong_q3_sequential", "q3", 1, |run| {
        run.start_method = common::StartMethod::Forkserver;
    });
    assert_passes(&report, "processes");
    assert_fails(
        &report,
        "concurrency",
        "waited for a child before starting the others",
    );
}

#[test]
fn a_pool_without_processes() {
    let report = grade_wrong("wrong_q5_no_pool", "q5", 0, unchanged);
    assert_passes(&report, "output");
    assert_fails(&report, "processes", "expected 4 child processes");
}

/// Q5 whose pool maps a function returning a made-up value while the main
/// process prints the list it worked out: the output is right, the
/// workers real, and the answers it read from them hold none of it.
#[test]
fn a_pool_whose_results_are_not_printed() {
    let report = grade_wrong("wrong_q5_made_up_values", "q5", 0, unchanged);
    assert_passes(&report, "output");
    assert_passes(&report, "processes");
    assert_fails(
        &report,
        "data",
        "`[1, 4, 9, 16, 25, 36, 49, 64, 81, 100]` lists the values `1`, `4`, `9` and 7 more \
         that the worker processes did not send the main process",
    );
    fails_data_every_grading("q5", "wrong_q5_made_up_values", "the made-up pool results");
}

#[test]
fn facts_printed_without_experiments() {
    let report = grade_wrong("wrong_q2_no_processes", "q2", 0, unchanged);
    assert_fails(
        &report,
        "output",
        "no process of the run was killed by SIGSEGV (11)",
    );
    assert_fails(
        &report,
        "processes",
        "expected 15 child processes of the main process, the kernel saw 0",
    );
}

#[test]
fn memory_shared_through_a_thread() {
    let report = grade_wrong("wrong_q2_thread_memory", "q2", 0, unchanged);
    assert_fails(
        &report,
        "output",
        "/memory/parent_after_child is 42, expected 0",
    );
    assert_passes(&report, "processes");
}

#[test]
fn crashes_typed_in_without_their_experiments() {
    let report = grade_wrong("wrong_q2_made_up_crashes", "q2", 0, unchanged);
    assert_fails(
        &report,
        "output",
        "no process of the run was killed by SIGSEGV (11)",
    );
    assert_fails(
        &report,
        "output",
        "no process of the run that had created a thread was killed by SIGABRT (6)",
    );
    assert_passes(&report, "processes");
}

#[test]
fn pids_made_up() {
    let report = grade_wrong("wrong_q4_made_up_pids", "q4", 0, unchanged);
    assert_fails(
        &report,
        "output",
        "expected 20 distinct ones the kernel saw",
    );
    assert_fails(&report, "output", "are not 2 processes the kernel saw");
    assert_fails(&report, "processes", "the kernel saw 0");
}

#[test]
fn a_process_left_running() {
    let report = grade_wrong("wrong_q6_leaves_a_process", "q6", 0, unchanged);
    assert_fails(
        &report,
        "nothing left behind",
        "1 process was still running",
    );
    assert_passes(&report, "output");
}

#[test]
fn processes_made_without_common() {
    let report = grade_wrong("wrong_q6_raw_fork", "q6", 0, unchanged);
    assert_fails(&report, "output", "which never checked in");
    assert_fails(
        &report,
        "processes",
        "the main process created 4 child processes in all, but 4 of them never checked in",
    );
    assert_fails(
        &report,
        "concurrency",
        "not shown: the main process created 4 child processes without common",
    );
}

/// Helpers that check in themselves while the main process prints every
/// line: the kernel's record of the writes gives them away.
#[test]
fn forged_check_ins_do_not_earn_the_output() {
    let report = grade_wrong("hostile_forged_checkins", "q6", 0, unchanged);
    assert_fails(
        &report,
        "output",
        "`Process 1: Printing 1` was written by the main process",
    );
    assert_fails(&report, "concurrency", "written by 0 child processes");
}

/// Threads that check in themselves are the main process.
#[test]
fn threads_checking_in_are_the_main_process() {
    let report = grade_wrong("hostile_thread_checkins", "q6", 0, unchanged);
    assert_fails(
        &report,
        "processes",
        "checked in from the main process itself",
    );
    assert_fails(&report, "output", "was written by the main process");
    assert_fails(&report, "concurrency", "only 0 of 4");
    assert_passes(&report, "exit status");
}

/// `clone(CLONE_UNTRACED)` is refused by the kernel (the filter), for one
/// escapee and for a bomb of 400.
#[test]
fn untraced_clones_are_refused() {
    let report = grade_wrong("hostile_untraced_clone", "q6", 0, unchanged);
    let got = &report.failure("output").expect("its own lines").got;
    assert!(
        got.contains("untraced clone: refused (Operation not permitted"),
        "{report}"
    );
    assert!(got.contains("untraced bomb: 0 of 400 made"), "{report}");
    assert_passes(&report, "nothing left behind");
}

/// Escape sequences in the output reach the report escaped.
#[test]
fn escape_sequences_are_shown_escaped() {
    let report = grade_wrong("hostile_escape_codes", "q6", 0, unchanged);
    let text = report.to_string();
    assert!(!text.contains('\x1b'), "a raw ESC reached the report");
    assert!(!text.contains('\u{9b}'), "a raw CSI reached the report");
    assert!(
        !text.contains('\r'),
        "a raw carriage return reached the report"
    );
    assert!(text.contains("\\x1b[2J\\x1b[H"), "{text}");
}

/// Q7's consumer counts to ten by itself: the output is right, but the
/// kernel shows that no number it printed had been taken out of the queue.
#[test]
fn a_consumer_that_counts_by_itself() {
    let report = grade_wrong("wrong_q7_counts_itself", "q7", 0, unchanged);
    assert_fails(
        &report,
        "data",
        "`Consumed 1`, `Consumed 2` and 8 more lines show values that the process printing them \
         had not taken",
    );
    assert_passes(&report, "output");
    assert_passes(&report, "processes");
}

/// Q7's consumer empties a queue it made itself: what it printed was taken
/// out of a queue, but one no other process held, and it put every value
/// in itself.
#[test]
fn a_consumer_with_a_queue_of_its_own() {
    let report = grade_wrong("wrong_q7_private_queue", "q7", 0, unchanged);
    assert_fails(
        &report,
        "data",
        "put into it by the process that printed it",
    );
    assert_passes(&report, "output");
}

/// Q7's consumer prints the number it expects before it takes the item.
#[test]
fn a_consumer_that_prints_before_it_takes() {
    let report = grade_wrong("wrong_q7_prints_before_taking", "q7", 0, unchanged);
    assert_fails(&report, "data", "had not taken out of a queue");
    assert_passes(&report, "output");
}

/// Q7 with threads: the lines come from the main process, which also put
/// every value in (its producer thread), and no other process holds the
/// queue.
#[test]
fn a_producer_and_consumer_as_threads() {
    let report = grade_wrong("wrong_q7_threads", "q7", 0, unchanged);
    assert_fails(&report, "processes", "the kernel saw 0");
    assert_fails(&report, "output", "was written by the main process");
    assert_fails(
        &report,
        "data",
        "put into it by the process that printed it",
    );
}

/// Q7's consumer fills the shared queue itself and takes its own values
/// out: each crossed a queue another process holds, but the processor saw
/// the consumer, not the producer, move the queue's tail past them.
#[test]
fn a_consumer_that_puts_its_own_values() {
    let report = grade_wrong("wrong_q7_consumer_puts", "q7", 0, unchanged);
    assert_fails(
        &report,
        "data",
        "`Consumed 1`, `Consumed 2` and 8 more lines show values taken out of the queue, but put \
         into it by the process that printed it",
    );
    assert_passes(&report, "output");
    assert_passes(&report, "processes");
}

/// Q7 whose main process puts the items while the producer idles: the
/// values crossed to the consumer, but from the wrong process.
#[test]
fn a_parent_that_produces_for_the_producer() {
    let report = grade_wrong("wrong_q7_parent_produces", "q7", 0, unchanged);
    assert_fails(
        &report,
        "data",
        "`Consumed 1`, `Consumed 2` and 8 more lines show values taken out of the queue, but put \
         into it by the main process",
    );
    assert_passes(&report, "output");
    assert_passes(&report, "processes");
}

/// Q7 whose parent takes the items itself, before joining: held at the
/// rendezvous until the parent waits for them, the children never let it
/// have any, and the timeout ends the run.
#[test]
fn a_parent_that_consumes_for_the_consumer() {
    let report = grade_wrong("wrong_q7_parent_consumes", "q7", 0, |run| {
        run.timeout = HANG_TIMEOUT
    });
    assert_fails(&report, "exit status", &hung());
    assert_fails(&report, "output", "`Consumed 1` is missing");
}

/// Q7 whose producer never puts `None`: the consumer waits for more and
/// the parent for the consumer until the timeout, and the report says so,
/// process by process, from what the kernel showed just before the kill.
#[test]
fn a_producer_that_never_says_it_is_done() {
    let report = grade_wrong("wrong_q7_no_end_mark", "q7", 0, |run| {
        run.timeout = HANG_TIMEOUT
    });
    assert_fails(&report, "exit status", &hung());
    let got = &report.failure("exit status").expect("failed").got;
    assert!(
        got.contains("(the main process): blocked in wait4, waiting for a child process to end"),
        "{got}"
    );
    assert!(
        got.contains("(role consumer): blocked in futex, waiting on a lock"),
        "{got}"
    );
    assert_eq!(
        got.matches("\npid ").count(),
        2,
        "the producer has ended: {got}"
    );
    assert_fails(&report, "output", "`Done.` is missing");
}

/// Q8 without the lock: the grader holds a child between its read and its
/// write of the counter and sees another write the counter meanwhile.
#[test]
fn a_counter_without_its_lock() {
    let report = grade_wrong("wrong_q8_no_lock", "q8", 0, unchanged);
    assert_fails(
        &report,
        "data",
        "another process wrote the shared value while the grader held a child between its read",
    );
    assert_passes(&report, "processes");
}

/// Q8 with a lock per process: held, but by no one else.
#[test]
fn a_counter_with_a_lock_per_process() {
    let report = grade_wrong("wrong_q8_lock_per_process", "q8", 0, unchanged);
    assert_fails(&report, "data", "nothing kept the others out");
}

/// Q8 counted in private numbers, the parent printing the product: the
/// output is right, and no child ever wrote a shared value.
#[test]
fn counters_of_their_own() {
    let report = grade_wrong("wrong_q8_private_counters", "q8", 0, unchanged);
    assert_fails(
        &report,
        "data",
        "the child processes added one to the shared value 0 times; 4000 updates were expected",
    );
    assert_passes(&report, "output");
}

/// Q8 whose processes count privately and, under the lock, write their
/// own count over the shared value: every write is of the shared value,
/// after a read, but none adds one to what it held.
#[test]
fn counters_of_their_own_written_over_the_shared_value() {
    let report = grade_wrong("wrong_q8_writes_its_own_count", "q8", 0, unchanged);
    assert_fails(
        &report,
        "data",
        "the child processes added one to the shared value 0 times; 4000 updates were expected",
    );
    assert_passes(&report, "output");
}

/// Q10 without a barrier: held back at its phase 1 line, one worker is
/// passed by the others' phase 2 lines, every time.
#[test]
fn workers_that_never_wait() {
    let report = grade_wrong("wrong_q10_no_barrier", "q10", 0, unchanged);
    assert_fails(
        &report,
        "data",
        "3 `Worker {} phase 2` lines were printed while the grader held a worker back",
    );
    assert_passes(&report, "processes");
    assert_passes(&report, "exit status");
}

/// Q10 with a sleep for a barrier: the sleepers are known to the tracer
/// (their sleep calls stop at it), so the held worker stays held until
/// they wake and print phase 2.
#[test]
fn workers_that_sleep_instead_of_waiting() {
    let report = grade_wrong("wrong_q10_sleep", "q10", 0, unchanged);
    assert_fails(&report, "data", "3 `Worker {} phase 2` lines were printed");
    assert_passes(&report, "processes");
}

/// Q10 with a barrier of one party per worker: each wait returns at once.
#[test]
fn workers_each_with_a_barrier_of_one() {
    let report = grade_wrong("wrong_q10_barrier_of_one", "q10", 0, unchanged);
    assert_fails(&report, "data", "the others did not wait for it");
}

/// Q10 with a barrier of four parties per worker: each waits for others
/// that never come; the timeout says where each was.
#[test]
fn workers_each_with_a_barrier_of_their_own() {
    let report = grade_wrong("wrong_q10_barrier_per_process", "q10", 0, |run| {
        run.timeout = HANG_TIMEOUT
    });
    assert_fails(&report, "exit status", &hung());
    let got = &report.failure("exit status").expect("failed").got;
    assert_eq!(
        got.matches("(role worker): blocked in futex, waiting on a lock, a barrier")
            .count(),
        4,
        "{got}"
    );
    assert_fails(&report, "output", "`Worker 0 phase 2` is missing");
}

/// Q10 with threads: no child process, so no worker to hold back.
#[test]
fn workers_as_threads() {
    let report = grade_wrong("wrong_q10_threads", "q10", 0, unchanged);
    assert_fails(&report, "processes", "the kernel saw 0");
    assert_fails(&report, "data", "no child process wrote a line");
}

/// Q11 whose parent prints squares it worked out itself: none was taken
/// out of the result queue; 1 and 4, which are also tasks, were taken out
/// of the task queue, but the parent put those in itself.
#[test]
fn a_parent_that_squares_by_itself() {
    let report = grade_wrong("wrong_q11_parent_squares", "q11", 0, unchanged);
    assert_fails(
        &report,
        "data",
        "`Square: 9`, `Square: 16` and 1 more lines show values that the process printing them \
         had not taken",
    );
    assert_fails(
        &report,
        "data",
        "`Square: 1` and `Square: 4` show values taken out of the queue, but put into it by the \
         process that printed it",
    );
    assert_passes(&report, "output");
    assert_passes(&report, "processes");
}

/// Q11 whose workers never call `task_done`: the parent's join of the
/// task queue never returns, and the timeout says where each process was.
#[test]
fn workers_that_never_mark_a_task_done() {
    let report = grade_wrong("wrong_q11_no_task_done", "q11", 0, |run| {
        run.timeout = HANG_TIMEOUT
    });
    assert_fails(&report, "exit status", &hung());
    let got = &report.failure("exit status").expect("failed").got;
    assert!(
        got.contains("(the main process): blocked in futex, waiting on a lock"),
        "{got}"
    );
    assert_eq!(
        got.matches("(role worker): blocked in futex").count(),
        2,
        "{got}"
    );
}

/// Q11 with threads and channels: no process, and no queue shared with
/// one.
#[test]
fn a_task_queue_of_threads() {
    let report = grade_wrong("wrong_q11_threads", "q11", 0, unchanged);
    assert_fails(&report, "processes", "the kernel saw 0");
    assert_fails(&report, "data", "had not taken out of a queue");
}

/// The missing lock is caught every time, not by luck: the no-lock counter
/// graded `GRADER_TRIALS` times (default 3; the figure in the README was
/// measured with 1000) fails its data check every time, and the count is
/// printed.
#[test]
fn a_missing_lock_fails_every_grading() {
    fails_data_every_grading("q8", "wrong_q8_no_lock", "the no-lock counter");
}

/// The missing barrier is caught every time: the workers that do not wait
/// (or only sleep) graded `GRADER_TRIALS` times (default 3) fail their
/// data check every time.
#[test]
fn a_missing_barrier_fails_every_grading() {
    fails_data_every_grading(
        "q10",
        "wrong_q10_no_barrier",
        "the workers without a barrier",
    );
    fails_data_every_grading("q10", "wrong_q10_sleep", "the workers that sleep");
}

/// Grades `fixture` as the first run of `exercise` `GRADER_TRIALS` times
/// and checks that its data check failed every time; prints the count.
fn fails_data_every_grading(exercise: &str, fixture: &str, what: &str) {
    let trials = crate::trials(3);
    let exercise = exercises::find(exercise).expect("registered");
    let run = (exercise.runs)().swap_remove(0);
    let binary = crate::binaries().get(fixture).expect("fixture built");
    let mut failed = 0;
    for _ in 0..trials {
        let seen = observe::observe(binary, &run).expect("observed");
        if judge(exercise, &run, &seen).failure("data").is_some() {
            failed += 1;
        }
    }
    println!("{what} failed the data check in {failed} of {trials} gradings");
    assert_eq!(failed, trials, "a grading let {fixture} through");
}

/// Q9 with no pipe: the two processes take turns on semaphores and print
/// what the other would have said. The output is right; the kernel saw no
/// message cross.
#[test]
fn a_ping_pong_with_no_pipe() {
    let report = grade_wrong("wrong_q9_no_pipe", "q9", 0, unchanged);
    assert_fails(
        &report,
        "data",
        "`Child received: ping 0`, `Child received: ping 1` and 3 more lines show values that the \
         process printing them had not received by then over a pipe from the main process",
    );
    assert_fails(
        &report,
        "data",
        "had not received by then over a pipe from the child",
    );
    assert_passes(&report, "output");
    assert_passes(&report, "processes");
}

/// Q9 whose parent prints the child's lines: the messages cross, but the
/// child's lines come from a process that received no ping.
#[test]
fn a_parent_that_prints_for_the_child() {
    let report = grade_wrong("wrong_q9_parent_prints_for_child", "q9", 0, unchanged);
    assert_fails(&report, "output", "was written by the main process");
    assert_fails(
        &report,
        "data",
        "had not received by then over a pipe from the main process",
    );
}

/// Q9 with a thread for the child: the pipe joins two threads of one
/// process, so nothing crossed between processes.
#[test]
fn a_ping_pong_between_threads() {
    let report = grade_wrong("wrong_q9_threads", "q9", 0, unchanged);
    assert_fails(&report, "processes", "the kernel saw 0");
    assert_fails(&report, "data", "over a pipe from the main process");
    assert_fails(&report, "data", "over a pipe from the child");
}

/// Q9 whose child prints the ping it expects before it receives it (it
/// waits for the message with `poll`, so the order of the lines is right).
#[test]
fn a_child_that_prints_before_it_receives() {
    let report = grade_wrong("wrong_q9_prints_before_receiving", "q9", 0, unchanged);
    assert_fails(
        &report,
        "data",
        "had not received by then over a pipe from the main process",
    );
    assert!(
        !report
            .failure("data")
            .expect("failed")
            .problem
            .contains("from the child"),
        "the pongs did cross:\n{report}"
    );
    assert_passes(&report, "output");
}

/// Q9 whose parent makes up the pongs: the child's replies cross, but they
/// are not what the parent prints.
#[test]
fn a_parent_that_makes_up_the_pongs() {
    let report = grade_wrong("wrong_q9_made_up_pong", "q9", 0, unchanged);
    assert_fails(
        &report,
        "data",
        "`Parent received: pong 0`, `Parent received: pong 1` and 3 more lines show values that \
         the process printing them had not received by then over a pipe from the child",
    );
    assert_passes(&report, "output");
}

/// Q9 whose parent sends each pong to itself over a second pipe: what it
/// prints crossed a pipe, but from no other process.
#[test]
fn a_parent_that_sends_the_pongs_to_itself() {
    let report = grade_wrong("wrong_q9_pong_to_itself", "q9", 0, unchanged);
    assert_fails(&report, "data", "over a pipe from the child");
    assert_passes(&report, "output");
}

/// Q9 in which both sides receive first: the timeout ends it within its
/// bound, and nothing is left behind.
#[test]
fn a_ping_pong_that_deadlocks() {
    let report = grade_wrong("wrong_q9_deadlock", "q9", 0, |run| {
        run.timeout = HANG_TIMEOUT
    });
    assert_fails(&report, "exit status", &hung());
    assert_fails(&report, "output", "`Child received: ping 0` is missing");
    assert_passes(&report, "nothing left behind");
}

/// Q9 whose child holds the parent's end too (it crossed to the child as
/// an argument) and sends each ping to itself: the pings crossed the pipe,
/// from no other process.
#[test]
fn a_child_that_pings_itself_through_the_parents_end() {
    let report = grade_wrong("wrong_q9_pings_itself", "q9", 0, unchanged);
    assert_fails(
        &report,
        "data",
        "had not received by then over a pipe from the main process",
    );
    assert_passes(&report, "output");
}

/// Q9 whose parent sends every ping at once: each message crosses, and an
/// `Event` keeps the output right, but every ping after the first was sent
/// before the pong line it must follow was printed.
#[test]
fn a_parent_that_sends_every_ping_at_once() {
    let report = grade_wrong("wrong_q9_pings_all_at_once", "q9", 0, unchanged);
    assert_fails(
        &report,
        "data",
        "`Child received: ping 1` shows a message the main process sent before `Parent \
         received: pong 0` was printed (and 3 more such lines)",
    );
    assert_passes(&report, "output");
}

/// Q9 whose child replies before it prints: each message crosses, and an
/// `Event` keeps the output right, but every pong was sent before the
/// child's line it answers was printed.
#[test]
fn a_child_that_replies_before_it_prints() {
    let report = grade_wrong("wrong_q9_replies_before_printing", "q9", 0, unchanged);
    assert_fails(
        &report,
        "data",
        "`Parent received: pong 0` shows a message the child sent before `Child received: \
         ping 0` was printed (and 4 more such lines)",
    );
    assert_passes(&report, "output");
}
