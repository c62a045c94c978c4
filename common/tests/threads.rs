//! `common` in programs with threads, under libtest's ordinary harness
//! (which runs each test on a thread of its own): with the default start
//! method, processes and pools are started by spawn there, and a pool can
//! be moved to, and shared between, threads, including those of a tokio
//! runtime and of a rayon pool.
//!
//! Every process these tests start is joined, or reaped by its pool's drop.

use std::sync::{Arc, Mutex};

use common::{Pool, Process, StartMethod};

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
    assert_eq!(
        common::get_start_method().expect("a method"),
        StartMethod::Spawn,
        "libtest's harness has threads, so the default is spawn"
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
