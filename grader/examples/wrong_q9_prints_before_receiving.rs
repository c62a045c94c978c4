//! A wrong Q9 whose child prints the ping it expects before it receives
//! it: it waits until a message is there (`poll`, which takes nothing),
//! prints what it guesses, and only then receives. The output is exactly
//! right, in the right order.

use std::time::Duration;

use common::{Connection, Process};

fn child(conn: Connection<String>) {
    for i in 0..5 {
        while !conn.poll(Duration::from_secs(60)).expect("a poll") {}
        println!("Child received: ping {i}");
        let _ = conn.recv().expect("a ping");
        conn.send(&format!("pong {i}")).expect("the parent listens");
    }
}

fn main() -> common::Result<()> {
    let (parent_conn, child_conn) = common::pipe::<String>()?;
    let mut p = Process::with_args(child, child_conn);
    p.start()?;
    for i in 0..5 {
        parent_conn.send(&format!("ping {i}"))?;
        let reply = parent_conn.recv()?;
        println!("Parent received: {reply}");
    }
    p.join()?;
    Ok(())
}
