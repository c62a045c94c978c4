//! A Barrier whose parties are killed with SIGKILL: while asleep in
//! `wait`, and at random moments of a run of rounds. The survivors' timed
//! waits end by their deadlines, and the survivors see the barrier broken.

use crate::support::*;

/// Every survivor's wait in these tests has this timeout.
const TIMEOUT: Duration = Duration::from_secs(1);
/// How far past its deadline a timed wait may end on a loaded machine (a
/// wait that ignores its deadline never ends at all: the harness's alarm
/// would kill the test after two minutes).
const SLACK: Duration = Duration::from_secs(30);

fork_tests! {
    /// A party killed while asleep in `wait`: when the others come, the
    /// round does not open with a dead member; every survivor's timed wait
    /// ends in time, broken, and so does the next.
    fn a_barrier_with_a_party_killed_asleep_is_broken_in_time() {
        let barrier = Barrier::new(3).expect("barrier");
        let mut victim = Process::with_args(wait_forever, barrier.try_clone().expect("dup"));
        victim.start().expect("start");
        wait_until(|| barrier.n_waiting() == 1, "the victim never waited");
        victim.kill().expect("kill");
        victim.join().expect("join");
        let (talk, theirs) = common::pipe().expect("pipe");
        let mut survivor = Process::with_args(
            wait_twice_and_tell,
            (barrier.try_clone().expect("dup"), theirs),
        );
        survivor.start().expect("start");
        let ours = wait_twice(&barrier);
        let theirs: Vec<(bool, Duration)> = talk.recv().expect("the survivor reports");
        survivor.join().expect("join");
        for (who, waits) in [("parent", ours), ("child", theirs)] {
            for (i, (broken, took)) in waits.into_iter().enumerate() {
                assert!(broken, "{who}, wait {i}: the barrier was not broken");
                assert!(took < TIMEOUT + SLACK, "{who}, wait {i}: took {took:?}");
            }
        }
        assert!(barrier.broken());
    }

    /// Three parties run rounds of timed waits; one is killed at a random
    /// moment, twenty times over. Every wait of the two survivors ends by
    /// its deadline, and they end seeing the barrier broken.
    fn barrier_survivors_keep_their_deadlines_when_a_party_is_killed_at_random() {
        for round in 0..20u32 {
            let barrier = Barrier::new(3).expect("barrier");
            let mut victim = Process::with_args(run_rounds_forever, barrier.try_clone().expect("dup"));
            victim.start().expect("start");
            let survivors: Vec<(Process, Connection)> = (0..2)
                .map(|_| {
                    let (talk, theirs) = common::pipe().expect("pipe");
                    let mut survivor = Process::with_args(
                        run_rounds_until_broken,
                        (barrier.try_clone().expect("dup"), theirs),
                    );
                    survivor.start().expect("start");
                    (survivor, talk)
                })
                .collect();
            std::thread::sleep(Duration::from_micros(random_below(3000)));
            victim.kill().expect("kill");
            victim.join().expect("join");
            for (survivor, talk) in &survivors {
                let (rounds, slowest): (u32, Duration) = talk
                    .recv_timeout(Duration::from_secs(20))
                    .unwrap_or_else(|e| panic!("round {round}: a survivor hung: {e}"));
                survivor.join().expect("join");
                assert_eq!(survivor.exitcode(), Some(0), "round {round}");
                assert!(
                    slowest < TIMEOUT + SLACK,
                    "round {round}: a wait took {slowest:?}, after {rounds} rounds"
                );
            }
            assert!(barrier.broken(), "round {round}");
        }
    }

    /// A timeout too long for the clock is a wait without end, not a
    /// panic: two parties meet under `Duration::MAX`.
    fn barrier_wait_timeout_takes_duration_max() {
        let barrier = Barrier::new(2).expect("barrier");
        let mut partner = Process::with_args(meet_without_end, barrier.try_clone().expect("dup"));
        partner.start().expect("start");
        barrier.wait_timeout(Duration::MAX).expect("met");
        partner.join().expect("join");
        assert_eq!(partner.exitcode(), Some(0));
    }
}

/// Waits until `done` holds (a rendezvous through shared memory), ten
/// seconds at most.
fn wait_until(done: impl Fn() -> bool, never: &str) {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(std::time::Instant::now() < deadline, "{never}");
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// A number below `bound`, different each call (not for cryptography).
fn random_below(bound: u64) -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(1, |d| u64::from(d.subsec_nanos()));
    nanos % bound
}

fn wait_forever(barrier: Barrier) {
    let _ = barrier.wait();
}

/// Two timed waits: whether each found the barrier broken, and how long
/// it took.
fn wait_twice(barrier: &Barrier) -> Vec<(bool, Duration)> {
    (0..2)
        .map(|_| {
            let start = std::time::Instant::now();
            let broken = matches!(barrier.wait_timeout(TIMEOUT), Err(Error::BrokenBarrier));
            (broken, start.elapsed())
        })
        .collect()
}

fn wait_twice_and_tell((barrier, talk): (Barrier, Connection)) {
    talk.send(&wait_twice(&barrier))
        .expect("the parent listens");
}

fn run_rounds_forever(barrier: Barrier) {
    while barrier.wait_timeout(TIMEOUT).is_ok() {}
    // Broken (a survivor timed out first): go on trying, to be killed.
    loop {
        let _ = barrier.wait_timeout(TIMEOUT);
    }
}

/// Meets the others round after round until a wait fails; tells how many
/// rounds it met and its slowest wait.
fn run_rounds_until_broken((barrier, talk): (Barrier, Connection)) {
    let mut slowest = Duration::ZERO;
    let mut rounds = 0u32;
    loop {
        let start = std::time::Instant::now();
        let outcome = barrier.wait_timeout(TIMEOUT);
        slowest = slowest.max(start.elapsed());
        match outcome {
            Ok(_) => rounds += 1,
            Err(Error::BrokenBarrier) => break,
            Err(other) => panic!("a wait failed: {other}"),
        }
    }
    talk.send(&(rounds, slowest)).expect("the parent listens");
}

fn meet_without_end(barrier: Barrier) {
    barrier.wait_timeout(Duration::MAX).expect("met");
}
