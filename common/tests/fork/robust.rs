//! Locks and semaphores whose holders are killed with SIGKILL: at a known
//! point (holding), and at random points (anywhere in acquire, hold,
//! release), many times. The place is never lost, never doubled, and the
//! next holder learns that the previous one died.

use crate::support::*;

fork_tests! {
    /// A holder killed while a waiter waits: the waiter gets the lock, and is
    /// told that its previous holder died. The dead holder is not reaped
    /// until the end (a zombie is dead too).
    fn a_killed_holders_lock_passes_to_the_waiter() {
        let lock = Lock::new().expect("lock");
        let (holder_talk, theirs) = common::pipe().expect("pipe");
        let mut holder = Process::with_args(hold_forever, (lock.try_clone().expect("dup"), theirs));
        holder.start().expect("start");
        assert_eq!(holder_talk.recv::<String>().expect("news"), "holding");
        let (waiter_talk, theirs) = common::pipe().expect("pipe");
        let mut waiter = Process::with_args(wait_and_tell, (lock.try_clone().expect("dup"), theirs));
        waiter.start().expect("start");
        assert_eq!(waiter_talk.recv::<String>().expect("news"), "waiting");
        holder.kill().expect("kill the holder");
        assert!(
            waiter_talk.recv::<bool>().expect("the waiter got the lock"),
            "the waiter was told the previous holder died"
        );
        waiter.join().expect("join");
        assert_eq!(waiter.exitcode(), Some(0));
        holder.join().expect("join");
        let again = lock.acquire_timeout(Duration::ZERO).expect("tried");
        assert!(again.is_some_and(|g| !g.previous_holder_died()), "free, and no death to report twice");
    }

    /// A semaphore used as a signal: a consumer takes one signal and keeps
    /// it (Python's bare `acquire`), then exits; the signal stays consumed
    /// (only a lock's holder gives back what it kept by dying).
    fn a_consumed_signal_stays_consumed_after_its_taker_exits() {
        let signals = Semaphore::new(0).expect("semaphore");
        signals.release().expect("one");
        signals.release().expect("two");
        let mut consumer = Process::with_args(take_one_signal, signals.try_clone().expect("dup"));
        consumer.start().expect("start");
        consumer.join().expect("join");
        assert_eq!(consumer.exitcode(), Some(0));
        let first = signals.acquire_timeout(Duration::from_secs(5)).expect("tried");
        assert!(first.is_some(), "the second signal is there");
        first.expect("taken").keep();
        // Long enough for a waiter to look for dead holders several times.
        assert!(
            signals
                .acquire_timeout(Duration::from_millis(100))
                .expect("tried")
                .is_none(),
            "no third signal came back from the consumer's exit"
        );
    }

    /// A process that loops taking and giving back the lock is killed at a
    /// random moment, forty times: each time the lock is whole afterwards
    /// (one place: taken once, not twice).
    fn lock_survives_holders_killed_at_random_points() {
        let lock = Lock::new().expect("lock");
        for round in 0..40 {
            kill_a_looping_holder(round, |rounds| {
                Process::with_args(loop_on_lock, (lock.try_clone().expect("dup"), rounds))
            });
            let held = lock
                .acquire_timeout(Duration::from_secs(10))
                .expect("tried")
                .unwrap_or_else(|| panic!("round {round}: the lock was lost"));
            assert!(
                lock.acquire_timeout(Duration::ZERO).expect("tried").is_none(),
                "round {round}: the lock had two places"
            );
            drop(held);
        }
    }

    /// The same for a semaphore of two places, with two looping holders of
    /// which one is killed each round.
    fn semaphore_survives_holders_killed_at_random_points() {
        let places = Semaphore::new(2).expect("semaphore");
        for round in 0..25 {
            let progress = Value::new(0).expect("value");
            let mut survivor = Process::with_args(
                loop_on_semaphore_until_told,
                (places.try_clone().expect("dup"), progress.try_clone().expect("dup")),
            );
            survivor.start().expect("start");
            kill_a_looping_holder(round, |rounds| {
                Process::with_args(loop_on_semaphore, (places.try_clone().expect("dup"), rounds))
            });
            // The survivor stops (it checks the progress word) and is joined.
            progress.set(-1);
            survivor.join().expect("join");
            assert_eq!(survivor.exitcode(), Some(0), "round {round}");
            let first = places.acquire_timeout(Duration::from_secs(10)).expect("tried");
            let second = places.acquire_timeout(Duration::from_secs(10)).expect("tried");
            assert!(first.is_some() && second.is_some(), "round {round}: a place was lost");
            assert!(
                places.acquire_timeout(Duration::ZERO).expect("tried").is_none(),
                "round {round}: a third place appeared"
            );
        }
    }
}

/// Starts the process `make` returns for a progress word, waits until it
/// has looped at least once, kills it after a random pause, and reaps it.
fn kill_a_looping_holder(round: u32, make: impl FnOnce(Value) -> Process) {
    let rounds = Value::new(0).expect("value");
    let mut process = make(rounds.try_clone().expect("dup"));
    process.start().expect("start");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while rounds.get() == 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "round {round}: the holder never looped"
        );
        std::thread::sleep(Duration::from_micros(100));
    }
    std::thread::sleep(Duration::from_micros(random_below(2000)));
    process.kill().expect("kill");
    process.join().expect("join");
    assert!(
        matches!(process.ended(), Some(Ended::Signaled(_))),
        "round {round}: the holder was killed, not ended otherwise: {:?}",
        process.ended()
    );
}

/// A number below `bound`, different each call (not for cryptography).
fn random_below(bound: u64) -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static STATE: AtomicU64 = AtomicU64::new(0);
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(1, |d| d.as_nanos() as u64);
    let mut x = STATE.fetch_add(seed | 1, Ordering::Relaxed) ^ seed;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    x % bound
}

/// Takes the lock, says so, and never lets go.
fn hold_forever((lock, talk): (Lock, Connection)) {
    lock.acquire().expect("the lock").keep();
    talk.send(&"holding").expect("the parent listens");
    loop {
        std::thread::park();
    }
}

/// Says it is about to wait, waits for the lock, and tells whether its
/// previous holder died.
fn wait_and_tell((lock, talk): (Lock, Connection)) {
    talk.send(&"waiting").expect("the parent listens");
    let held = lock.acquire().expect("the lock");
    talk.send(&held.previous_holder_died())
        .expect("the parent listens");
}

/// Takes and gives back the lock, forever, counting rounds.
fn loop_on_lock((lock, rounds): (Lock, Value)) {
    loop {
        let held = lock.acquire().expect("the lock");
        rounds.add(1);
        drop(held);
    }
}

/// Takes and gives back a place, forever.
fn loop_on_semaphore((places, rounds): (Semaphore, Value)) {
    loop {
        let held = places.acquire().expect("a place");
        rounds.add(1);
        drop(held);
    }
}

/// Takes and gives back a place until the value is set to -1.
fn loop_on_semaphore_until_told((places, stop): (Semaphore, Value)) {
    while stop.get() != -1 {
        let held = places
            .acquire_timeout(Duration::from_millis(100))
            .expect("tried");
        drop(held);
    }
}

/// Takes one signal and keeps it.
fn take_one_signal(signals: Semaphore) {
    signals.acquire().expect("a signal").keep();
}
