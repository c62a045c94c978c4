//! Tests of `common` that fork.
//!
//! libtest runs every test on a thread of its own, and `common` refuses to
//! fork a multi-threaded process (see the crate docs), so this file has its
//! own harness: libtest-mimic with one test thread, which runs each test on
//! the main thread. After every test, passed or failed, the harness kills and
//! reaps any child the test left behind, and fails the test if there was one.
//!
//! Tests that need to see this process's own stdout re-run this binary with
//! `ROLE_ENV` set, and read its output through a pipe or a file.

use std::fs::File;
use std::io::{self, Read};
use std::panic::{self, AssertUnwindSafe};
use std::process::Command;
use std::time::Duration;

use common::{
    Array, Barrier, Connection, Ended, Error, Event, JoinableQueue, Lock, Pool, Process, Queue,
    Semaphore, Value,
};
use libtest_mimic::{Arguments, Failed, Trial};
use nix::sys::signal::{Signal, kill};
use nix::sys::wait::waitpid;
use nix::unistd::{Pid, getpid};

/// When set, this binary plays the program named by its value instead of
/// running tests.
const ROLE_ENV: &str = "COMMON_FORK_TEST_ROLE";

fn main() {
    if let Ok(role) = std::env::var(ROLE_ENV) {
        play(&role);
        return;
    }
    // Orphans of the processes a test starts (its roles' workers, once the
    // role is killed) come to this process, so that no zombie is left to
    // init and `run_leaving_nothing` sees every one.
    nix::sys::prctl::set_child_subreaper(true).expect("become a subreaper");
    let mut args = Arguments::from_args();
    args.test_threads = Some(1);
    let tests: &[(&str, fn())] = &[
        (
            "process_runs_target_in_a_child",
            process_runs_target_in_a_child,
        ),
        (
            "process_exitcode_follows_python",
            process_exitcode_follows_python,
        ),
        ("process_starts_once", process_starts_once),
        ("process_not_started", process_not_started),
        (
            "process_is_alive_until_it_ends",
            process_is_alive_until_it_ends,
        ),
        (
            "process_join_timeout_says_whether_it_ended",
            process_join_timeout_says_whether_it_ended,
        ),
        ("process_names_count_up", process_names_count_up),
        ("process_drop_joins", process_drop_joins),
        (
            "fork_refused_when_multi_threaded",
            fork_refused_when_multi_threaded,
        ),
        (
            "output_is_not_doubled_to_a_pipe",
            output_is_not_doubled_to_a_pipe,
        ),
        (
            "output_is_not_doubled_to_a_file",
            output_is_not_doubled_to_a_file,
        ),
        (
            "child_output_without_newline_is_kept",
            child_output_without_newline_is_kept,
        ),
        ("pool_map_keeps_input_order", pool_map_keeps_input_order),
        (
            "pool_workers_are_child_processes_reused",
            pool_workers_are_child_processes_reused,
        ),
        (
            "pool_default_size_is_cpu_count",
            pool_default_size_is_cpu_count,
        ),
        ("pool_of_zero_is_an_error", pool_of_zero_is_an_error),
        (
            "pool_worker_exit_names_item_and_code",
            pool_worker_exit_names_item_and_code,
        ),
        (
            "pool_worker_sigkill_names_signal",
            pool_worker_sigkill_names_signal,
        ),
        (
            "pool_worker_abort_names_signal",
            pool_worker_abort_names_signal,
        ),
        ("pool_task_panic_names_item", pool_task_panic_names_item),
        ("pool_drop_reaps_workers", pool_drop_reaps_workers),
        ("pool_chunksizes_agree", pool_chunksizes_agree),
        (
            "pool_large_jobs_and_results_do_not_deadlock",
            pool_large_jobs_and_results_do_not_deadlock,
        ),
        (
            "pool_death_mid_chunk_names_the_item",
            pool_death_mid_chunk_names_the_item,
        ),
        ("pool_starmap_and_apply", pool_starmap_and_apply),
        (
            "pool_apply_async_waits_for_its_task",
            pool_apply_async_waits_for_its_task,
        ),
        (
            "pool_apply_async_reports_success",
            pool_apply_async_reports_success,
        ),
        ("pool_get_timeout_gives_up", pool_get_timeout_gives_up),
        (
            "pool_imap_is_ordered_and_lazy",
            pool_imap_is_ordered_and_lazy,
        ),
        (
            "pool_imap_unordered_yields_as_completed",
            pool_imap_unordered_yields_as_completed,
        ),
        (
            "pool_close_then_join_finishes_queued_work",
            pool_close_then_join_finishes_queued_work,
        ),
        (
            "pool_join_before_close_is_an_error",
            pool_join_before_close_is_an_error,
        ),
        (
            "pool_terminate_kills_a_stuck_worker",
            pool_terminate_kills_a_stuck_worker,
        ),
        (
            "pool_initializer_runs_once_per_worker",
            pool_initializer_runs_once_per_worker,
        ),
        (
            "pool_maxtasksperchild_replaces_workers",
            pool_maxtasksperchild_replaces_workers,
        ),
        (
            "pool_undecodable_result_fails_that_item_only",
            pool_undecodable_result_fails_that_item_only,
        ),
        (
            "pool_sigint_terminates_workers_and_exits_130",
            pool_sigint_terminates_workers_and_exits_130,
        ),
        (
            "pool_workers_die_with_a_killed_parent",
            pool_workers_die_with_a_killed_parent,
        ),
        (
            "process_daemon_is_terminated_on_drop",
            process_daemon_is_terminated_on_drop,
        ),
        ("current_and_parent_process", current_and_parent_process),
        (
            "lifecycle_log_names_each_event",
            lifecycle_log_names_each_event,
        ),
        ("pipe_ends_cross_to_a_child", pipe_ends_cross_to_a_child),
        (
            "pipe_closed_when_the_child_ends_silent",
            pipe_closed_when_the_child_ends_silent,
        ),
        (
            "pipe_end_refused_as_a_pool_task",
            pipe_end_refused_as_a_pool_task,
        ),
        (
            "lock_held_by_one_process_at_a_time",
            lock_held_by_one_process_at_a_time,
        ),
        (
            "queue_keeps_each_producers_order",
            queue_keeps_each_producers_order,
        ),
        (
            "queue_carries_values_larger_than_a_pipe",
            queue_carries_values_larger_than_a_pipe,
        ),
        (
            "semaphore_lets_in_as_many_as_it_has_places",
            semaphore_lets_in_as_many_as_it_has_places,
        ),
        ("event_wakes_a_waiting_child", event_wakes_a_waiting_child),
        (
            "value_add_loses_no_update_across_processes",
            value_add_loses_no_update_across_processes,
        ),
        (
            "barrier_lets_no_one_through_early",
            barrier_lets_no_one_through_early,
        ),
        (
            "joinable_queue_join_waits_for_every_task",
            joinable_queue_join_waits_for_every_task,
        ),
    ];
    let trials = tests
        .iter()
        .map(|&(name, test)| Trial::test(name, move || run_leaving_nothing(test)))
        .collect();
    libtest_mimic::run(&args, trials).exit();
}

