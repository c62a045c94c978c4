//! Timeouts too long for the clock (`Duration::MAX`): every timed call of
//! the locks, queues, pipes (typed or not), processes (owned or listed)
//! and pools takes one as a wait without end, and returns as soon as what
//! it waits for is there, never panicking.

use std::os::fd::AsFd;

use crate::support::*;

fork_tests! {
    /// Each timed call, with what it waits for already there.
    fn every_timed_call_takes_duration_max() {
        let forever = Duration::MAX;
        let lock = Lock::new().expect("lock");
        assert!(lock.acquire_timeout(forever).expect("lock").is_some());
        let rlock = RLock::new().expect("rlock");
        assert!(rlock.acquire_timeout(forever).expect("rlock").is_some());
        let semaphore = Semaphore::new(1).expect("semaphore");
        assert!(semaphore.acquire_timeout(forever).expect("semaphore").is_some());
        let bounded = BoundedSemaphore::new(1).expect("semaphore");
        assert!(bounded.acquire_timeout(forever).expect("bounded").is_some());
        let event = Event::new().expect("event");
        event.set().expect("set");
        assert!(event.wait_timeout(forever).expect("event"));
        let condition = Condition::new().expect("condition");
        let mut guard = condition.acquire().expect("condition");
        assert!(guard.wait_for(|| true, Some(forever)).expect("wait_for"));
        assert!(condition.wait_for(|| true, Some(forever)).expect("wait_for"));
        drop(guard);
        assert_eq!(Barrier::new(1).expect("barrier").wait_timeout(forever).expect("barrier"), 0);

        let queue = Queue::<u32>::with_maxsize(1).expect("queue");
        queue.put_timeout(&7, forever).expect("put");
        assert_eq!(queue.get_timeout(forever).expect("get"), 7);

        let (a, b) = common::pipe::<u8>().expect("pipe");
        a.send(&1u8).expect("send");
        assert!(b.poll(forever).expect("poll"));
        assert_eq!(common::wait(&[b.as_fd()], Some(forever)).expect("wait"), [0]);
        assert_eq!(b.recv_timeout(forever).expect("recv"), 1);
        a.send_bytes(b"raw").expect("send");
        assert_eq!(b.recv_bytes_timeout(forever).expect("recv"), b"raw");
        let (a, b) = common::pipe::<common::Dynamic>().expect("pipe");
        a.send("text").expect("send");
        assert_eq!(b.recv_timeout::<String>(forever).expect("recv"), "text");

        // The child waits to be listed before it ends.
        let listed = Event::new().expect("event");
        let mut child = Process::with_args(wait_for_event, listed.try_clone().expect("dup"));
        child.start().expect("start");
        let children = common::active_children();
        let seen = children.iter().find(|c| Some(c.pid()) == child.pid()).expect("listed");
        listed.set().expect("set");
        assert!(seen.join_timeout(forever).expect("join a listed child"));
        assert!(child.join_timeout(forever).expect("join"));
        let mut pool = Pool::new(1).expect("pool");
        let pending = pool.apply_async(double, 4).expect("queued");
        assert!(pending.wait_timeout(forever).expect("wait"));
        assert_eq!(pending.get_timeout(forever).expect("get"), 8);
    }

    /// A timed wait with nothing coming still ends when something comes:
    /// a child puts after the parent began its endless timed get.
    fn a_get_with_duration_max_gets_what_comes_later() {
        let queue = Queue::<u32>::new().expect("queue");
        let mut child = Process::with_args(put_seven, queue.try_clone().expect("dup"));
        child.start().expect("start");
        assert_eq!(queue.get_timeout(Duration::MAX).expect("get"), 7);
        child.join().expect("join");
    }
}

fn double(n: u32) -> u32 {
    2 * n
}

fn wait_for_event(event: Event) {
    event.wait().expect("shared memory");
}

fn put_seven(queue: Queue<u32>) {
    std::thread::sleep(Duration::from_millis(100));
    queue.put(&7).expect("put");
}
