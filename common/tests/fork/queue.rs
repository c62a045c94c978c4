//! Queue and JoinableQueue across processes: order, size, bounds, and
//! writers killed or stopped in the middle of a value.

use crate::support::*;

fork_tests! {
    /// A producer fills a queue of three places faster than the parent
    /// takes; it never holds more than three, and every value comes, in
    /// order.
    fn bounded_queue_holds_at_most_maxsize() {
        let queue = Queue::with_maxsize(3).expect("queue");
        let mut producer = Process::with_args(produce_bounded, queue.try_clone().expect("dup"));
        producer.start().expect("start");
        for expected in 0..50u32 {
            assert!(queue.qsize() <= 3, "{} values in a queue of 3", queue.qsize());
            assert_eq!(queue.get().expect("a value"), expected);
        }
        producer.join().expect("join");
        assert_eq!(producer.exitcode(), Some(0), "the producer saw at most 3 too");
        assert!(queue.empty());
    }

    /// A writer killed at a random moment while putting values larger than
    /// one entry (and the queue's room), twenty times: what it put whole
    /// comes whole, the torn value is dropped, a timed get returns by its
    /// deadline, and the queue goes on working.
    fn queue_survives_writers_killed_mid_put() {
        let queue = Queue::<Vec<u8>>::new().expect("queue");
        for round in 0..20u8 {
            let mut writer = Process::with_args(put_big_values, (queue.try_clone().expect("dup"), round));
            writer.start().expect("start");
            // At least one value went in whole before the kill.
            let first = queue.get_timeout(Duration::from_secs(10)).expect("a first value");
            assert_whole(&first, round);
            std::thread::sleep(Duration::from_micros(u64::from(round) * 150));
            writer.kill().expect("kill");
            writer.join().expect("join");
            loop {
                match queue.get_timeout(Duration::from_millis(200)) {
                    Ok(value) => assert_whole(&value, round),
                    Err(Error::Timeout(_)) => break,
                    Err(other) => panic!("round {round}: {other}"),
                }
            }
            queue.put(&vec![round; 3]).expect("put after the kill");
            assert_eq!(queue.get().expect("get after the kill"), vec![round; 3]);
        }
    }

    /// A writer stopped (SIGSTOP) in the middle of a value: a timed get
    /// returns by its deadline rather than wait for the rest.
    fn queue_get_timeout_returns_when_the_writer_stops_mid_value() {
        let queue = Queue::<Vec<u8>>::new().expect("queue");
        let mut writer = Process::with_args(put_big_values, (queue.try_clone().expect("dup"), 7));
        writer.start().expect("start");
        let first = queue.get_timeout(Duration::from_secs(10)).expect("a first value");
        assert_whole(&first, 7);
        let pid = Pid::from_raw(i32::try_from(writer.pid().expect("started")).expect("pid"));
        kill(pid, Signal::SIGSTOP).expect("stop the writer");
        let started = std::time::Instant::now();
        let mut outcome = Ok(Vec::new());
        // Whole values written before the stop come first; then the torn one.
        for _ in 0..100 {
            outcome = queue.get_timeout(Duration::from_millis(300));
            match &outcome {
                Ok(value) => assert_whole(value, 7),
                Err(_) => break,
            }
        }
        assert!(matches!(outcome, Err(Error::Timeout(_))), "{outcome:?}");
        assert!(started.elapsed() < Duration::from_secs(60), "every get returned");
        writer.kill().expect("kill");
        kill(pid, Signal::SIGCONT).ok();
        writer.join().expect("join");
    }

    /// Three processes put at once; every value arrives once and whole, each
    /// producer's in the order it put them.
    fn queue_keeps_each_producers_order() {
        let queue = Queue::new().expect("queue");
        let producers = start_each(3, produce, |p| (queue.try_clone().expect("dup"), p));
        let mut next = [0u32; 3];
        for _ in 0..600 {
            let (producer, n) = queue.get().expect("a value");
            assert_eq!(n, next[producer as usize], "producer {producer} in order");
            next[producer as usize] += 1;
        }
        assert_eq!(next, [200; 3]);
        join_all_exited_0(&producers, "a producer failed");
        assert!(matches!(
            queue.get_timeout(Duration::from_millis(1)),
            Err(Error::Timeout(_))
        ));
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
}

fn produce((queue, producer): (Queue<(u32, u32)>, u32)) {
    for n in 0..200 {
        queue.put(&(producer, n)).expect("put");
    }
}

fn put_a_megabyte(queue: Queue<Vec<u8>>) {
    queue.put(&vec![7u8; 1 << 20]).expect("put");
}

/// Takes values, adds them up in shared memory, marks each done.
fn add_up((queue, sum): (JoinableQueue<i64>, Value)) {
    loop {
        let n = queue.get().expect("a value");
        sum.add(n);
        queue.task_done().expect("one per get");
    }
}

/// Puts 0..50 into a bounded queue, checking its size after each put.
fn produce_bounded(queue: Queue<u32>) {
    for n in 0..50 {
        queue.put(&n).expect("room comes");
        assert!(
            queue.qsize() <= 3,
            "{} values in a queue of 3",
            queue.qsize()
        );
    }
}

/// Puts values of 100 KB (several entries; one fills the queue) forever:
/// each is `round` repeated, ending in its length.
fn put_big_values((queue, round): (Queue<Vec<u8>>, u8)) {
    loop {
        queue.put(&vec![round; 100_000]).expect("put");
    }
}

/// A value from `put_big_values` arrived whole.
fn assert_whole(value: &[u8], round: u8) {
    assert_eq!(
        value.len(),
        100_000,
        "round {round}: a torn value came through"
    );
    assert!(
        value.iter().all(|&b| b == round),
        "round {round}: mixed bytes"
    );
}