/// Runs `test`, then kills and reaps every child it left; a leftover fails it.
/// A test still running after two minutes kills the whole binary.
fn run_leaving_nothing(test: fn()) -> Result<(), Failed> {
    // A test that hangs is killed by SIGALRM rather than holding up CI.
    nix::unistd::alarm::set(120);
    let outcome = panic::catch_unwind(AssertUnwindSafe(test));
    nix::unistd::alarm::cancel();
    let leftovers = children_of(getpid());
    for &pid in &leftovers {
        let _ = kill(pid, Signal::SIGKILL);
        let _ = waitpid(pid, None);
    }
    if let Err(payload) = outcome {
        panic::resume_unwind(payload);
    }
    if leftovers.is_empty() {
        Ok(())
    } else {
        Err(format!("left child processes behind: {leftovers:?}").into())
    }
}

/// The processes whose parent is `parent`, zombies included, from /proc.
fn children_of(parent: Pid) -> Vec<Pid> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|entry| {
            let pid: i32 = entry.file_name().to_str()?.parse().ok()?;
            (parent_of(Pid::from_raw(pid))? == parent).then_some(Pid::from_raw(pid))
        })
        .collect()
}

/// The parent of `pid` by the kernel's account (`/proc/PID/stat`, field 4).
fn parent_of(pid: Pid) -> Option<Pid> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name in parentheses may itself hold spaces or parentheses.
    let after_name = &stat[stat.rfind(')')? + 1..];
    let ppid = after_name.split_whitespace().nth(1)?.parse().ok()?;
    Some(Pid::from_raw(ppid))
}

fn read_all(mut from: impl Read) -> String {
    let mut text = String::new();
    from.read_to_string(&mut text)
        .expect("the pipe is readable");
    text
}

/// Writes this process's pid and parent pid to the file `path`.
fn write_pids(path: String) {
    let ppid = nix::unistd::getppid();
    std::fs::write(path, format!("{} {}", std::process::id(), ppid)).expect("write the file");
}

fn process_runs_target_in_a_child() {
    let dir = temp_dir();
    let path = path_in(&dir, "pids");
    let mut process = Process::with_args(write_pids, path.clone());
    process.start().expect("start");
    let pid = process.pid().expect("a started process has a pid");
    process.join().expect("join");
    let text = std::fs::read_to_string(&path).expect("the child wrote the file");
    let (child, parent) = text.split_once(' ').expect("the child wrote two pids");
    assert_eq!(
        child,
        pid.to_string(),
        "the target ran in the process with the reported pid"
    );
    assert_ne!(
        child,
        std::process::id().to_string(),
        "the target ran in another process"
    );
    assert_eq!(
        parent,
        std::process::id().to_string(),
        "the child's parent is this process"
    );
}

fn exitcode_of(target: fn()) -> Option<i32> {
    let mut process = Process::new(target);
    process.start().expect("start");
    process.join().expect("join");
    process.exitcode()
}

fn process_exitcode_follows_python() {
    assert_eq!(exitcode_of(|| {}), Some(0), "a target that returns");
    assert_eq!(
        exitcode_of(|| panic!("on purpose")),
        Some(1),
        "a target that panics"
    );
    assert_eq!(
        exitcode_of(|| std::process::exit(3)),
        Some(3),
        "a target that exits with 3"
    );
    assert_eq!(
        exitcode_of(|| std::process::abort()),
        Some(-6),
        "a target that aborts"
    );
    let killed = exitcode_of(|| {
        let _ = kill(getpid(), Signal::SIGKILL);
    });
    assert_eq!(killed, Some(-9), "a target killed by SIGKILL");
}

fn process_starts_once() {
    let mut process = Process::new(|| {});
    process.start().expect("first start");
    let second = process.start();
    assert!(
        matches!(&second, Err(Error::AlreadyStarted { name }) if name == process.name()),
        "a second start is an error, got {second:?}"
    );
    process.join().expect("join");
}

fn process_not_started() {
    let process = Process::new(|| {});
    assert!(!process.is_alive());
    assert_eq!(process.exitcode(), None);
    assert_eq!(process.pid(), None);
    assert!(matches!(process.join(), Err(Error::NotStarted { .. })));
    assert!(matches!(process.terminate(), Err(Error::NotStarted { .. })));
}

/// A process that runs until it is signalled: it cannot end on its own, so
/// what the tests observe of it does not depend on timing.
fn blocked_process() -> Process {
    let mut process = Process::new(|| {
        loop {
            std::thread::park();
        }
    });
    process.start().expect("start");
    process
}

fn process_is_alive_until_it_ends() {
    let process = blocked_process();
    assert!(
        process.is_alive(),
        "a child that cannot end on its own is alive"
    );
    assert_eq!(process.exitcode(), None, "no exit code while running");
    process.terminate().expect("terminate");
    process.join().expect("join");
    assert!(!process.is_alive());
    assert_eq!(process.exitcode(), Some(-15), "killed by SIGTERM");
    process.join().expect("join is idempotent");
    process
        .terminate()
        .expect("terminating an ended process does nothing");
}

