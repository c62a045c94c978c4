//! A wrong Q9 whose child acknowledges each ping with `ok` and whose
//! parent prints the pong it expected: the pings crossed, the replies it
//! prints did not. The output is exactly right, in the right order.

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
    let mut p = Process::with_args(child, child_conn);
    p.start()?;
    for i in 0..5 {
        parent_conn.send(&format!("ping {i}"))?;
        let _ok = parent_conn.recv()?;
        println!("Parent received: pong {i}");
    }
    p.join()?;
    Ok(())
}
