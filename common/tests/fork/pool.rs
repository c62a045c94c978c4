//! Pool: map and its kin, faults, lifecycle, Ctrl-C.

use crate::support::*;

fork_tests! {
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

    fn cpu_count_and_the_default_pool_are_pythons_under_a_narrowed_affinity() {
        // Pinned to one CPU, this process may run on one, but Python's
        // os.cpu_count() and Pool() (before 3.13) count every CPU online.
        let pinned = PinnedToOneCpu::pin();
        assert_eq!(
            std::thread::available_parallelism().map_or(0, usize::from),
            1,
            "the affinity is narrowed to CPU {}",
            pinned.cpu
        );
        let online = cpus_online();
        assert_eq!(
            common::cpu_count(),
            online,
            "cpu_count counts the CPUs online (/sys/devices/system/cpu/online)"
        );
        match python_cpu_count() {
            Some(python) => assert_eq!(
                common::cpu_count(),
                python,
                "cpu_count says what os.cpu_count() says under the same affinity"
            ),
            None => eprintln!("python3 did not run: cpu_count compared with /sys only"),
        }
        let pool = Pool::with_cpus().expect("pool");
        assert_eq!(pool.processes(), online, "Pool() has a worker per CPU online");
    }

    fn pool_of_zero_is_an_error() {
        let error = Pool::new(0).expect_err("a pool of 0 workers");
        assert_eq!(
            error.to_string(),
            "a pool needs at least one worker process, got 0"
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

    /// Integer results carry no list of where each ends (see
    /// `run_chunk`): an item that panics mid-chunk still leaves every other
    /// result of its chunk exact, before and after it.
    fn pool_panic_mid_chunk_of_integers_keeps_the_others_exact() {
        let mut pool = Pool::new(2).expect("pool");
        only_4_fails_in_a_chunk_of_ten(&mut pool, panic_at_4, identity);
    }

    /// A worker keeps its list of where string results end from one job to
    /// the next (see `run_chunk`): after a chunk whose item panicked part
    /// way, and after a longer one, the next job's strings come back exact,
    /// none cut at an end left over from a job before.
    fn pool_strings_after_a_panic_mid_chunk_come_back_exact() {
        let mut pool = Pool::new(1).expect("pool");
        let worker = pool.pids();
        let long: Vec<u32> = (100..400).collect();
        let expected: Vec<String> = long.iter().copied().map(text_of).collect();
        for _ in 0..2 {
            // The ends of a long job, then a chunk that fails part way and
            // answers item by item from the ends it listed itself.
            assert_eq!(pool.chunksize(300).map(text_of, long.clone()).expect("map"), expected);
            only_4_fails_in_a_chunk_of_ten(&mut pool, text_panic_at_4, text_of);
        }
        let short: Vec<String> = (5..8).map(text_of).collect();
        assert_eq!(pool.chunksize(3).map(text_of, 5..8).expect("map"), short);
        // A worker that died answering would have had its items run again
        // elsewhere, their results right: it must still be the same one.
        assert_eq!(pool.pids(), worker, "the worker died on the way");
    }

    /// A forked child closes its copies of the pool's own ends of the
    /// workers' pipes first (see `sys::fork`; it skips the list's lock when
    /// the list is empty): a process forked after a pool holds none of the
    /// pipes its workers hold, so that they see the end of their tasks when
    /// the pool closes, not when that process ends.
    fn a_process_forked_after_a_pool_holds_none_of_its_pipes() {
        // Pipes this process had before (the harness's, say) are not the pool's.
        let own = |mode| pipes_of(std::process::id(), mode).into_iter().map(|(_, pipe)| pipe);
        let before: Vec<_> = own('0').chain(own('1')).collect();
        let mut pool = Pool::new(2).expect("pool");
        assert_eq!(pool.map(square, [2, 3]).expect("map"), [4, 9]);
        let (ready, told) = common::pipe::<u8>().expect("pipe");
        let mut process = Process::from_closure(move || {
            ready.send(&1).expect("say ready");
            loop {
                std::thread::park();
            }
        });
        process.start().expect("start");
        assert_eq!(told.recv().expect("ready"), 1);
        let child = process.pid().expect("started");
        let held: Vec<_> = ['0', '1']
            .into_iter()
            .flat_map(|mode| pipes_of(child, mode))
            .map(|(_, pipe)| pipe)
            .collect();
        for worker in pool.pids() {
            for mode in ['0', '1'] {
                for (fd, pipe) in pipes_of(worker, mode) {
                    assert!(
                        before.contains(&pipe) || !held.contains(&pipe),
                        "the process holds {pipe:?}, worker {worker}'s fd {fd}"
                    );
                }
            }
        }
        process.kill().expect("kill");
        process.join().expect("join");
        pool.close();
        pool.join().expect("join");
    }

    /// A reaped child leaves `active_children` at once (see
    /// `children::ended`) and a live one stays listed: workers replaced
    /// after every job (maxtasksperchild), processes joined in between, and
    /// a forked child, which inherits the list but none of the children.
    fn active_children_lists_only_live_ones_as_workers_are_replaced() {
        let mut pool = Pool::builder()
            .processes(2)
            .maxtasksperchild(1)
            .build()
            .expect("pool");
        let mut workers = std::collections::BTreeSet::new();
        for round in 0..4 {
            workers.extend(pool.chunksize(1).map(worker_pid, 0..4).expect("map"));
            let mut inside = Process::new(lists_no_child);
            inside.start().expect("start");
            inside.join().expect("join");
            assert_eq!(inside.exitcode(), Some(0), "a forked child listed its parent's");
            let live = |pid: u32| {
                let pid = Pid::from_raw(i32::try_from(pid).expect("pid"));
                children_of(getpid()).contains(&pid) && !is_zombie(pid)
            };
            let before: Vec<u32> = pool.pids().into_iter().filter(|&w| live(w)).collect();
            let listed: Vec<u32> = common::active_children().iter().map(|c| c.pid()).collect();
            let ours = children_of(getpid());
            for pid in &listed {
                let pid = Pid::from_raw(i32::try_from(*pid).expect("pid"));
                assert!(ours.contains(&pid), "round {round}: {pid} listed, reaped");
            }
            assert!(!listed.contains(&inside.pid().expect("started")), "round {round}");
            for worker in before.into_iter().filter(|&w| live(w)) {
                // Alive before the list was made and after: alive while.
                assert!(listed.contains(&worker), "round {round}: live worker {worker} not listed: {listed:?}");
            }
        }
        pool.close();
        pool.join().expect("join");
        let listed = common::active_children();
        assert!(
            listed.iter().all(|c| !workers.contains(&c.pid())),
            "reaped workers listed: {listed:?}"
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

    fn pool_chunksizes_agree() {
        let mut pool = Pool::new(3).expect("pool");
        let expected: Vec<u64> = (0..100).map(|n| n * n).collect();
        for chunksize in [1, 3, 1000] {
            let got = pool
                .chunksize(chunksize).map(square, 0..100)
                .expect("map");
            assert_eq!(got, expected, "chunksize {chunksize}");
        }
    }

    /// `map` takes an iterator that knows its length as it comes, without
    /// collecting it first; one whose length was wrong still gives every
    /// item it yields, no more.
    fn pool_map_counts_what_the_iterator_yields() {
        let mut pool = Pool::new(2).expect("pool");
        for (said, yields) in [(10, 4), (3, 9), (0, 2), (5, 0)] {
            let items = Lying { said, left: yields };
            let squares = pool.map(square, items).expect("map");
            let expected: Vec<u64> = (0..yields).rev().map(|n| n * n).collect();
            assert_eq!(squares, expected, "said {said}, yielded {yields}");
            let handle = pool.map_async(square, Lying { said, left: yields }).expect("queued");
            assert_eq!(handle.get().expect("done"), expected);
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

    /// A quick task's answer goes out when it is done, not with the next
    /// job's: one worker is sent a quick task and then one that waits for a
    /// gate, which opens only once the quick result is in hand.
    fn pool_a_quick_answer_does_not_wait_for_the_next_job() {
        let dir = temp_dir();
        let gate = path_in(&dir, "gate");
        let mut pool = Pool::new(1).expect("pool");
        // Quick jobs first, so that the worker is sent several ahead.
        pool.chunksize(1).map(square, 0..2000).expect("warm");
        for round in 0..20u64 {
            let quick = pool.apply_async(square, round).expect("quick");
            let slow = pool.apply_async(wait_then_42, gate.clone()).expect("slow");
            assert_eq!(quick.get().expect("quick result"), round * round);
            std::fs::write(&gate, b"").expect("open the gate");
            assert_eq!(slow.get().expect("slow result"), 42);
            std::fs::remove_file(&gate).expect("close the gate");
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
        let mut results = pool.imap(maybe_wait, items).expect("imap");
        // Item 1 cannot finish until the gate opens: item 0 comes first anyway.
        assert_eq!(results.next().map(Result::ok), Some(Some(0)));
        std::fs::write(&gate, b"").expect("open the gate");
        assert_eq!(results.next().map(Result::ok), Some(Some(1)));
        assert_eq!(results.next().map(Result::ok), Some(Some(2)));
        assert!(results.next().is_none());
    }

    fn pool_imap_unordered_yields_as_completed() {
        let dir = temp_dir();
        let gate = path_in(&dir, "gate");
        let mut pool = Pool::new(2).expect("pool");
        let items = vec![(0, Some(gate.clone())), (1, None)];
        let mut results = pool
            .imap_unordered(maybe_wait, items)
            .expect("imap_unordered")
            .indexed();
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

    fn pool_initializer_runs_once_per_worker() {
        let mut pool = Pool::builder()
            .processes(2)
            .initializer(initialize)
            .build()
            .expect("pool");
        let seen = pool
            .chunksize(1).map(times_initialized, 0..20)
            .expect("map");
        assert!(seen.iter().all(|&(_, count)| count == 1), "{seen:?}");
        assert_eq!(
            INITIALIZED.load(std::sync::atomic::Ordering::SeqCst),
            0,
            "not in the parent"
        );
    }

    /// `initializer_with` hands its argument to every worker, under the
    /// start method in force.
    fn pool_initializer_gets_its_arguments() {
        let mut pool = Pool::builder()
            .processes(2)
            .initializer_with(initialize_by, 5u32)
            .build()
            .expect("pool");
        let seen = pool
            .chunksize(1).map(times_initialized, 0..20)
            .expect("map");
        assert!(seen.iter().all(|&(_, count)| count == 5), "{seen:?}");
    }

    /// `map_async` and `starmap_async` start at once and give every result
    /// in order; `wait` waits without taking; a failure is the first one.
    fn pool_map_async_and_starmap_async() {
        let mut pool = Pool::new(2).expect("pool");
        let squares = pool.chunksize(7).map_async(identity, 0..100u32).expect("queued");
        let powers = pool
            .starmap_async(power, [(2u64, 3u32), (3, 2), (10, 3)])
            .expect("queued");
        squares.wait().expect("waited");
        assert!(squares.ready());
        assert_eq!(squares.get().expect("results"), (0..100).collect::<Vec<u32>>());
        assert_eq!(powers.get().expect("results"), [8, 9, 1000]);
        let failing = pool.chunksize(1).map_async(panic_at_4, 0..10u32).expect("queued");
        assert!(matches!(
            failing.get(),
            Err(Error::TaskPanicked { index: 4, .. })
        ));
        assert_eq!(pool.map(identity, [1u32]).expect("still usable"), [1]);
    }

    /// Twenty tasks queued with `apply_async` (more than the workers can be
    /// sent ahead) all run while the parent calls nothing on the pool: it
    /// only watches shared memory the tasks write.
    fn pool_async_work_moves_while_the_parent_does_other_things() {
        let marks = ShareableList::new(&[0i64; 20]).expect("list");
        let mut pool = Pool::new(2).expect("pool");
        let handles: Vec<_> = (0..20)
            .map(|i| {
                let list = ShareableList::open(marks.name()).expect("open");
                pool.apply_async(mark_after_a_while, (list, i)).expect("queued")
            })
            .collect();
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while marks.to_vec().contains(&0) {
            assert!(
                std::time::Instant::now() < deadline,
                "queued tasks did not run while the parent waited: {:?}",
                marks.to_vec()
            );
            std::thread::sleep(Duration::from_millis(1));
        }
        for (i, handle) in handles.into_iter().enumerate() {
            assert_eq!(handle.get().expect("done"), i);
        }
    }

    /// The driver started by `apply_async` waits without spinning while
    /// the program itself waits on a result: 2 s of waiting costs this
    /// process under a tenth of that in CPU (a driver that polled with a
    /// timeout rounded down to 0 burnt about half a core, 1 s of it).
    fn pool_waiting_on_a_result_does_not_spin() {
        let mut pool = Pool::new(1).expect("pool");
        let handle = pool.apply_async(sleep_ms, 2000).expect("queued");
        let before = cpu_time();
        assert_eq!(handle.get().expect("done"), 2000);
        let spent = cpu_time() - before;
        assert!(
            spent < Duration::from_millis(200),
            "waiting 2 s for a result cost {spent:?} of CPU"
        );
    }

    /// Fire and forget with callbacks: handles dropped at once, every task
    /// still runs, and each callback runs once in this process.
    fn pool_callbacks_run_for_dropped_handles() {
        use std::sync::Arc;
        use std::sync::atomic::{AtomicUsize, Ordering};
        let done = Arc::new(AtomicUsize::new(0));
        let failed = Arc::new(AtomicUsize::new(0));
        let mut pool = Pool::new(2).expect("pool");
        for n in 0..10u32 {
            let done = Arc::clone(&done);
            let failed = Arc::clone(&failed);
            let handle = pool
                .apply_async(panic_at_4, n)
                .expect("queued")
                .callback(move |r| {
                    assert_eq!(*r, n);
                    done.fetch_add(1, Ordering::SeqCst);
                })
                .error_callback(move |e| {
                    assert!(matches!(e, Error::TaskPanicked { .. }), "{e}");
                    failed.fetch_add(1, Ordering::SeqCst);
                });
            drop(handle);
        }
        pool.close();
        pool.join().expect("join");
        assert_eq!(done.load(Ordering::SeqCst), 9);
        assert_eq!(failed.load(Ordering::SeqCst), 1);
    }

    /// While a pool's driver moves queued work, a process can still be
    /// forked (the driver steps aside), and the work goes on after.
    fn fork_while_async_work_runs() {
        let gate = ShareableList::new(&[0i64]).expect("list");
        let mut pool = Pool::new(1).expect("pool");
        let handles: Vec<_> = (0..6)
            .map(|i| {
                let list = ShareableList::open(gate.name()).expect("open");
                pool.apply_async(wait_for_gate, (list, i)).expect("queued")
            })
            .collect();
        let mut child = Process::from_closure(|| std::process::exit(7));
        child.set_start_method(common::StartMethod::Fork);
        child.start().expect("a fork while the driver runs");
        child.join().expect("join");
        assert_eq!(child.exitcode(), Some(7));
        gate.set(0, 1);
        for (i, handle) in handles.into_iter().enumerate() {
            assert_eq!(handle.get().expect("done"), i);
        }
    }

    /// A worker that dies under the driver: its item fails with the death,
    /// and the pool is whole again at the next call.
    fn pool_worker_death_under_the_driver() {
        let mut pool = Pool::new(2).expect("pool");
        let handles: Vec<_> = (0..8u32)
            .map(|n| pool.apply_async(exit_at_3, n).expect("queued"))
            .collect();
        let outcomes: Vec<_> = handles.into_iter().map(|h| h.get()).collect();
        for (n, outcome) in outcomes.iter().enumerate() {
            if n == 3 {
                assert!(
                    matches!(outcome, Err(Error::WorkerDied { index: 0, how: Ended::Exited(7), .. })),
                    "{outcome:?}"
                );
            } else {
                assert_eq!(outcome.as_ref().ok(), Some(&(n as u32)));
            }
        }
        assert_eq!(pool.map(identity, 0..4).expect("whole again"), [0, 1, 2, 3]);
        assert_eq!(pool.processes(), 2);
    }

    /// `imap` reads its input as it goes: an endless input works with
    /// `take`, and only a bounded number of items is read beyond those
    /// taken.
    fn pool_imap_reads_an_endless_input_lazily() {
        use std::sync::Arc;
        use std::sync::atomic::{AtomicUsize, Ordering};
        let pulled = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&pulled);
        let endless = (0u32..).inspect(move |_| {
            counter.fetch_add(1, Ordering::SeqCst);
        });
        let mut pool = Pool::new(2).expect("pool");
        let first: Vec<u32> = pool
            .imap(identity, endless)
            .expect("imap")
            .take(10)
            .map(|r| r.expect("a result"))
            .collect();
        assert_eq!(first, (0..10).collect::<Vec<_>>());
        let read = pulled.load(Ordering::SeqCst);
        // At most twice what the two workers may be sent ahead (64 jobs
        // each, see `pool::scheduler::PIPELINE`) beyond those taken.
        assert!(
            (10..=10 + 2 * 2 * 64).contains(&read),
            "{read} items read for 10 taken"
        );
        // Slow jobs are not read far ahead: each takes 5 ms, so each worker
        // is sent two ahead at most (see `Worker::paced`), and the input is
        // read at most twice that beyond what was taken.
        let pulled = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&pulled);
        let endless = (0u64..).inspect(move |_| {
            counter.fetch_add(1, Ordering::SeqCst);
        });
        let mut fresh = Pool::new(2).expect("pool");
        let taken = fresh
            .chunksize(10).imap(sleep_5ms, endless)
            .expect("imap")
            .take(30)
            .count();
        assert_eq!(taken, 30);
        let read = pulled.load(Ordering::SeqCst);
        assert!(
            read <= 30 + 10 + 2 * (2 * 2) * 10,
            "{read} items of 5 ms read for 30 taken"
        );
        let unordered = pool
            .chunksize(3).imap_unordered(identity, 0u32..)
            .expect("imap_unordered")
            .take(7)
            .count();
        assert_eq!(unordered, 7);
        assert_eq!(pool.map(identity, [5]).expect("still usable"), [5]);
    }

    fn pool_maxtasksperchild_replaces_workers() {
        let mut pool = Pool::builder()
            .processes(2)
            .maxtasksperchild(1)
            .build()
            .expect("pool");
        let pids = pool.chunksize(1).map(worker_pid, 0..6).expect("map");
        let distinct: std::collections::BTreeSet<_> = pids.iter().collect();
        assert_eq!(distinct.len(), 6, "each job in a fresh worker: {pids:?}");
        assert_eq!(pool.processes(), 2);
        assert_eq!(pool.map(identity, [7]).expect("still usable"), [7]);
    }

    fn pool_undecodable_result_fails_that_item_only() {
        let mut pool = Pool::new(2).expect("pool");
        // The worker sends a plain u32; decoding it as Picky fails for 3 only.
        let as_picky: fn(u32) -> Picky = |n| Picky(unchecked_picky(n));
        let error = pool.map(as_picky, 0..6).expect_err("3 cannot be decoded");
        assert!(matches!(&error, Error::Codec { index: 3, .. }), "{error:?}");
        let results: Vec<_> = pool.imap(as_picky, 0..6).expect("imap").indexed().collect();
        for (index, result) in results {
            assert_eq!(result.is_err(), index == 3, "item {index}: {result:?}");
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

    /// Ctrl-C that comes while `map` is still sending its jobs (here, from
    /// its first job) is caught like one that comes while it waits.
    fn pool_sigint_while_map_sends_is_caught_too() {
        use std::os::unix::process::CommandExt;
        let child = Command::new(std::env::current_exe().expect("current exe"))
            .env(ROLE_ENV, "pool-interrupted-by-its-first-job")
            .process_group(0)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("start the role");
        let group = Pid::from_raw(child.id() as i32);
        let output = child.wait_with_output().expect("the role ends");
        assert_eq!(output.status.code(), Some(130), "{output:?}");
        assert_eq!(String::from_utf8_lossy(&output.stderr), "interrupted\n");
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

    fn pool_death_mid_chunk_names_the_item() {
        let mut pool = Pool::new(2).expect("pool");
        // One chunk of eight: the worker dies on the fourth item, having
        // finished three whose results it never sent.
        let error = pool
            .chunksize(8).map(exit_at_3, 0..8)
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
        let results: Vec<_> = pool
            .chunksize(8)
            .imap(exit_at_3, 0..8)
            .expect("imap")
            .indexed()
            .collect();
        for (index, result) in &results {
            assert_eq!(result.is_err(), *index == 3, "item {index}: {result:?}");
        }
        assert_eq!(results.len(), 8, "every item answered once");
    }

    /// Large inputs are handed to the task pipe as pages, not copied (see
    /// `Worker::flush`): every byte a worker reads is the byte the parent
    /// sent, round after round while the parent frees and reuses memory,
    /// and through a lazy `imap` whose inputs are made and dropped as it
    /// goes.
    fn pool_large_inputs_arrive_intact_while_memory_is_reused() {
        let mut pool = Pool::new(2).expect("pool");
        for round in 0..6usize {
            let items: Vec<Vec<u8>> = (0..40)
                .map(|i| patterned((64 << 10) + 17 * i + round))
                .collect();
            let expected: Vec<u64> = items.iter().map(|item| checksum(item.clone())).collect();
            assert_eq!(pool.map(checksum, items).expect("map"), expected, "round {round}");
            // Memory the last round's inputs lay in, written over.
            let scratch: Vec<Vec<u8>> = (0..40).map(|_| vec![0xAA; 64 << 10]).collect();
            drop(scratch);
        }
        // Small and large in one job: the large ones attached, the small
        // ones copied, read by the worker as one payload.
        let mixed: Vec<Vec<u8>> = (0..30).map(|i| patterned(if i % 2 == 0 { 100 + i } else { (64 << 10) + i })).collect();
        let expected: Vec<u64> = mixed.iter().map(|item| checksum(item.clone())).collect();
        assert_eq!(pool.map(checksum, mixed).expect("map"), expected, "mixed sizes");
        let made = (0..200usize).map(|i| patterned((20 << 10) + i));
        for (index, sum) in pool.chunksize(3).imap(checksum, made).expect("imap").indexed() {
            assert_eq!(sum.expect("done"), checksum(patterned((20 << 10) + index)));
        }
    }

    /// The same with large byte vectors, which a job carries attached
    /// rather than copied (see `pool::job`): the items around the one the
    /// worker died on run again from the job's pieces, intact.
    fn pool_death_mid_chunk_of_large_vectors_reruns_the_others_intact() {
        let mut pool = Pool::new(2).expect("pool");
        let items: Vec<Vec<u8>> = (0..8u8)
            .map(|i| {
                let mut item = patterned(5000 + usize::from(i) * 3000);
                item[0] = i;
                item
            })
            .collect();
        let expected: Vec<u64> = items.iter().map(|item| checksum(item.clone())).collect();
        let results: Vec<_> = pool
            .chunksize(8)
            .imap(checksum_exit_at_3, items)
            .expect("imap")
            .indexed()
            .collect();
        assert_eq!(results.len(), 8, "every item answered once");
        for (index, result) in results {
            match result {
                Ok(sum) => assert_eq!(sum, expected[index], "item {index} came back changed"),
                Err(error) => assert!(
                    index == 3 && matches!(error, Error::WorkerDied { index: 3, .. }),
                    "item {index}: {error:?}"
                ),
            }
        }
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
            .chunksize(1).map(hundred_bytes, 0..20_000)
            .expect("map");
        assert_eq!(results.len(), 20_000);
    }

    /// A large answer goes to a forked worker's pipe as pages, and its
    /// buffer serves a later answer once the parent has read past it (see
    /// `pool::lent`): every result of map after map is exact, including
    /// while the parent is slow to read (a second map queued behind).
    fn pool_answers_lent_as_pages_come_back_exact_while_reused() {
        let mut pool = Pool::new(2).expect("pool");
        for round in 0..3u64 {
            let items = (0..600_000u64).map(|n| n + round);
            let squares = pool.chunksize(50_000).map(square, items).expect("map");
            assert_eq!(squares.len(), 600_000);
            for (n, value) in squares.into_iter().enumerate() {
                let n = n as u64 + round;
                assert_eq!(value, n * n, "round {round}, item {n}");
            }
        }
        let first = pool.chunksize(30_000).map_async(square, 0..300_000u64).expect("queued");
        let second = pool.chunksize(30_000).map_async(square, 0..300_000u64).expect("queued");
        for handle in [second, first] {
            let squares = handle.get().expect("results");
            assert!(squares.iter().enumerate().all(|(n, &v)| v == (n as u64) * (n as u64)));
        }
    }

    /// A task that writes garbage into its worker's result pipe announces
    /// an answer no memory could hold: the parent kills the worker and
    /// fails that task's item (not an abort, nor the same task run again
    /// forever), and the pool goes on. (Forked workers: a spawned one
    /// answers on a socket the task cannot reopen.)
    fn pool_garbage_in_the_result_pipe_fails_its_item_not_the_parent() {
        let mut pool = Pool::builder()
            .processes(2)
            .start_method(common::StartMethod::Fork)
            .build()
            .expect("pool");
        let error = pool
            .chunksize(1).map(scribble_at_3, 0..8)
            .expect_err("garbage is not an answer");
        assert!(matches!(error, Error::Codec { index: 3, .. }), "{error:?}");
        assert_eq!(pool.map(identity, 0..4).expect("still usable"), [0, 1, 2, 3]);
    }

    /// Byte vectors of a MiB and more come back in buffers of their own
    /// (see `pool::chunk`): whole, exact, and in order among small answers
    /// on the same worker, under every way of asking.
    fn pool_large_byte_results_come_back_exact() {
        let mut pool = Pool::new(2).expect("pool");
        let sizes = [3usize << 20, 5, (1 << 20) + 1, 0, 1 << 20, 7 << 20, 9];
        let expected: Vec<Vec<u8>> = sizes.iter().map(|&n| patterned(n)).collect();
        let got = pool
            .chunksize(1).map(patterned, sizes)
            .expect("map");
        assert!(got == expected, "map chunksize 1 changed some bytes");
        let got = pool.map(patterned, sizes).expect("map");
        assert!(got == expected, "map changed some bytes");
        assert!(pool.apply(patterned, 7 << 20).expect("apply") == expected[5]);
        let mut got: Vec<(usize, Vec<u8>)> = pool
            .imap_unordered(patterned, sizes)
            .expect("imap")
            .indexed()
            .map(|(i, r)| (i, r.expect("done")))
            .collect();
        got.sort();
        assert!(got.into_iter().map(|(_, r)| r).eq(expected), "imap_unordered");
    }

    /// Python's fire-and-forget: `apply_async` with the handle dropped, then
    /// `close` and `join`. Every task runs.
    fn pool_fire_and_forget_runs_on_close_and_join() {
        let dir = temp_dir();
        let mut pool = Pool::new(1).expect("pool");
        let marks: Vec<String> = (0..3).map(|n| path_in(&dir, &format!("mark-{n}"))).collect();
        for mark in &marks {
            drop(pool.apply_async(write_mark, mark.clone()).expect("submitted"));
        }
        pool.close();
        pool.join().expect("join");
        for mark in &marks {
            assert!(std::path::Path::new(mark).exists(), "{mark} was written");
        }
    }

    /// A worker killed while the pool is idle is replaced before the next
    /// call, which fails no item: none was running on it.
    fn pool_worker_killed_while_idle_is_replaced() {
        let mut pool = Pool::new(1).expect("pool");
        assert_eq!(pool.map(square, [2]).expect("map"), [4]);
        let old = pool.pids()[0];
        let pid = Pid::from_raw(i32::try_from(old).expect("a pid"));
        kill(pid, Signal::SIGKILL).expect("kill the idle worker");
        // Evidence, not a stopwatch: the kernel shows it dead (a zombie).
        while !is_zombie(pid) {
            std::thread::yield_now();
        }
        assert_eq!(pool.map(square, [1, 2, 3]).expect("no item fails"), [1, 4, 9]);
        assert_ne!(pool.pids()[0], old, "a new worker");
    }

    /// A worker stopped (SIGSTOP) in the middle of writing a large result:
    /// `get_timeout` still returns at its deadline, with `Timeout`; the
    /// parent only reads what is there and never waits for the rest.
    fn pool_get_timeout_returns_when_a_worker_stops_mid_result() {
        let mut pool = Pool::new(1).expect("pool");
        let pid = Pid::from_raw(i32::try_from(pool.pids()[0]).expect("a pid"));
        // Evidence, not a stopwatch: the worker is stopped inside a call
        // that sends its answer (`/proc/PID/syscall` names the call a
        // stopped process will resume). The driver thread reads answers in
        // the background, so a task whose whole answer went out before the
        // worker could be stopped is tried again with another.
        let mut caught = None;
        for _ in 0..20 {
            let pending = pool.apply_async(megabytes, 64).expect("submitted");
            while !pending.ready() {
                if blocked_writing(pid) {
                    kill(pid, Signal::SIGSTOP).expect("stop the worker");
                    wait_until_stopped(pid);
                    if blocked_writing(pid) {
                        break;
                    }
                    kill(pid, Signal::SIGCONT).expect("continue the worker");
                }
                std::thread::yield_now();
            }
            if pending.ready() {
                let _ = kill(pid, Signal::SIGCONT);
                pending.get().expect("the whole answer came");
                continue;
            }
            caught = Some(pending);
            break;
        }
        let pending = caught.expect("twenty answers of 64 MiB all went out between two looks");
        let timeout = Duration::from_millis(300);
        let started = std::time::Instant::now();
        let outcome = pending.get_timeout(timeout);
        let took = started.elapsed();
        assert!(matches!(outcome, Err(Error::Timeout(_))), "{outcome:?}");
        assert!(took < timeout + Duration::from_secs(5), "returned after {took:?}");
        let _ = kill(pid, Signal::SIGCONT);
        pool.terminate();
    }
}

fn worker_pid(_: u32) -> u32 {
    std::process::id()
}

/// This process's CPU affinity narrowed to one CPU it may run on, until
/// dropped (then put back as it was).
struct PinnedToOneCpu {
    before: nix::sched::CpuSet,
    cpu: usize,
}

impl PinnedToOneCpu {
    fn pin() -> PinnedToOneCpu {
        use nix::sched::{CpuSet, sched_getaffinity, sched_setaffinity};
        let me = Pid::from_raw(0);
        let before = sched_getaffinity(me).expect("sched_getaffinity");
        let cpu = (0..CpuSet::count())
            .find(|&cpu| before.is_set(cpu).unwrap_or(false))
            .expect("this process may run on some CPU");
        let mut one = CpuSet::new();
        one.set(cpu).expect("a CPU in range");
        sched_setaffinity(me, &one).expect("sched_setaffinity");
        PinnedToOneCpu { before, cpu }
    }
}

impl Drop for PinnedToOneCpu {
    fn drop(&mut self) {
        nix::sched::sched_setaffinity(Pid::from_raw(0), &self.before)
            .expect("the affinity put back");
    }
}

/// How many CPUs `/sys/devices/system/cpu/online` lists (`0-3,6`: 5).
fn cpus_online() -> usize {
    let list = std::fs::read_to_string("/sys/devices/system/cpu/online").expect("the online CPUs");
    list.trim()
        .split(',')
        .map(|range| match range.split_once('-') {
            Some((first, last)) => {
                let first: usize = first.parse().expect("a CPU number");
                let last: usize = last.parse().expect("a CPU number");
                last - first + 1
            }
            None => 1,
        })
        .sum()
}

/// What Python's `os.cpu_count()` says in a child of this process (which
/// inherits its affinity); `None` if `python3` does not run.
fn python_cpu_count() -> Option<usize> {
    let output = Command::new("python3")
        .args(["-c", "import os; print(os.cpu_count())"])
        .output()
        .ok()
        .filter(|output| output.status.success())?;
    let said = String::from_utf8_lossy(&output.stdout);
    Some(
        said.trim()
            .parse()
            .expect("os.cpu_count() printed a number"),
    )
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

/// Item 3 writes sixteen 0xff bytes into its worker's result pipe, which
/// the parent reads them from as an answer's length, then returns. The
/// result pipe is the one the worker holds for writing and its parent (the
/// pool's owner: forked workers only) for reading; pipes inherited from
/// outside are left alone.
fn scribble_at_3(n: u32) -> u32 {
    use std::io::Write;
    if n == 3 {
        let parent = std::os::unix::process::parent_id();
        let read_by_parent = pipes_of(parent, '0');
        for (fd, pipe) in pipes_of(std::process::id(), '1') {
            if fd > 2 && read_by_parent.iter().any(|(_, theirs)| *theirs == pipe) {
                let opened = std::fs::OpenOptions::new()
                    .write(true)
                    .open(format!("/proc/self/fd/{fd}"));
                if let Ok(mut pipe) = opened {
                    let _ = pipe.write_all(&[0xff; 16]);
                }
            }
        }
    }
    n
}

/// The pipes process `pid` holds open with access mode `mode` (the last
/// octal digit of the flags: 0 read-only, 1 write-only), by descriptor.
fn pipes_of(pid: u32, mode: char) -> Vec<(u32, std::path::PathBuf)> {
    let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return Vec::new();
    };
    fds.flatten()
        .filter_map(|entry| {
            let fd = entry.file_name().to_str()?.parse::<u32>().ok()?;
            let target = std::fs::read_link(entry.path()).ok()?;
            let info = std::fs::read_to_string(format!("/proc/{pid}/fdinfo/{fd}")).ok()?;
            let flags = info.lines().find_map(|line| line.strip_prefix("flags:"))?;
            (target.to_string_lossy().starts_with("pipe:") && flags.trim().ends_with(mode))
                .then_some((fd, target))
        })
        .collect()
}

/// Maps `func` over 0..10 in one chunk: item 4 panics, and every other
/// result is `expected`'s, before it and after it.
fn only_4_fails_in_a_chunk_of_ten<R>(pool: &mut Pool, func: fn(u32) -> R, expected: fn(u32) -> R)
where
    R: serde::Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug + 'static,
{
    let results: Vec<_> = pool
        .chunksize(10)
        .imap(func, 0..10u32)
        .expect("imap")
        .indexed()
        .collect();
    assert_eq!(results.len(), 10);
    for (index, result) in results {
        match result {
            Ok(value) => assert_eq!(value, expected(index as u32), "item {index}"),
            Err(error) => {
                assert_eq!(index, 4, "only item 4 fails: {error:?}");
                assert!(matches!(error, Error::TaskPanicked { index: 4, .. }));
            }
        }
    }
}

/// A string of a length and characters of its own for each `n`, some of
/// them two, three and four bytes long.
fn text_of(n: u32) -> String {
    ["a", "é", "€", "𝄞"][n as usize % 4].repeat(n as usize % 7) + &n.to_string()
}

fn text_panic_at_4(n: u32) -> String {
    assert_ne!(n, 4, "four is not allowed");
    text_of(n)
}

/// In a forked child: it has started no child, so lists none.
fn lists_no_child() {
    let listed = common::active_children();
    assert!(listed.is_empty(), "{listed:?}");
}

fn panic_at_4(n: u32) -> u32 {
    assert_ne!(n, 4, "four is not allowed");
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

/// Yields `left - 1` down to 0, saying it has exactly `said` items.
struct Lying {
    said: usize,
    left: u64,
}

impl Iterator for Lying {
    type Item = u64;

    fn next(&mut self) -> Option<u64> {
        self.left = self.left.checked_sub(1)?;
        Some(self.left)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.said, Some(self.said))
    }
}

fn sleep_5ms(n: u64) -> u64 {
    std::thread::sleep(Duration::from_millis(5));
    n
}

fn sleep_ms(ms: u64) -> u64 {
    std::thread::sleep(Duration::from_millis(ms));
    ms
}

/// The CPU time this process (all its threads, not its children) has used.
fn cpu_time() -> Duration {
    let usage = nix::sys::resource::getrusage(nix::sys::resource::UsageWho::RUSAGE_SELF)
        .expect("getrusage");
    let time = |t: nix::sys::time::TimeVal| {
        Duration::from_secs(t.tv_sec() as u64) + Duration::from_micros(t.tv_usec() as u64)
    };
    time(usage.user_time()) + time(usage.system_time())
}

fn pow(base: u64, exponent: u32) -> u64 {
    base.pow(exponent)
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

fn wait_until_ready<R: serde::de::DeserializeOwned>(handle: &common::AsyncResult<R>) {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while !handle.ready() {
        assert!(std::time::Instant::now() < deadline, "never ready");
        std::thread::sleep(Duration::from_millis(1));
    }
}

fn initialize() {
    INITIALIZED.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
}

fn initialize_by(times: u32) {
    INITIALIZED.fetch_add(times, std::sync::atomic::Ordering::SeqCst);
}

fn power(base: u64, exponent: u32) -> u64 {
    base.pow(exponent)
}

fn times_initialized(_: u32) -> (u32, u32) {
    (
        std::process::id(),
        INITIALIZED.load(std::sync::atomic::Ordering::SeqCst),
    )
}

fn unchecked_picky(n: u32) -> u32 {
    n
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

/// Waits, at most 30 s (a kill is a matter of milliseconds; the bound is
/// only for a failure to be one), for group `group` to have no live process left, and
/// reaps those that came to this process (it is a subreaper).
fn wait_group_gone(group: Pid) -> Vec<Pid> {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
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

fn hundred_bytes(n: u32) -> Vec<u8> {
    vec![n.to_le_bytes()[0]; 100]
}

/// Writes a mark at `path`: a task whose running can be seen.
fn write_mark(path: String) {
    std::fs::write(path, "ran").expect("write the mark");
}

/// `n` MiB, a result larger than any pipe holds.
/// A sum of `bytes` that changes if any byte or its place does.
fn checksum(bytes: Vec<u8>) -> u64 {
    bytes
        .iter()
        .enumerate()
        .map(|(i, &b)| (i as u64 + 1) * u64::from(b))
        .sum()
}

/// [`checksum`], but the worker exits on the item that starts with 3.
fn checksum_exit_at_3(bytes: Vec<u8>) -> u64 {
    if bytes[0] == 3 {
        std::process::exit(7);
    }
    checksum(bytes)
}

/// `n` bytes that differ from position to position.
fn patterned(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i % 251) as u8 ^ (n as u8)).collect()
}

fn megabytes(n: usize) -> Vec<u8> {
    vec![7; n << 20]
}

/// Whether `pid` is blocked sending (`write` or `vmsplice` to a pipe under
/// fork, or `sendto` on the socket a spawned worker answers on), by
/// `/proc/PID/syscall`.
fn blocked_writing(pid: Pid) -> bool {
    let sending = [
        libc::SYS_write,
        libc::SYS_writev,
        libc::SYS_vmsplice,
        libc::SYS_sendto,
        libc::SYS_sendmsg,
    ];
    std::fs::read_to_string(format!("/proc/{pid}/syscall")).is_ok_and(|call| {
        call.split_whitespace()
            .next()
            .and_then(|n| n.parse::<i64>().ok())
            .is_some_and(|n| sending.contains(&n))
    })
}

/// Sleeps a little (so that tasks pile up behind the workers), then marks
/// its place in the list.
fn mark_after_a_while((list, i): (ShareableList<i64>, usize)) -> usize {
    std::thread::sleep(Duration::from_millis(5));
    list.set(i, 1);
    i
}

/// Waits until the list's first item is set.
fn wait_for_gate((gate, i): (ShareableList<i64>, usize)) -> usize {
    while gate.get(0) == 0 {
        std::thread::sleep(Duration::from_millis(1));
    }
    i
}