fn process_join_timeout_says_whether_it_ended() {
    let process = blocked_process();
    let ended = process
        .join_timeout(Duration::from_millis(20))
        .expect("join_timeout");
    assert!(!ended, "the child cannot end on its own");
    process.kill().expect("kill");
    let ended = process
        .join_timeout(Duration::from_secs(30))
        .expect("join_timeout");
    assert!(ended, "the child ends once killed");
    assert_eq!(process.ended(), Some(Ended::Signaled(Signal::SIGKILL)));
}

fn process_names_count_up() {
    let first = Process::new(|| {});
    let second = Process::new(|| {});
    let number = |p: &Process| -> usize {
        p.name()
            .strip_prefix("Process-")
            .and_then(|n| n.parse().ok())
            .expect("named Process-N")
    };
    assert_eq!(number(&second), number(&first) + 1);
}

fn process_drop_joins() {
    let process = blocked_process();
    let pid = Pid::from_raw(process.pid().expect("started") as i32);
    process.terminate().expect("terminate");
    drop(process);
    // Reaped: the pid is no longer a child of ours, not even a zombie.
    assert!(
        !children_of(getpid()).contains(&pid),
        "drop reaps the child"
    );
}

fn fork_refused_when_multi_threaded() {
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    let thread = std::thread::spawn(move || rx.recv());
    let mut process = Process::new(|| {});
    process.set_start_method(common::StartMethod::Fork);
    let started = process.start();
    let pool = Pool::builder()
        .processes(1)
        .start_method(common::StartMethod::Fork)
        .build();
    // Spawn starts the child afresh, so it is safe from here.
    let mut spawned = Process::new(|| {});
    spawned.set_start_method(common::StartMethod::Spawn);
    spawned.start().expect("spawn works with threads");
    spawned.join().expect("join");
    assert_eq!(spawned.exitcode(), Some(0));
    drop(tx);
    thread.join().expect("the thread ends").ok();
    assert!(
        matches!(started, Err(Error::MultiThreaded { threads: 2 })),
        "start with a second thread alive: {started:?}"
    );
    assert!(
        matches!(pool, Err(Error::MultiThreaded { .. })),
        "pool: {pool:?}"
    );
    assert_eq!(process.pid(), None);
    process
        .start()
        .expect("once single-threaded again, start works");
    process.join().expect("join");
}

/// Runs this binary as `role` with stdout going to `stdout` and returns what
/// it printed there, after checking it succeeded.
fn play_as(role: &str, stdout: std::process::Stdio) -> std::process::Output {
    let output = Command::new(std::env::current_exe().expect("current exe"))
        .env(ROLE_ENV, role)
        .stdout(stdout)
        .output()
        .expect("run this binary");
    assert!(output.status.success(), "{role} failed: {output:?}");
    output
}

/// The programs `play_as` runs.
fn play(role: &str) {
    match role {
        "partial-line-before-fork" => {
            print!("partial ");
            let mut process = Process::new(|| println!("child"));
            process.start().expect("start");
            process.join().expect("join");
            println!("parent");
        }
        "child-without-newline" => {
            let mut process = Process::new(|| print!("child without newline"));
            process.start().expect("start");
            process.join().expect("join");
            println!();
        }
        "pool-until-interrupted" | "pool-until-killed" => {
            let dir = std::env::var("FORK_TEST_DIR").expect("FORK_TEST_DIR is set");
            let mut pool = Pool::new(2).expect("pool");
            println!("{:?}", pool.pids());
            let tasks = (0..2)
                .map(|i| format!("{dir}/started-{i}"))
                .collect::<Vec<_>>();
            match pool.map_chunked(announce_then_block, tasks, Some(1)) {
                Err(Error::Interrupted) => {
                    eprintln!("interrupted");
                    std::process::exit(130);
                }
                other => panic!("expected an interruption, got {other:?}"),
            }
        }
        "logged" => {
            let mut process = Process::new(|| {});
            process.start().expect("start");
            process.join().expect("join");
            let mut pool = Pool::new(1).expect("pool");
            pool.map(square, [1, 2]).expect("map");
        }
        _ => panic!("unknown role {role}"),
    }
}

fn output_is_not_doubled_to_a_pipe() {
    let output = play_as("partial-line-before-fork", std::process::Stdio::piped());
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "partial child\nparent\n"
    );
}

fn output_is_not_doubled_to_a_file() {
    let file = tempfile::tempfile().expect("temp file");
    play_as(
        "partial-line-before-fork",
        file.try_clone().expect("clone").into(),
    );
    let mut file: File = file;
    io::Seek::rewind(&mut file).expect("rewind");
    assert_eq!(read_all(file), "partial child\nparent\n");
}

fn child_output_without_newline_is_kept() {
    let output = play_as("child-without-newline", std::process::Stdio::piped());
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "child without newline\n"
    );
}

fn square(n: u64) -> u64 {
    n * n
}

fn worker_pid(_: u32) -> u32 {
    std::process::id()
}

fn pool_map_keeps_input_order() {
    let mut pool = Pool::new(3).expect("pool");
    let expected: Vec<u64> = (0..1000).map(|n| n * n).collect();
    assert_eq!(pool.map(square, 0..1000).expect("map"), expected);
    assert_eq!(
        pool.map(square, Vec::<u64>::new()).expect("empty map"),
        Vec::<u64>::new()
    );
}

fn pool_workers_are_child_processes_reused() {
    let mut pool = Pool::new(2).expect("pool");
    let workers = pool.pids();
    assert_eq!(workers.len(), 2);
    assert_ne!(workers[0], workers[1], "two distinct processes");
    for &pid in &workers {
        assert_eq!(
            parent_of(Pid::from_raw(pid as i32)),
            Some(getpid()),
            "worker {pid} is our child"
        );
    }
    for round in 0..3 {
        let seen = pool.map(worker_pid, 0..50).expect("map");
        assert!(
            seen.iter().all(|pid| workers.contains(pid)),
            "round {round}: every task ran in one of the pool's workers {workers:?}, got {seen:?}"
        );
    }
    assert_eq!(pool.pids(), workers, "the same workers after three maps");
}

