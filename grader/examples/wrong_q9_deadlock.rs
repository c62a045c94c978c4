//! A wrong Q9 in which both sides receive first: each waits for the
//! other, forever. The grader's timeout must end it, leaving nothing
//! behind.

use common::{Connection, Process};

fn child(conn: Connection<String>) {
    for i in 0..5 {
        let msg = conn.recv().expect("a ping");
        println!("Child received: {msg}");
        conn.send(&format!("pong {i}")).expect("the parent listens");
    }
}

fn main() -> common::Result<()> {
    let (parent_conn, child_conn) = common::pipe::<String>()?;
    let mut p = Process::with_args(child, child_conn);
    p.start()?;
    for i in 0..5 {
        let reply = parent_conn.recv()?;
        println!("Parent received: {reply}");
        parent_conn.send(&format!("ping {i}"))?;
    }
    p.join()?;
    Ok(())
}
