//! Queue and JoinableQueue across processes.

use crate::support::*;

fork_tests! {
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
