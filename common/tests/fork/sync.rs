//! Lock, RLock, Semaphore, Condition, Event and Barrier across processes.

use crate::support::*;

fork_tests! {
    /// A child known to be inside `wait` (the parent could only take the
    /// lock because the wait released it) wakes on the parent's notify.
    fn condition_wakes_a_waiting_child() {
        let cond = Condition::new().expect("condition");
        let flag = Value::new(0).expect("value");
        let (talk, theirs) = common::pipe().expect("pipe");
        let mut child = Process::with_args(
            wait_on_condition,
            (cond.try_clone().expect("dup"), flag.try_clone().expect("dup"), theirs),
        );
        child.start().expect("start");
        assert_eq!(talk.recv::<String>().expect("news"), "about to wait");
        {
            let guard = cond.acquire().expect("the child's wait released the lock");
            flag.set(1);
            guard.notify(1);
        }
        assert_eq!(talk.recv::<String>().expect("news"), "woke");
        child.join().expect("join");
        assert_eq!(child.exitcode(), Some(0));
    }

    /// An RLock taken twice by its holder is not free to another process
    /// until released twice.
    fn rlock_is_free_after_as_many_releases() {
        let lock = RLock::new().expect("rlock");
        lock.acquire().expect("once").keep();
        lock.acquire().expect("twice").keep();
        assert_eq!(exit_code_of_try(&lock), 3, "held: another process waits");
        lock.release().expect("one release");
        assert_eq!(exit_code_of_try(&lock), 3, "still held once");
        lock.release().expect("second release");
        assert_eq!(exit_code_of_try(&lock), 0, "free");
        assert!(matches!(lock.release(), Err(Error::NotOwner)));
    }

    /// Three parties get the indexes 0, 1 and 2, one each.
    fn barrier_gives_each_party_an_index() {
        let barrier = Barrier::new(3).expect("barrier");
        let children: Vec<(Process, Connection)> = (0..2)
            .map(|_| {
                let (talk, theirs) = common::pipe().expect("pipe");
                let mut process =
                    Process::with_args(tell_index, (barrier.try_clone().expect("dup"), theirs));
                process.start().expect("start");
                (process, talk)
            })
            .collect();
        let mut indexes = vec![barrier.wait().expect("the others come")];
        for (process, talk) in &children {
            indexes.push(talk.recv::<usize>().expect("an index"));
            process.join().expect("join");
        }
        indexes.sort_unstable();
        assert_eq!(indexes, [0, 1, 2]);
    }

    /// `abort` breaks the barrier for a waiting party; `reset` mends it.
    fn barrier_abort_wakes_a_waiter_and_reset_mends() {
        let barrier = Barrier::new(2).expect("barrier");
        let (talk, theirs) = common::pipe().expect("pipe");
        let mut child = Process::with_args(wait_broken, (barrier.try_clone().expect("dup"), theirs));
        child.start().expect("start");
        assert_eq!(talk.recv::<String>().expect("news"), "waiting");
        // Whether the child is already inside `wait` or about to enter it,
        // the barrier is broken for it.
        barrier.abort().expect("abort");
        assert!(talk.recv::<bool>().expect("news"), "the child saw it broken");
        child.join().expect("join");
        assert!(barrier.broken());
        barrier.reset().expect("reset");
        assert!(!barrier.broken());
        let mut partner = Process::with_args(meet_once, barrier.try_clone().expect("dup"));
        partner.start().expect("start");
        barrier.wait().expect("usable again");
        partner.join().expect("join");
        assert_eq!(partner.exitcode(), Some(0));
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

    /// Three processes and the parent meet five times at one barrier; nobody
    /// passes a round before all four have arrived at it.
    fn barrier_lets_no_one_through_early() {
        let barrier = Barrier::new(4).expect("barrier");
        let arrived = Array::new(ROUNDS).expect("array");
        let processes = start_each(3, meet_every_round, |_| {
            (
                barrier.try_clone().expect("dup"),
                arrived.try_clone().expect("dup"),
            )
        });
        meet_every_round((barrier, arrived.try_clone().expect("dup")));
        join_all_exited_0(&processes, "a child got through early");
        assert_eq!(arrived.to_vec(), [4; ROUNDS]);
    }

    /// `Semaphore(0)` as a signal: the parent waits on it until a child
    /// releases it.
    fn semaphore_zero_is_a_signal_a_child_gives() {
        let signal = Semaphore::new(0).expect("semaphore");
        let mut child = Process::with_args(give_signal, signal.try_clone().expect("clone"));
        child.start().expect("start");
        signal.acquire().expect("the child's signal").keep();
        child.join().expect("join");
        assert_eq!(child.exitcode(), Some(0));
    }

    /// A bounded semaphore whose one place the parent holds: a child may
    /// release it once; the second release is refused, in the child, and
    /// the parent can take the place again.
    fn bounded_semaphore_refuses_a_second_release() {
        let places = BoundedSemaphore::new(1).expect("semaphore");
        places.acquire().expect("the place").keep();
        let (ours, theirs) = common::pipe().expect("pipe");
        let mut child = Process::with_args(
            release_twice,
            (places.try_clone().expect("clone"), theirs),
        );
        child.start().expect("start");
        let said: (bool, bool) = ours.recv().expect("the child reports");
        child.join().expect("join");
        assert_eq!(said, (true, false), "first release allowed, second refused");
        assert!(places.acquire_timeout(Duration::ZERO).expect("poll").is_some());
    }
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

/// Takes a place, says so, and keeps it until told to let go.
fn hold_a_place((places, talk): (Semaphore, Connection)) {
    let _place = places.acquire().expect("a place");
    talk.send(&true).expect("the parent listens");
    let _: bool = talk.recv().expect("told to let go");
}

/// Waits for the event with no deadline, then reports whether it is set.
fn wait_for_event((event, talk): (Event, Connection)) {
    talk.send(&"waiting").expect("the parent listens");
    event.wait().expect("waited");
    talk.send(&event.is_set().expect("asked"))
        .expect("the parent listens");
}

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

fn give_signal(signal: Semaphore) {
    signal.release().expect("release");
}

/// Releases twice; reports which releases were allowed.
fn release_twice((places, talk): (BoundedSemaphore, Connection)) {
    let first = places.release().is_ok();
    let second = !matches!(places.release(), Err(Error::ReleasedTooOften));
    talk.send(&(first, second)).expect("the parent listens");
}

/// Waits on the condition for the flag, saying when it is about to wait
/// and when it woke.
fn wait_on_condition((cond, flag, talk): (Condition, Value, Connection)) {
    let mut guard = cond.acquire().expect("the lock");
    talk.send(&"about to wait").expect("the parent listens");
    assert!(guard.wait_for(|| flag.get() == 1, None).expect("waited"));
    talk.send(&"woke").expect("the parent listens");
}

/// The exit code of a child that tries `lock` at once: 0 if it got it, 3
/// if not.
fn exit_code_of_try(lock: &RLock) -> i32 {
    let mut child = Process::with_args(try_rlock, lock.try_clone().expect("dup"));
    child.start().expect("start");
    child.join().expect("join");
    child.exitcode().expect("ended")
}

fn try_rlock(lock: RLock) {
    let got = lock
        .acquire_timeout(Duration::ZERO)
        .expect("tried")
        .is_some();
    std::process::exit(if got { 0 } else { 3 });
}

fn tell_index((barrier, talk): (Barrier, Connection)) {
    let index = barrier.wait().expect("the others come");
    talk.send(&index).expect("the parent listens");
}

fn wait_broken((barrier, talk): (Barrier, Connection)) {
    talk.send(&"waiting").expect("the parent listens");
    let broken = matches!(barrier.wait(), Err(Error::BrokenBarrier));
    talk.send(&broken).expect("the parent listens");
}

fn meet_once(barrier: Barrier) {
    barrier.wait().expect("the other comes");
}