fn pool_default_size_is_cpu_count() {
    let pool = Pool::with_cpus().expect("pool");
    assert_eq!(pool.processes(), common::cpu_count());
    assert_eq!(common::cpu_count(), num_cpus_from_proc());
}

/// What `/sys` says about online CPUs, as a second opinion on `cpu_count`.
fn num_cpus_from_proc() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

fn pool_of_zero_is_an_error() {
    let error = Pool::new(0).expect_err("a pool of 0 workers");
    assert_eq!(
        error.to_string(),
        "a pool needs at least one worker process, got 0"
    );
}

fn exit_at_3(n: u32) -> u32 {
    if n == 3 {
        std::process::exit(7);
    }
    n
}

fn sigkill_at_5(n: u32) -> u32 {
    if n == 5 {
        let _ = kill(getpid(), Signal::SIGKILL);
    }
    n
}

fn abort_at_2(n: u32) -> u32 {
    if n == 2 {
        std::process::abort();
    }
    n
}

fn panic_at_4(n: u32) -> u32 {
    assert_ne!(n, 4, "four is not allowed");
    n
}

fn identity(n: u32) -> u32 {
    n
}

/// Maps `func` over 0..8 on a pool of 2, expects it to fail with
/// `WorkerDied` for item `index` ended by `how`, then checks the pool
/// still works with fresh workers.
fn expect_worker_death(func: fn(u32) -> u32, index: usize, how: Ended) {
    let mut pool = Pool::new(2).expect("pool");
    let before = pool.pids();
    let error = pool.map(func, 0..8).expect_err("a worker died");
    match &error {
        Error::WorkerDied {
            index: i,
            pid,
            how: h,
        } => {
            assert_eq!((*i, *h), (index, how), "{error}");
            assert!(
                before.contains(pid),
                "the pid {pid} is one of the workers {before:?}"
            );
            assert!(
                !pool.pids().contains(pid),
                "the dead worker {pid} was replaced"
            );
        }
        other => panic!("expected WorkerDied, got {other:?}"),
    }
    let message = error.to_string();
    assert!(
        message.contains(&format!("item {index}")),
        "the message names the item: {message}"
    );
    assert_eq!(pool.processes(), 2, "the pool keeps its size");
    assert_eq!(
        pool.map(identity, 0..8).expect("map after a death"),
        (0..8).collect::<Vec<_>>()
    );
}

fn pool_worker_exit_names_item_and_code() {
    expect_worker_death(exit_at_3, 3, Ended::Exited(7));
}

fn pool_worker_sigkill_names_signal() {
    expect_worker_death(sigkill_at_5, 5, Ended::Signaled(Signal::SIGKILL));
}

fn pool_worker_abort_names_signal() {
    expect_worker_death(abort_at_2, 2, Ended::Signaled(Signal::SIGABRT));
}

fn pool_task_panic_names_item() {
    let mut pool = Pool::new(2).expect("pool");
    let error = pool.map(panic_at_4, 0..8).expect_err("a task panicked");
    assert!(
        matches!(&error, Error::TaskPanicked { index: 4, message, .. } if message.contains("four is not allowed")),
        "{error:?}"
    );
    assert_eq!(
        pool.map(identity, 0..3).expect("map after a panic"),
        [0, 1, 2]
    );
}

fn pool_drop_reaps_workers() {
    let mut pool = Pool::new(3).expect("pool");
    pool.map(square, 0..10).expect("map");
    let workers = pool.pids();
    drop(pool);
    let left = children_of(getpid());
    for pid in workers {
        assert!(
            !left.contains(&Pid::from_raw(pid as i32)),
            "worker {pid} was reaped"
        );
    }
}

fn pow(base: u64, exponent: u32) -> u64 {
    base.pow(exponent)
}

/// Blocks until `path` exists; a rendezvous with the test, not a timer.
fn wait_for_file(path: &str) {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while !std::path::Path::new(path).exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "{path} never appeared"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
}

fn wait_then_42(path: String) -> u32 {
    wait_for_file(&path);
    42
}

/// Item `(index, Some(path))` waits for `path`; `(index, None)` does not.
fn maybe_wait(item: (u32, Option<String>)) -> u32 {
    if let Some(path) = &item.1 {
        wait_for_file(path);
    }
    item.0
}

fn announce_then_block(path: String) -> u32 {
    std::fs::write(&path, b"").expect("write the started file");
    loop {
        std::thread::park();
    }
}

fn block_forever(_: u32) -> u32 {
    loop {
        std::thread::park();
    }
}

/// Blocks SIGTERM, then spins: only SIGKILL ends it.
fn spin_deaf_to_sigterm(_: u32) -> u32 {
    let mut set = nix::sys::signal::SigSet::empty();
    set.add(Signal::SIGTERM);
    set.thread_block().expect("block SIGTERM");
    #[expect(clippy::empty_loop, reason = "a worker stuck in a loop is the point")]
    loop {}
}

fn boom(_: u32) -> u32 {
    panic!("boom");
}

fn temp_dir() -> tempfile::TempDir {
    tempfile::tempdir().expect("temp dir")
}

fn path_in(dir: &tempfile::TempDir, name: &str) -> String {
    dir.path()
        .join(name)
        .to_str()
        .expect("utf-8 path")
        .to_owned()
}

fn pool_chunksizes_agree() {
    let mut pool = Pool::new(3).expect("pool");
    let expected: Vec<u64> = (0..100).map(|n| n * n).collect();
    for chunksize in [1, 3, 1000] {
        let got = pool
            .map_chunked(square, 0..100, Some(chunksize))
            .expect("map");
        assert_eq!(got, expected, "chunksize {chunksize}");
    }
}

fn pool_starmap_and_apply() {
    let mut pool = Pool::new(2).expect("pool");
    assert_eq!(
        pool.starmap(pow, [(2, 3), (3, 2), (10, 0)])
            .expect("starmap"),
        [8, 9, 1]
    );
    assert_eq!(pool.apply(square, 7).expect("apply"), 49);
}

