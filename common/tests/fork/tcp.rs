//! Listener and client over TCP, on 127.0.0.1: an automatic port, the same
//! authentication as over a Unix socket, ends that cross to children, and
//! frames that stay whole when a peer is slow or dies half-way.

use std::io::Write;
use std::net::TcpStream;

use common::{Address, Listener};

use crate::support::*;

fork_tests! {
    /// A listener on port 0 says the port it got; a child with a wrong key
    /// is refused on both sides and the listener goes on; a child with the
    /// right key sends values larger than a socket's buffer, whole.
    fn tcp_listener_lets_in_only_the_right_key() {
        let listener = Listener::bind(("127.0.0.1", 0), Some(b"right")).expect("listen");
        let address = listener.address().clone();
        assert!(matches!(&address, Address::Tcp(host, port) if host == "127.0.0.1" && *port != 0), "{address}");
        let mut wrong = Process::with_args(send_over_tcp, (address.clone(), b"wrong".to_vec()));
        wrong.start().expect("start");
        assert!(matches!(listener.accept::<(String, Vec<u8>)>(), Err(Error::AuthenticationFailed)));
        wrong.join().expect("join");
        assert_eq!(wrong.exitcode(), Some(3), "the client was refused too");
        let mut right = Process::with_args(send_over_tcp, (address, b"right".to_vec()));
        right.start().expect("start");
        let conn = listener.accept::<(String, Vec<u8>)>().expect("let in");
        let (greeting, bytes) = conn.recv().expect("a message");
        assert_eq!(greeting, "hello");
        assert_eq!(bytes.len(), 4 << 20);
        assert!(bytes.iter().enumerate().all(|(i, &b)| b == i as u8));
        assert_eq!(conn.recv().expect("a second message"), ("bye".to_owned(), vec![]));
        assert!(matches!(conn.recv(), Err(Error::PipeClosed)), "the child ended");
        right.join().expect("join");
        assert_eq!(right.exitcode(), Some(0));
    }

    /// An end of a TCP connection crosses to a child as an argument, under
    /// whichever start method is in force, and the child talks on it.
    fn a_tcp_end_crosses_to_a_child() {
        let listener = Listener::bind(("127.0.0.1", 0), None).expect("listen");
        let ours = common::client::<u64>(listener.address(), None).expect("connect");
        let theirs = listener.accept::<u64>().expect("accepted");
        let mut child = Process::with_args(double_on, theirs);
        child.start().expect("start");
        ours.send(&21).expect("send");
        assert_eq!(ours.recv().expect("the double"), 42);
        child.join().expect("join");
        assert_eq!(child.exitcode(), Some(0));
    }

    /// A frame that comes in pieces is received whole once its last piece
    /// comes, even across a timeout in between; one cut off by its writer's
    /// end is no value, and the connection reads as closed.
    fn a_tcp_frame_half_sent_is_never_a_value() {
        let listener = Listener::bind(("127.0.0.1", 0), None).expect("listen");
        let Address::Tcp(host, port) = listener.address().clone() else {
            panic!("a TCP address");
        };
        let mut raw = TcpStream::connect((host.as_str(), port)).expect("connect");
        let conn = listener.accept::<common::Dynamic>().expect("accepted");
        let frame = frame_of(b"a whole message");
        raw.write_all(&frame[..3]).expect("a piece of the length");
        assert!(matches!(conn.recv_bytes_timeout(Duration::from_millis(20)), Err(Error::Timeout(_))));
        raw.write_all(&frame[3..12]).expect("more");
        assert!(matches!(conn.recv_bytes_timeout(Duration::from_millis(20)), Err(Error::Timeout(_))));
        raw.write_all(&frame[12..]).expect("the rest");
        assert_eq!(conn.recv_bytes().expect("whole"), b"a whole message");
        // A frame that says it is huge, then its writer goes.
        raw.write_all(&u64::MAX.to_le_bytes()).expect("a length");
        raw.write_all(b"not all of it").expect("a piece");
        drop(raw);
        assert!(matches!(conn.recv_bytes(), Err(Error::PipeClosed)));
    }
}

/// Connects to `address` with `key` and sends a greeting with 4 MiB (more
/// than the socket holds), then a farewell; exits 3 if refused.
fn send_over_tcp((address, key): (Address, Vec<u8>)) {
    let bytes: Vec<u8> = (0..4 << 20).map(|i: u32| i as u8).collect();
    match common::client::<(String, Vec<u8>)>(address, Some(&key)) {
        Ok(conn) => {
            conn.send(&("hello".to_owned(), bytes)).expect("send");
            conn.send(&("bye".to_owned(), Vec::new())).expect("send");
        }
        Err(Error::AuthenticationFailed) => std::process::exit(3),
        Err(other) => panic!("{other}"),
    }
}

fn double_on(conn: Connection<u64>) {
    let n = conn.recv().expect("a number");
    conn.send(&(2 * n)).expect("send");
}

/// `message` framed as a TCP connection sends it: its length, then it.
fn frame_of(message: &[u8]) -> Vec<u8> {
    [&(message.len() as u64).to_le_bytes()[..], message].concat()
}
