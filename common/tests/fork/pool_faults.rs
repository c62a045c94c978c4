//! Pool faults that come from a task or from the program around the pool:
//! a task that closes its worker's descriptors, a worker whose own child
//! holds its pipes when it dies, a death while the program only waits for
//! callbacks, a worker lost after the program started a thread, and
//! workers that block every signal or are stopped when the pool is dropped
//! or terminated.

use std::io::Write;
use std::sync::mpsc;
use std::time::Instant;

use crate::support::*;

fork_tests! {
    /// A task that closes its worker's descriptors (its pipes to the pool
    /// among them) fails that item, and the item is not run again: the
    /// pool goes on with a new worker. With stdio closed too, the same.
    fn pool_task_closing_its_workers_descriptors_fails_its_item_once() {
        for first in [3, 0] {
            let dir = temp_dir();
            let runs = path_in(&dir, "runs");
            let mut pool = Pool::new(2).expect("pool");
            let items = (0..8).map(|n| (n, first, runs.clone()));
            let error = pool
                .chunksize(1).map(close_descriptors_at_3, items)
                .expect_err("item 3 broke its worker");
            assert!(
                matches!(error, Error::WorkerDied { index: 3, .. }),
                "closing from {first}: {error}"
            );
            assert!(error.to_string().contains("item 3"), "{error}");
            assert_eq!(times_run(&runs), 1, "closing from {first}: run once, not retried");
            assert_eq!(pool.map(identity, 0..8).expect("usable after"), (0..8).collect::<Vec<_>>());
            assert_eq!(pool.processes(), 2);
        }
    }

    /// The same task inside a job of several items: the item fails, and it
    /// runs at most twice (once in its job, once alone to tell it from the
    /// others); the other items succeed.
    fn pool_task_closing_its_workers_descriptors_in_a_chunk_fails_that_item() {
        let dir = temp_dir();
        let runs = path_in(&dir, "runs");
        let mut pool = Pool::new(2).expect("pool");
        let handles: Vec<_> = (0..8)
            .map(|n| pool.apply_async(close_descriptors_at_3, (n, 3, runs.clone())).expect("queued"))
            .collect();
        for (n, handle) in handles.into_iter().enumerate() {
            let outcome = handle.get();
            if n == 3 {
                assert!(matches!(outcome, Err(Error::WorkerDied { index: 0, .. })), "{outcome:?}");
            } else {
                assert_eq!(outcome.expect("an innocent item"), n as u32);
            }
        }
        assert_eq!(times_run(&runs), 1, "apply_async: one item per job, run once");
        let runs = path_in(&dir, "runs-chunked");
        let items = (0..16).map(|n| (n, 3, runs.clone()));
        let error = pool.chunksize(4).map(close_descriptors_at_3, items).expect_err("item 3");
        assert!(matches!(error, Error::WorkerDied { index: 3, .. }), "{error}");
        assert!((1..=2).contains(&times_run(&runs)), "ran {} times", times_run(&runs));
        assert_eq!(pool.map(identity, 0..8).expect("usable after"), (0..8).collect::<Vec<_>>());
    }

    /// A worker whose task forked a child of its own (which inherits the
    /// worker's pipes and keeps them open), then aborted: its death is seen
    /// from the kernel, not when that child lets go of the pipes (which
    /// it never does until this test kills it: the bound is only for a
    /// failure to be a failure, wide for a loaded machine and a slow core
    /// dump).
    fn pool_worker_death_is_seen_while_its_child_holds_its_pipes() {
        let dir = temp_dir();
        let mut pool = Pool::new(1).expect("pool");
        let worker = pool.pids()[0];
        let pending = pool
            .apply_async(fork_a_holder_then_abort, path_in(&dir, "holder"))
            .expect("queued");
        let outcome = pending.get_timeout(Duration::from_secs(60));
        let holder = read_pid(&path_in(&dir, "holder"));
        // The holder came to this process (a subreaper) when the worker died.
        kill(holder, Signal::SIGKILL).expect("kill the holder");
        let _ = waitpid(holder, None);
        match outcome {
            Err(Error::WorkerDied { index: 0, pid, how: Ended::Signaled(Signal::SIGABRT) }) => {
                assert_eq!(pid, worker);
            }
            other => panic!("expected the abort within 60 s, got {other:?}"),
        }
        assert_eq!(pool.map(identity, 0..4).expect("usable after"), [0, 1, 2, 3]);
    }

    /// A worker dies while the program only waits for `apply_async`
    /// callbacks, with no further pool call: the driver replaces it and
    /// delivers every callback, the death as one error callback.
    fn pool_callbacks_come_after_a_death_with_no_further_call() {
        let (tx, rx) = mpsc::channel();
        let mut pool = Pool::new(1).expect("pool");
        for n in 0..20u32 {
            let (ok, failed) = (tx.clone(), tx.clone());
            pool.apply_async(exit_at_5, n)
                .expect("queued")
                .callback(move |r| ok.send(Ok(*r)).expect("listening"))
                .error_callback(move |e| failed.send(Err(e.to_string())).expect("listening"));
        }
        drop(tx);
        // Nothing but waiting on the channel from here.
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut got = Vec::new();
        while got.len() < 20 {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(outcome) => got.push(outcome),
                Err(_) => break,
            }
        }
        assert_eq!(got.len(), 20, "only these callbacks ran: {got:?}");
        let failures: Vec<_> = got.iter().filter_map(|o| o.as_ref().err()).collect();
        assert_eq!(failures.len(), 1, "{got:?}");
        assert!(failures[0].contains("exited with code 7"), "{}", failures[0]);
        let mut values: Vec<u32> = got.iter().filter_map(|o| o.as_ref().ok().copied()).collect();
        values.sort_unstable();
        assert_eq!(values, (0..20).filter(|&n| n != 5).collect::<Vec<_>>());
        assert_eq!(pool.processes(), 1);
        drop(pool);
        // The driver started the new worker from this crate's lasting
        // thread, which stays: the program can still fork.
        let mut child = Process::from_closure(|| std::process::exit(3));
        child.set_start_method(common::StartMethod::Fork);
        child.start().expect("a fork after the driver started a worker");
        child.join().expect("join");
        assert_eq!(child.exitcode(), Some(3));
    }

    /// A pool made while the program had one thread (forked workers), then
    /// a thread, then a worker dies: the pool replaces it by a method that
    /// works in a process with threads, and keeps its size.
    fn pool_replaces_a_worker_after_the_program_started_a_thread() {
        let mut pool = Pool::new(2).expect("pool");
        let (stop, stopped) = mpsc::channel::<()>();
        let thread = std::thread::spawn(move || {
            let _ = stopped.recv();
        });
        let error = pool
            .chunksize(1).map(exit_at_5, 0..8)
            .expect_err("item 5 ends its worker");
        assert!(matches!(error, Error::WorkerDied { index: 5, .. }), "{error}");
        assert_eq!(pool.map(identity, 0..8).expect("replaced"), (0..8).collect::<Vec<_>>());
        let handle = pool.apply_async(identity, 9).expect("queued");
        assert_eq!(handle.get().expect("async too"), 9);
        let pids = pool.pids();
        assert_eq!(pids.len(), 2);
        for pid in pids {
            let pid = Pid::from_raw(i32::try_from(pid).expect("a pid"));
            assert_eq!(parent_of(pid), Some(getpid()), "{pid} is a live child of the pool's owner");
        }
        drop(stop);
        thread.join().expect("the thread ends");
    }

    /// Dropping a pool whose workers block every signal and never finish
    /// their tasks takes about a second (no answer for a second ends the
    /// wait), not the five seconds of grace for work that moves: the bound,
    /// [`BOUNDED_END`], is between the two, with room for a loaded machine.
    fn pool_drop_is_bounded_when_workers_block_every_signal() {
        let mut pool = Pool::new(2).expect("pool");
        occupy_both_workers(&mut pool, deaf_forever);
        let started = Instant::now();
        drop(pool);
        let took = started.elapsed();
        assert!(took < BOUNDED_END, "drop took {took:?}");
    }

    /// Workers stopped (SIGSTOP) in the middle of their tasks: `terminate`
    /// and `drop` each end them within about a second.
    fn pool_terminate_and_drop_are_bounded_when_workers_are_stopped() {
        for terminate in [true, false] {
            let mut pool = Pool::new(2).expect("pool");
            occupy_both_workers(&mut pool, announce_then_block);
            for pid in pool.pids() {
                let pid = Pid::from_raw(i32::try_from(pid).expect("a pid"));
                kill(pid, Signal::SIGSTOP).expect("stop a worker");
                wait_until_stopped(pid);
            }
            let started = Instant::now();
            if terminate {
                pool.terminate();
            }
            drop(pool);
            let took = started.elapsed();
            assert!(took < BOUNDED_END, "terminate {terminate}: took {took:?}");
        }
    }
}