fn pool_apply_async_waits_for_its_task() {
    let dir = temp_dir();
    let gate = path_in(&dir, "gate");
    let mut pool = Pool::new(2).expect("pool");
    let handle = pool
        .apply_async(wait_then_42, gate.clone())
        .expect("apply_async");
    assert!(
        !handle.ready(),
        "the task cannot finish before the gate opens"
    );
    assert!(matches!(handle.successful(), Err(Error::NotReady)));
    // The pool is free for other work meanwhile.
    assert_eq!(pool.apply(square, 5).expect("apply"), 25);
    std::fs::write(&gate, b"").expect("open the gate");
    assert_eq!(handle.get().expect("get"), 42);
}

fn wait_until_ready<R: serde::de::DeserializeOwned>(handle: &common::AsyncResult<R>) {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while !handle.ready() {
        assert!(std::time::Instant::now() < deadline, "never ready");
        std::thread::sleep(Duration::from_millis(1));
    }
}

fn pool_apply_async_reports_success() {
    let mut pool = Pool::new(2).expect("pool");
    let fine = pool.apply_async(square, 3).expect("apply_async");
    let failing = pool.apply_async(boom, 3).expect("apply_async");
    wait_until_ready(&fine);
    wait_until_ready(&failing);
    assert!(fine.successful().expect("ready"));
    assert!(!failing.successful().expect("ready"));
    assert_eq!(fine.get().expect("get"), 9);
    assert!(matches!(
        failing.get(),
        Err(Error::TaskPanicked { index: 0, .. })
    ));
}

fn pool_get_timeout_gives_up() {
    let mut pool = Pool::new(1).expect("pool");
    let stuck = pool.apply_async(block_forever, 0).expect("apply_async");
    let error = stuck
        .get_timeout(Duration::from_millis(30))
        .expect_err("cannot finish");
    assert!(matches!(error, Error::Timeout(_)), "{error:?}");
    pool.terminate();
}

fn pool_imap_is_ordered_and_lazy() {
    let dir = temp_dir();
    let gate = path_in(&dir, "gate");
    let mut pool = Pool::new(2).expect("pool");
    let items = vec![(0, None), (1, Some(gate.clone())), (2, None)];
    let mut results = pool.imap(maybe_wait, items, None).expect("imap");
    // Item 1 cannot finish until the gate opens: item 0 comes first anyway.
    assert_eq!(results.next().map(|(i, r)| (i, r.ok())), Some((0, Some(0))));
    std::fs::write(&gate, b"").expect("open the gate");
    assert_eq!(results.next().map(|(i, r)| (i, r.ok())), Some((1, Some(1))));
    assert_eq!(results.next().map(|(i, r)| (i, r.ok())), Some((2, Some(2))));
    assert!(results.next().is_none());
}

fn pool_imap_unordered_yields_as_completed() {
    let dir = temp_dir();
    let gate = path_in(&dir, "gate");
    let mut pool = Pool::new(2).expect("pool");
    let items = vec![(0, Some(gate.clone())), (1, None)];
    let mut results = pool
        .imap_unordered(maybe_wait, items, None)
        .expect("imap_unordered");
    // Item 0 waits for the gate, so item 1 completes first.
    assert_eq!(results.next().map(|(i, r)| (i, r.ok())), Some((1, Some(1))));
    std::fs::write(&gate, b"").expect("open the gate");
    assert_eq!(results.next().map(|(i, r)| (i, r.ok())), Some((0, Some(0))));
    assert!(results.next().is_none());
}

fn pool_close_then_join_finishes_queued_work() {
    let mut pool = Pool::new(2).expect("pool");
    let handle = pool.apply_async(square, 5).expect("apply_async");
    pool.close();
    assert!(matches!(pool.map(square, [1]), Err(Error::PoolNotRunning)));
    pool.join().expect("join");
    assert_eq!(handle.get().expect("queued work ran"), 25);
    for pid in pool.pids() {
        assert!(
            !children_of(getpid()).contains(&Pid::from_raw(pid as i32)),
            "{pid} reaped"
        );
    }
}

fn pool_join_before_close_is_an_error() {
    let mut pool = Pool::new(1).expect("pool");
    assert!(matches!(pool.join(), Err(Error::PoolStillRunning)));
}

fn pool_terminate_kills_a_stuck_worker() {
    let mut pool = Pool::new(1).expect("pool");
    let stuck = pool
        .apply_async(spin_deaf_to_sigterm, 0)
        .expect("apply_async");
    assert!(!stuck.ready(), "dispatched, and it cannot finish");
    pool.terminate();
    assert!(matches!(stuck.get(), Err(Error::Terminated { index: 0 })));
    pool.join().expect("join after terminate");
    assert!(matches!(pool.map(square, [1]), Err(Error::PoolNotRunning)));
}

static INITIALIZED: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

fn initialize() {
    INITIALIZED.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
}

fn times_initialized(_: u32) -> (u32, u32) {
    (
        std::process::id(),
        INITIALIZED.load(std::sync::atomic::Ordering::SeqCst),
    )
}

fn pool_initializer_runs_once_per_worker() {
    let mut pool = Pool::builder()
        .processes(2)
        .initializer(initialize)
        .build()
        .expect("pool");
    let seen = pool
        .map_chunked(times_initialized, 0..20, Some(1))
        .expect("map");
    assert!(seen.iter().all(|&(_, count)| count == 1), "{seen:?}");
    assert_eq!(
        INITIALIZED.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "not in the parent"
    );
}

fn pool_maxtasksperchild_replaces_workers() {
    let mut pool = Pool::builder()
        .processes(2)
        .maxtasksperchild(1)
        .build()
        .expect("pool");
    let pids = pool.map_chunked(worker_pid, 0..6, Some(1)).expect("map");
    let distinct: std::collections::BTreeSet<_> = pids.iter().collect();
    assert_eq!(distinct.len(), 6, "each job in a fresh worker: {pids:?}");
    assert_eq!(pool.processes(), 2);
    assert_eq!(pool.map(identity, [7]).expect("still usable"), [7]);
}

/// A value that refuses to decode when it is 3.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "u32", into = "u32")]
struct Picky(u32);

impl TryFrom<u32> for Picky {
    type Error = String;
    fn try_from(n: u32) -> Result<Picky, String> {
        if n == 3 {
            Err("3 is refused".into())
        } else {
            Ok(Picky(n))
        }
    }
}

