//! `common` in programs with threads, under libtest's ordinary harness
//! (which runs each test on a thread of its own): with the default start
//! method, processes and pools are started by the fork server there, and a
//! pool or a process can be moved to, and shared between, threads,
//! including those of a tokio runtime and of a rayon pool.
//!
//! Every process these tests start is joined, or reaped by its pool's drop.

use std::sync::{Arc, Mutex};

use common::{Connection, Pool, Process, StartMethod};

fn square(n: u64) -> u64 {
    n * n
}

fn pid_of_worker(_: u32) -> u32 {
    std::process::id()
}

fn exit_with(code: i32) {
    std::process::exit(code);
}

#[test]
fn the_default_works_in_a_threaded_program() {
    // CI runs the tests again with a method chosen in the environment.
    let chosen = std::env::var(common::START_METHOD_ENV)
        .ok()
        .filter(|name| !name.is_empty());
    let expected = match chosen {
        Some(name) => name.parse().expect("a method's name"),
        None => StartMethod::Forkserver,
    };
    assert_eq!(
        common::get_start_method().expect("a method"),
        expected,
        "libtest's harness has threads, so the default is forkserver"
    );
    let mut process = Process::with_args(exit_with, 7);
    process
        .start()
        .expect("a process starts, not Error::MultiThreaded");
    process.join().expect("join");
    assert_eq!(process.exitcode(), Some(7));
    let mut pool = Pool::new(2).expect("a pool starts");
    assert_eq!(pool.map(square, 1..=4).expect("map"), [1, 4, 9, 16]);
}

#[test]
fn a_pool_moves_to_another_thread() {
    let mut pool = Pool::new(2).expect("pool");
    let pids = pool.pids();
    let worked = std::thread::spawn(move || pool.map(pid_of_worker, 0..20))
        .join()
        .expect("the thread ends")
        .expect("map");
    assert!(
        worked.iter().all(|pid| pids.contains(pid)),
        "{worked:?} in {pids:?}"
    );
}

#[test]
fn a_pool_is_shared_between_threads() {
    let pool = Arc::new(Mutex::new(Pool::new(2).expect("pool")));
    let threads: Vec<_> = (0..4u64)
        .map(|t| {
            let pool = Arc::clone(&pool);
            std::thread::spawn(move || {
                let mut pool = pool.lock().expect("not poisoned");
                pool.map(square, [t, t + 10]).expect("map")
            })
        })
        .collect();
    for (t, thread) in (0..4u64).zip(threads) {
        assert_eq!(thread.join().expect("ends"), [t * t, (t + 10) * (t + 10)]);
    }
}

#[test]
fn pools_and_processes_inside_a_tokio_runtime() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .expect("a runtime");
    let (squares, code) = runtime.block_on(async {
        let squares = tokio::task::spawn_blocking(|| {
            let mut pool = Pool::new(2).expect("pool");
            pool.map(square, [3, 4]).expect("map")
        });
        let code = tokio::task::spawn_blocking(|| {
            let mut process = Process::with_args(exit_with, 3);
            process.start().expect("start");
            process.join().expect("join");
            process.exitcode()
        });
        (squares.await.expect("task"), code.await.expect("task"))
    });
    assert_eq!(squares, [9, 16]);
    assert_eq!(code, Some(3));
}

#[test]
fn pools_from_rayon_workers() {
    use rayon::prelude::*;
    let sums: Vec<u64> = (0..4u64)
        .into_par_iter()
        .map(|t| {
            let mut pool = Pool::new(1).expect("pool");
            pool.map(square, [t, t + 1]).expect("map").iter().sum()
        })
        .collect();
    assert_eq!(sums, [1, 5, 13, 25]);
}

/// Says it is ready, waits for a word from the parent, then exits with the
/// number it sent.
fn exit_when_told(parent: Connection) {
    parent.send(&"ready").expect("the parent listens");
    let code: i32 = parent.recv().expect("a word from the parent");
    std::process::exit(code);
}

/// The kernel ties `PR_SET_PDEATHSIG` to the thread that created a child:
/// a child started from a thread that then ends must live on (it is
/// started from a thread that lasts), under every method a threaded
/// process can use.
#[test]
fn a_process_outlives_the_thread_that_started_it() {
    for method in [StartMethod::Spawn, StartMethod::Forkserver] {
        let (ours, theirs) = common::pipe().expect("pipe");
        let (process, ours) = std::thread::spawn(move || {
            let mut process = Process::with_args(exit_when_told, theirs);
            process.set_start_method(method);
            process.start().expect("start");
            // The child has asked to die with its parent thread by now.
            assert_eq!(ours.recv::<String>().expect("ready"), "ready");
            (process, ours)
        })
        .join()
        .expect("the starting thread ends");
        // The thread is gone; the child waits for this word.
        ours.send(&5i32).expect("the child is still there to tell");
        process.join().expect("join");
        assert_eq!(process.exitcode(), Some(5), "{method}: {process:?}");
    }
}

#[test]
fn a_pool_outlives_the_thread_that_made_it() {
    for method in [StartMethod::Spawn, StartMethod::Forkserver] {
        let mut pool = std::thread::spawn(move || {
            Pool::builder()
                .processes(2)
                .start_method(method)
                .build()
                .expect("pool")
        })
        .join()
        .expect("the making thread ends");
        let pids = pool.pids();
        let worked = pool.map(pid_of_worker, 0..20).expect("map");
        assert!(
            worked.iter().all(|pid| pids.contains(pid)),
            "{method}: the first workers did the work: {worked:?} in {pids:?}"
        );
        assert_eq!(pool.pids(), pids, "{method}: no worker was replaced");
    }
}

#[test]
fn every_method_a_threaded_process_can_use() {
    for method in [StartMethod::Spawn, StartMethod::Forkserver] {
        let mut process = Process::with_args(exit_with, 4);
        process.set_start_method(method);
        process.start().expect("start");
        process.join().expect("join");
        assert_eq!(process.exitcode(), Some(4), "{method}");
        let mut pool = Pool::builder()
            .processes(2)
            .start_method(method)
            .build()
            .expect("pool");
        assert_eq!(pool.map(square, 1..=3).expect("map"), [1, 4, 9], "{method}");
    }
    let mut process = Process::with_args(exit_with, 0);
    process.set_start_method(StartMethod::Fork);
    assert!(
        matches!(process.start(), Err(common::Error::MultiThreaded { .. })),
        "fork is refused with threads"
    );
}

#[test]
fn a_started_process_moves_to_another_thread() {
    let (ours, theirs) = common::pipe().expect("pipe");
    let mut process = Process::with_args(exit_when_told, theirs);
    process.start().expect("start");
    let pid = process.pid();
    assert_eq!(ours.recv::<String>().expect("ready"), "ready");
    let joined = std::thread::spawn(move || {
        ours.send(&6i32).expect("send");
        process.join().expect("join from another thread");
        process
    })
    .join()
    .expect("ends");
    assert_eq!(joined.pid(), pid);
    assert_eq!(joined.exitcode(), Some(6));
}