/// How long ending a pool whose workers cannot answer may take: about a
/// second on a quiet machine, against five for a pool that waited out the
/// grace it gives work that moves.
const BOUNDED_END: Duration = Duration::from_secs(4);

/// Gives each of the pool's two workers a task of `blocking`, which says
/// it started (a file) and never returns, and waits until both started.
fn occupy_both_workers(pool: &mut Pool, blocking: fn(String) -> u32) {
    let dir = temp_dir();
    for i in 0..2 {
        drop(pool.apply_async(blocking, path_in(&dir, &format!("started-{i}"))));
    }
    for i in 0..2 {
        wait_for_file(&path_in(&dir, &format!("started-{i}")));
    }
}

/// Item 3 notes that it ran (a byte appended to `runs`), then closes every
/// descriptor of its worker from `first` to 1023, and returns.
fn close_descriptors_at_3((n, first, runs): (u32, i32, String)) -> u32 {
    if n == 3 {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&runs)
            .and_then(|mut file| file.write_all(b"x"))
            .expect("note the run");
        for fd in first..1024 {
            let _ = nix::unistd::close(fd);
        }
    }
    n
}

/// How many runs `close_descriptors_at_3` noted in `runs`.
fn times_run(runs: &str) -> usize {
    std::fs::read(runs).map_or(0, |bytes| bytes.len())
}