impl From<Picky> for u32 {
    fn from(p: Picky) -> u32 {
        p.0
    }
}

fn unchecked_picky(n: u32) -> u32 {
    n
}

fn pool_undecodable_result_fails_that_item_only() {
    let mut pool = Pool::new(2).expect("pool");
    // The worker sends a plain u32; decoding it as Picky fails for 3 only.
    let as_picky: fn(u32) -> Picky = |n| Picky(unchecked_picky(n));
    let error = pool.map(as_picky, 0..6).expect_err("3 cannot be decoded");
    assert!(matches!(&error, Error::Codec { index: 3, .. }), "{error:?}");
    let results: Vec<_> = pool.imap(as_picky, 0..6, None).expect("imap").collect();
    for (index, result) in results {
        assert_eq!(result.is_err(), index == 3, "item {index}: {result:?}");
    }
}

/// Runs this binary as `role` in a process group of its own, with a
/// directory for rendezvous files; returns the child and the directory.
fn start_role(role: &str) -> (std::process::Child, tempfile::TempDir) {
    use std::os::unix::process::CommandExt;
    let dir = temp_dir();
    let child = Command::new(std::env::current_exe().expect("current exe"))
        .env(ROLE_ENV, role)
        .env("FORK_TEST_DIR", dir.path())
        .process_group(0)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start the role");
    for i in 0..2 {
        wait_for_file(&path_in(&dir, &format!("started-{i}")));
    }
    (child, dir)
}

/// The live (not zombie) processes of process group `group`.
fn group_alive(group: Pid) -> Vec<Pid> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|&pid| {
            let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
                return false;
            };
            let Some(close) = stat.rfind(')') else {
                return false;
            };
            let fields: Vec<&str> = stat[close + 2..].split(' ').collect();
            fields.first() != Some(&"Z") && fields.get(2) == Some(&group.to_string().as_str())
        })
        .map(Pid::from_raw)
        .collect()
}

