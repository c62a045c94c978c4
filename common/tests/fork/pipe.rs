//! pipe(), wait(), Listener and client: ends that cross to children, and
//! peers that stop or fail to authenticate.

use crate::support::*;

fork_tests! {
    /// A parent that panics mid-exchange, holding its end of the pipe, its
    /// child waiting in `recv` for the next message: dropping the child's
    /// `Process` in the panic ends the child (after its grace) instead of
    /// waiting for it forever.
    fn a_process_dropped_in_a_panic_is_ended_not_awaited() {
        let (ours, theirs) = common::pipe().expect("pipe");
        let started = std::time::Instant::now();
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let mut child = Process::with_args(wait_for_a_message, theirs);
            child.start().expect("start");
            ours.send(&"ping 0".to_owned()).expect("send");
            panic!("the parent fails mid-exchange");
        }));
        assert!(outcome.is_err(), "the closure panicked");
        let took = started.elapsed();
        assert!(took < Duration::from_secs(30), "the drop took {took:?}");
        drop(ours);
    }

    /// A peer stopped (SIGSTOP) half-way through sending a message larger
    /// than the socket holds: `recv_timeout` returns by its deadline, and
    /// `wait` on the end and the peer's sentinel says the peer ended once it
    /// is killed.
    fn recv_timeout_returns_when_the_peer_stops_mid_message() {
        let (ours, theirs) = common::pipe().expect("pipe");
        let mut peer = Process::with_args(send_a_megabyte_forever, theirs);
        peer.start().expect("start");
        // The first message starts arriving; the socket fills; stop the peer.
        assert!(ours.poll(Duration::from_secs(10)).expect("polled"));
        let pid = Pid::from_raw(i32::try_from(peer.pid().expect("started")).expect("pid"));
        kill(pid, Signal::SIGSTOP).expect("stop the peer");
        let started = std::time::Instant::now();
        let mut outcome = Ok(Vec::new());
        for _ in 0..20 {
            outcome = ours.recv_timeout::<Vec<u8>>(Duration::from_millis(300));
            if outcome.is_err() {
                break;
            }
        }
        assert!(matches!(outcome, Err(Error::Timeout(_))), "{outcome:?}");
        assert!(started.elapsed() < Duration::from_secs(30));
        peer.kill().expect("kill");
        let ready = common::wait(&[peer.sentinel().expect("a sentinel")], Some(Duration::from_secs(10)))
            .expect("waited");
        assert_eq!(ready, [0], "the sentinel is ready once the peer ended");
        peer.join().expect("join");
    }

    /// `wait` names exactly the ends that are ready.
    fn wait_names_the_ready_ends() {
        use std::os::fd::AsFd;
        let pairs: Vec<(Connection, Connection)> =
            (0..3).map(|_| common::pipe().expect("pipe")).collect();
        let mut child = Process::with_args(send_on_the_second, pairs[1].1.try_clone().expect("dup"));
        child.start().expect("start");
        let ends: Vec<_> = pairs.iter().map(|(ours, _)| ours.as_fd()).collect();
        let ready = common::wait(&ends, None).expect("waited");
        assert_eq!(ready, [1]);
        child.join().expect("join");
        assert_eq!(pairs[1].0.recv::<u8>().expect("the value"), 2);
        assert!(common::wait(&ends, Some(Duration::ZERO)).expect("waited").is_empty());
    }

    /// A client with the right key is let in; one with a wrong key is
    /// refused on both sides, and the listener goes on accepting.
    fn listener_lets_in_only_the_right_key() {
        let dir = temp_dir();
        let listener = common::Listener::bind(dir.path().join("socket"), Some(b"right"))
            .expect("listen");
        let path = listener.address().clone();
        let mut wrong = Process::with_args(connect_with, (path.clone(), b"wrong".to_vec()));
        wrong.start().expect("start");
        assert!(matches!(listener.accept::<String>(), Err(Error::AuthenticationFailed)));
        wrong.join().expect("join");
        assert_eq!(wrong.exitcode(), Some(3), "the client was refused too");
        let mut right = Process::with_args(connect_with, (path, b"right".to_vec()));
        right.start().expect("start");
        let conn = listener.accept::<String>().expect("let in");
        assert_eq!(conn.recv().expect("a greeting"), "hello");
        right.join().expect("join");
        assert_eq!(right.exitcode(), Some(0));
    }

    /// Children started and not yet ended are active; joined ones are not.
    fn active_children_are_those_still_running() {
        let (ours, theirs) = common::pipe().expect("pipe");
        let mut child = Process::with_args(wait_for_word, theirs);
        child.start().expect("start");
        let pid = child.pid().expect("started");
        assert!(common::active_children().iter().any(|c| c.pid() == pid));
        ours.send(&()).expect("send");
        child.join().expect("join");
        assert!(!common::active_children().iter().any(|c| c.pid() == pid));
    }

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

    /// A typed end crosses to a child; on a `Dynamic` end, a value read as
    /// another type than it was sent as (another integer type, text as a
    /// number, raw bytes) is an error naming the type asked for, never a
    /// wrong value, and the values after it still come.
    fn a_value_read_as_another_type_is_an_error() {
        let (typed, theirs) = common::pipe::<Vec<String>>().expect("pipe");
        let (dynamic, their_dynamic) = common::pipe::<common::Dynamic>().expect("pipe");
        let mut process = Process::with_args(send_mixed, (theirs, their_dynamic));
        process.start().expect("start");
        assert_eq!(typed.recv().expect("words"), ["one", "two"]);
        let wrong = dynamic.recv::<u32>().expect_err("an i32 is not a u32");
        assert!(matches!(&wrong, Error::WrongType { expected: "u32", .. }), "{wrong}");
        let wrong = dynamic.recv::<u64>().expect_err("text is not a number");
        assert!(wrong.to_string().contains("as u64"), "{wrong}");
        assert!(matches!(dynamic.recv::<String>(), Err(Error::WrongType { .. })), "raw bytes");
        assert_eq!(dynamic.recv::<String>().expect("text, sent as &str"), "text");
        assert_eq!(dynamic.recv::<i32>().expect("the right type"), -5);
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

/// Sends two words on a typed end; on a dynamic one, -5 (to be misread),
/// text (to be misread), raw bytes, text and -5.
fn send_mixed((typed, dynamic): (Connection<Vec<String>>, Connection)) {
    typed
        .send(&vec!["one".to_owned(), "two".to_owned()])
        .expect("send");
    dynamic.send(&-5i32).expect("send");
    dynamic.send(&"text").expect("send");
    dynamic.send_bytes(b"raw bytes").expect("send");
    dynamic.send(&"text").expect("send");
    dynamic.send(&-5i32).expect("send");
}

fn say_nothing(_: Connection) {}

fn ends_nowhere(_: Connection) -> u32 {
    0
}

/// Sends messages of a megabyte (more than the socket holds) forever.
fn wait_for_a_message(conn: Connection) {
    while conn.recv::<String>().is_ok() {}
}

fn send_a_megabyte_forever(conn: Connection) {
    loop {
        conn.send(&vec![7u8; 1 << 20]).expect("send");
    }
}

fn send_on_the_second(conn: Connection) {
    conn.send(&2u8).expect("send");
}

/// Connects with `key`: exits 0 after greeting if let in, 3 if refused.
fn connect_with((address, key): (common::Address, Vec<u8>)) {
    match common::client::<String>(address, Some(&key)) {
        Ok(conn) => conn.send(&"hello".to_owned()).expect("send"),
        Err(Error::AuthenticationFailed) => std::process::exit(3),
        Err(other) => panic!("{other}"),
    }
}

fn wait_for_word(conn: Connection) {
    let () = conn.recv().expect("a word");
}
