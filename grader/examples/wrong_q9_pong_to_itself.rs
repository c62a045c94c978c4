//! A wrong Q9 whose parent sends each pong to itself, over a second pipe
//! it keeps both ends of, once the child has acknowledged the ping: what
//! it prints did cross a pipe, but from itself, not from the child.

use common::{Connection, Process};

fn child(conn: Connection<String>) {
    for _ in 0..5 {
        let msg = conn.recv().expect("a ping");
        println!("Child received: {msg}");
        conn.send(&"ok".to_owned()).expect("the parent listens");
    }
}

fn main() -> common::Result<()> {
    let (parent_conn, child_conn) = common::pipe::<String>()?;
    let (echo_in, echo_out) = common::pipe::<String>()?;
    let mut p = Process::with_args(child, child_conn);
    p.start()?;
    for i in 0..5 {
        parent_conn.send(&format!("ping {i}"))?;
        let _ok = parent_conn.recv()?;
        echo_in.send(&format!("pong {i}"))?;
        let reply = echo_out.recv()?;
        println!("Parent received: {reply}");
    }
    p.join()?;
    Ok(())
}
