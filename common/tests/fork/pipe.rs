//! pipe(): ends that cross to children.

use crate::support::*;

fork_tests! {
    /// Two ends cross in one argument, under whichever start method is in
    /// force: under spawn as descriptors beside the encoded tuple.
    fn pipe_ends_cross_to_a_child() {
        let (to_child, input) = common::pipe().expect("pipe");
        let (from_child, output) = common::pipe().expect("pipe");
        let mut process = Process::with_args(double_back, (input, output));
        process.start().expect("start");
        to_child.send(&21u64).expect("send");
        let (doubled, pid): (u64, u32) = from_child.recv().expect("an answer");
        assert_eq!(doubled, 42);
        assert_eq!(Some(pid), process.pid(), "the child answered");
        process.join().expect("join");
        assert_eq!(process.exitcode(), Some(0));
    }

    /// Once started, the parent holds no copy of the end it gave away: when the
    /// child ends without sending, `recv` says the pipe closed instead of
    /// waiting forever.
    fn pipe_closed_when_the_child_ends_silent() {
        let (ours, theirs) = common::pipe().expect("pipe");
        let mut process = Process::with_args(say_nothing, theirs);
        process.start().expect("start");
        assert!(matches!(ours.recv::<u32>(), Err(Error::PipeClosed)));
        process.join().expect("join");
    }

    /// A pool task's arguments cross as bytes with no descriptors: an end among
    /// them fails that item with a message saying where ends may go.
    fn pipe_end_refused_as_a_pool_task() {
        let (_ours, theirs) = common::pipe().expect("pipe");
        let mut pool = Pool::new(1).expect("pool");
        let error = pool.apply(ends_nowhere, theirs).expect_err("refused");
        assert!(
            error
                .to_string()
                .contains("only as an argument of Process::with_args"),
            "{error}"
        );
    }
}

/// Receives a number on one end and answers its double on the other.
fn double_back((input, output): (Connection, Connection)) {
    let n: u64 = input.recv().expect("the parent sends a number");
    output
        .send(&(n * 2, std::process::id()))
        .expect("the parent listens");
}

fn say_nothing(_: Connection) {}

fn ends_nowhere(_: Connection) -> u32 {
    0
}