/// Waits, at most 5 s, for group `group` to have no live process left, and
/// reaps those that came to this process (it is a subreaper).
fn wait_group_gone(group: Pid) -> Vec<Pid> {
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        let alive = group_alive(group);
        if alive.is_empty() || std::time::Instant::now() >= deadline {
            for pid in children_of(getpid()) {
                let _ = waitpid(pid, Some(nix::sys::wait::WaitPidFlag::WNOHANG));
            }
            return alive;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn pool_sigint_terminates_workers_and_exits_130() {
    let (child, _dir) = start_role("pool-until-interrupted");
    let group = Pid::from_raw(child.id() as i32);
    nix::sys::signal::killpg(group, Signal::SIGINT).expect("Ctrl-C");
    let output = child.wait_with_output().expect("the role ends");
    assert_eq!(output.status.code(), Some(130), "{output:?}");
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        "interrupted\n",
        "one line, none per worker"
    );
    assert_eq!(
        wait_group_gone(group),
        Vec::<Pid>::new(),
        "workers terminated and reaped"
    );
}

fn pool_workers_die_with_a_killed_parent() {
    let (mut child, _dir) = start_role("pool-until-killed");
    let group = Pid::from_raw(child.id() as i32);
    kill(group, Signal::SIGKILL).expect("kill -9 the parent");
    child.wait().expect("reap the parent");
    assert_eq!(
        wait_group_gone(group),
        Vec::<Pid>::new(),
        "the kernel killed the orphaned workers"
    );
}

fn process_daemon_is_terminated_on_drop() {
    let mut process = Process::new(|| {
        loop {
            std::thread::park();
        }
    });
    process.set_daemon(true);
    process.start().expect("start");
    let pid = Pid::from_raw(process.pid().expect("started") as i32);
    drop(process);
    assert!(
        !children_of(getpid()).contains(&pid),
        "terminated and reaped"
    );
}

/// Writes who this process is, and who its parent is, to the file `path`.
fn write_identity(path: String) {
    let me = common::current_process();
    let parent = common::parent_process().expect("a child has a parent");
    let text = format!("{} {} {} {}", me.name, me.pid, parent.name, parent.pid);
    std::fs::write(path, text).expect("write the file");
}

fn current_and_parent_process() {
    let me = common::current_process();
    assert_eq!(me.name, "MainProcess");
    assert_eq!(me.pid, std::process::id());
    assert_eq!(common::parent_process(), None);
    let dir = temp_dir();
    let path = path_in(&dir, "identity");
    let mut process = Process::with_args(write_identity, path.clone());
    process.start().expect("start");
    process.join().expect("join");
    let text = std::fs::read_to_string(&path).expect("the child wrote the file");
    let expected = format!(
        "{} {} MainProcess {}",
        process.name(),
        process.pid().expect("started"),
        std::process::id()
    );
    assert_eq!(text, expected);
}

fn lifecycle_log_names_each_event() {
    let output = Command::new(std::env::current_exe().expect("current exe"))
        .env(ROLE_ENV, "logged")
        .env(common::LOG_ENV, "1")
        .output()
        .expect("run");
    assert!(output.status.success(), "{output:?}");
    let log = String::from_utf8_lossy(&output.stderr);
    for event in [
        "started: pid",
        "exited with code 0",
        "dispatched items 0..",
        "PoolWorker-1 started",
    ] {
        assert!(log.contains(event), "the log lacks {event:?}:\n{log}");
    }
    assert!(log.lines().all(|l| l.starts_with("[common ")), "{log}");
}

fn pool_death_mid_chunk_names_the_item() {
    let mut pool = Pool::new(2).expect("pool");
    // One chunk of eight: the worker dies on the fourth item, having
    // finished three whose results it never sent.
    let error = pool
        .map_chunked(exit_at_3, 0..8, Some(8))
        .expect_err("died");
    assert!(
        matches!(
            error,
            Error::WorkerDied {
                index: 3,
                how: Ended::Exited(7),
                ..
            }
        ),
        "{error:?}"
    );
    let results: Vec<_> = pool.imap(exit_at_3, 0..8, Some(8)).expect("imap").collect();
    for (index, result) in &results {
        assert_eq!(result.is_err(), *index == 3, "item {index}: {result:?}");
    }
    assert_eq!(results.len(), 8, "every item answered once");
}

fn hundred_bytes(n: u32) -> Vec<u8> {
    vec![n.to_le_bytes()[0]; 100]
}

/// Jobs and answers far larger than a pipe's buffer, with jobs sent ahead:
/// neither side may block writing while the other does.
fn pool_large_jobs_and_results_do_not_deadlock() {
    let mut pool = Pool::new(2).expect("pool");
    let results = pool.map(hundred_bytes, 0..100_000).expect("map");
    assert_eq!(results.len(), 100_000);
    assert!(
        results
            .iter()
            .enumerate()
            .all(|(n, r)| r[99] == (n as u32).to_le_bytes()[0])
    );
    let results = pool
        .map_chunked(hundred_bytes, 0..20_000, Some(1))
        .expect("map");
    assert_eq!(results.len(), 20_000);
}

/// Receives a number on one end and answers its double on the other.
fn double_back((input, output): (Connection, Connection)) {
    let n: u64 = input.recv().expect("the parent sends a number");
    output
        .send(&(n * 2, std::process::id()))
        .expect("the parent listens");
}

/// Two ends cross in one argument, under whichever start method is in
/// force: under spawn as descriptors beside the encoded tuple.
fn pipe_ends_cross_to_a_child() {
    let (to_child, input) = common::pipe().expect("pipe");
    let (from_child, output) = common::pipe().expect("pipe");
    let mut process = Process::with_args(double_back, (input, output));
    process.start().expect("start");
    to_child.send(&21u64).expect("send");
    let (doubled, pid): (u64, u32) = from_child.recv().expect("an answer");
    assert_eq!(doubled, 42);
    assert_eq!(Some(pid), process.pid(), "the child answered");
    process.join().expect("join");
    assert_eq!(process.exitcode(), Some(0));
}

fn say_nothing(_: Connection) {}

/// Once started, the parent holds no copy of the end it gave away: when the
/// child ends without sending, `recv` says the pipe closed instead of
/// waiting forever.
fn pipe_closed_when_the_child_ends_silent() {
    let (ours, theirs) = common::pipe().expect("pipe");
    let mut process = Process::with_args(say_nothing, theirs);
    process.start().expect("start");
    assert!(matches!(ours.recv::<u32>(), Err(Error::PipeClosed)));
    process.join().expect("join");
}

fn ends_nowhere(_: Connection) -> u32 {
    0
}

/// A pool task's arguments cross as bytes with no descriptors: an end among
/// them fails that item with a message saying where ends may go.
fn pipe_end_refused_as_a_pool_task() {
    let (_ours, theirs) = common::pipe().expect("pipe");
    let mut pool = Pool::new(1).expect("pool");
    let error = pool.apply(ends_nowhere, theirs).expect_err("refused");
    assert!(
        error
            .to_string()
            .contains("only as an argument of Process::with_args"),
        "{error}"
    );
}

/// Takes the lock, says so, and holds it until told to let go.
fn hold_until_told((lock, talk): (Lock, Connection)) {
    let _held = lock.acquire().expect("the lock");
    talk.send(&"holding").expect("the parent listens");
    let _: String = talk.recv().expect("told to let go");
}

/// Tries the lock at once, reports, then waits for it and reports again.
fn try_then_wait((lock, talk): (Lock, Connection)) {
    let free_at_once = lock
        .acquire_timeout(Duration::ZERO)
        .expect("tried")
        .is_some();
    talk.send(&free_at_once).expect("the parent listens");
    let _held = lock.acquire().expect("the lock");
    talk.send(&true).expect("the parent listens");
}

/// Mutual exclusion shown by rendezvous, not timing: while one process is
/// known to hold the lock, another cannot take it; once the first lets go,
/// the second does.
fn lock_held_by_one_process_at_a_time() {
    let lock = Lock::new().expect("lock");
    let (first_talk, theirs) = common::pipe().expect("pipe");
    let mut first = Process::with_args(hold_until_told, (lock.try_clone().expect("dup"), theirs));
    first.start().expect("start");
    assert_eq!(first_talk.recv::<String>().expect("news"), "holding");

    let (second_talk, theirs) = common::pipe().expect("pipe");
    let mut second = Process::with_args(try_then_wait, (lock.try_clone().expect("dup"), theirs));
    second.start().expect("start");
    assert!(
        !second_talk.recv::<bool>().expect("news"),
        "the lock was taken while another process held it"
    );
    first_talk.send(&"let go").expect("send");
    assert!(second_talk.recv::<bool>().expect("news"), "taken once free");
    first.join().expect("join");
    second.join().expect("join");
    assert!(
        lock.acquire_timeout(Duration::ZERO)
            .expect("tried")
            .is_some()
    );
}

fn produce((queue, producer): (Queue<(u32, u32)>, u32)) {
    for n in 0..200 {
        queue.put(&(producer, n)).expect("put");
    }
}

/// Three processes put at once; every value arrives once and whole, each
/// producer's in the order it put them.
fn queue_keeps_each_producers_order() {
    let queue = Queue::new().expect("queue");
    let producers: Vec<Process> = (0..3)
        .map(|p| {
            let mut process = Process::with_args(produce, (queue.try_clone().expect("dup"), p));
            process.start().expect("start");
            process
        })
        .collect();
    let mut next = [0u32; 3];
    for _ in 0..600 {
        let (producer, n) = queue.get().expect("a value");
        assert_eq!(n, next[producer as usize], "producer {producer} in order");
        next[producer as usize] += 1;
    }
    assert_eq!(next, [200; 3]);
    for process in &producers {
        process.join().expect("join");
        assert_eq!(process.exitcode(), Some(0));
    }
    assert!(matches!(
        queue.get_timeout(Duration::from_millis(1)),
        Err(Error::Timeout(_))
    ));
}

fn put_a_megabyte(queue: Queue<Vec<u8>>) {
    queue.put(&vec![7u8; 1 << 20]).expect("put");
}

/// A value far larger than a pipe's buffer: the child's put waits for the
/// parent's get, and both finish.
fn queue_carries_values_larger_than_a_pipe() {
    let queue = Queue::new().expect("queue");
    let mut process = Process::with_args(put_a_megabyte, queue.try_clone().expect("dup"));
    process.start().expect("start");
    let value = queue.get().expect("the value");
    process.join().expect("join");
    assert_eq!(value.len(), 1 << 20);
    assert!(value.iter().all(|&b| b == 7));
}

/// Takes a place, says so, and keeps it until told to let go.
fn hold_a_place((places, talk): (Semaphore, Connection)) {
    let _place = places.acquire().expect("a place");
    talk.send(&true).expect("the parent listens");
    let _: bool = talk.recv().expect("told to let go");
}

/// Two places, two processes known to hold them: a third cannot get in
/// until one lets go.
fn semaphore_lets_in_as_many_as_it_has_places() {
    let places = Semaphore::new(2).expect("semaphore");
    let holders: Vec<(Process, Connection)> = (0..2)
        .map(|_| {
            let (talk, theirs) = common::pipe().expect("pipe");
            let mut process =
                Process::with_args(hold_a_place, (places.try_clone().expect("dup"), theirs));
            process.start().expect("start");
            assert!(talk.recv::<bool>().expect("holding"));
            (process, talk)
        })
        .collect();
    assert!(
        places
            .acquire_timeout(Duration::ZERO)
            .expect("tried")
            .is_none(),
        "a third holder got in"
    );
    holders[0].1.send(&true).expect("send");
    holders[0].0.join().expect("join");
    assert!(
        places
            .acquire_timeout(Duration::ZERO)
            .expect("tried")
            .is_some()
    );
    holders[1].1.send(&true).expect("send");
    holders[1].0.join().expect("join");
}

/// Waits (without a deadline that matters) for the event, then reports
/// whether it was set.
fn wait_for_event((event, talk): (Event, Connection)) {
    talk.send(&"waiting").expect("the parent listens");
    let set = event.wait(Duration::from_secs(60)).expect("waited");
    talk.send(&set).expect("the parent listens");
}

/// A child blocked on an event wakes when the parent sets it, and sees it
/// set; the parent's own `is_set` agrees.
fn event_wakes_a_waiting_child() {
    let event = Event::new().expect("event");
    let (talk, theirs) = common::pipe().expect("pipe");
    let mut process = Process::with_args(wait_for_event, (event.try_clone().expect("dup"), theirs));
    process.start().expect("start");
    assert_eq!(talk.recv::<String>().expect("news"), "waiting");
    assert!(
        !talk.poll(Duration::ZERO).expect("polled"),
        "woke before set"
    );
    event.set().expect("set");
    assert!(talk.recv::<bool>().expect("news"), "woke and saw it set");
    process.join().expect("join");
    assert!(event.is_set().expect("asked"));
    event.clear().expect("cleared");
    assert!(!event.is_set().expect("asked"));
}

fn add_a_thousand((total, counts, slot): (Value, Array, usize)) {
    for _ in 0..1000 {
        total.add(1);
        counts.add(slot, 1);
    }
}

/// Four processes add at once to one shared value and each to its own
/// element: the atomic adds lose nothing, whatever the interleaving.
fn value_add_loses_no_update_across_processes() {
    let total = Value::new(0).expect("value");
    let counts = Array::new(4).expect("array");
    let processes: Vec<Process> = (0..4)
        .map(|slot| {
            let args = (
                total.try_clone().expect("dup"),
                counts.try_clone().expect("dup"),
                slot,
            );
            let mut process = Process::with_args(add_a_thousand, args);
            process.start().expect("start");
            process
        })
        .collect();
    for process in &processes {
        process.join().expect("join");
        assert_eq!(process.exitcode(), Some(0));
    }
    assert_eq!(total.get(), 4000);
    assert_eq!(counts.to_vec(), [1000; 4]);
}

const ROUNDS: usize = 5;

/// Each round: count myself in, wait at the barrier, and check that every
/// party was counted in before anyone got through.
fn meet_every_round((barrier, arrived): (Barrier, Array)) {
    for round in 0..ROUNDS {
        arrived.add(round, 1);
        barrier.wait().expect("the others come");
        assert_eq!(
            arrived.get(round),
            barrier.parties() as i64,
            "through round {round} before everyone arrived"
        );
    }
}

/// Three processes and the parent meet five times at one barrier; nobody
/// passes a round before all four have arrived at it.
fn barrier_lets_no_one_through_early() {
    let barrier = Barrier::new(4).expect("barrier");
    let arrived = Array::new(ROUNDS).expect("array");
    let processes: Vec<Process> = (0..3)
        .map(|_| {
            let args = (
                barrier.try_clone().expect("dup"),
                arrived.try_clone().expect("dup"),
            );
            let mut process = Process::with_args(meet_every_round, args);
            process.start().expect("start");
            process
        })
        .collect();
    meet_every_round((barrier, arrived.try_clone().expect("dup")));
    for process in &processes {
        process.join().expect("join");
        assert_eq!(process.exitcode(), Some(0), "a child got through early");
    }
    assert_eq!(arrived.to_vec(), [4; ROUNDS]);
}

/// Takes values, adds them up in shared memory, marks each done.
fn add_up((queue, sum): (JoinableQueue<i64>, Value)) {
    loop {
        let n = queue.get().expect("a value");
        sum.add(n);
        queue.task_done().expect("one per get");
    }
}

/// `join` returns only once every value put has been taken and marked
/// done: the sum the workers built is complete by then.
fn joinable_queue_join_waits_for_every_task() {
    let queue = JoinableQueue::new().expect("queue");
    let sum = Value::new(0).expect("value");
    let mut workers: Vec<Process> = (0..2)
        .map(|_| {
            let args = (
                queue.try_clone().expect("dup"),
                sum.try_clone().expect("dup"),
            );
            Process::with_args(add_up, args)
        })
        .collect();
    for worker in &mut workers {
        worker.set_daemon(true);
        worker.start().expect("start");
    }
    for n in 1..=100 {
        queue.put(&n).expect("put");
    }
    queue.join().expect("join");
    assert_eq!(sum.get(), 5050);
    assert!(matches!(queue.task_done(), Err(Error::TaskDoneTooOften)));
}