/// Forks a child that inherits the worker's descriptors and waits to be
/// killed, writes its pid to `path`, and aborts the worker.
#[expect(
    unsafe_code,
    reason = "a raw fork inside a pool worker: the child a careless task leaves"
)]
fn fork_a_holder_then_abort(path: String) -> u32 {
    use nix::unistd::ForkResult;
    // SAFETY: a pool worker has one thread, and the child only waits for a
    // signal: it takes no lock and allocates nothing.
    match unsafe { nix::unistd::fork() } {
        Ok(ForkResult::Child) => loop {
            nix::unistd::pause();
        },
        Ok(ForkResult::Parent { child }) => {
            std::fs::write(&path, child.to_string()).expect("write the holder's pid");
            std::process::abort()
        }
        Err(errno) => panic!("fork: {errno}"),
    }
}

/// The pid written at `path`.
fn read_pid(path: &str) -> Pid {
    let text = std::fs::read_to_string(path).expect("the pid was written");
    Pid::from_raw(text.trim().parse().expect("a pid"))
}

fn exit_at_5(n: u32) -> u32 {
    if n == 5 {
        std::process::exit(7);
    }
    n
}

/// Blocks every signal it can (all but SIGKILL and SIGSTOP), says it
/// started, and never returns.
fn deaf_forever(path: String) -> u32 {
    nix::sys::signal::SigSet::all()
        .thread_block()
        .expect("block every signal");
    std::fs::write(&path, b"").expect("write the started file");
    loop {
        std::thread::sleep(Duration::from_secs(3600));
    }
}
