//! A wrong Q9 whose parent prints the child's line too: the ping and the
//! pong cross the pipe, but the child prints nothing, and the line that
//! says what the child received comes from the parent.

use common::{Connection, Process};

fn child(conn: Connection<String>) {
    for i in 0..5 {
        let _ = conn.recv().expect("a ping");
        conn.send(&format!("pong {i}")).expect("the parent listens");
    }
}

fn main() -> common::Result<()> {
    let (parent_conn, child_conn) = common::pipe::<String>()?;
    let mut p = Process::with_args(child, child_conn);
    p.start()?;
    for i in 0..5 {
        let ping = format!("ping {i}");
        parent_conn.send(&ping)?;
        println!("Child received: {ping}");
        let reply = parent_conn.recv()?;
        println!("Parent received: {reply}");
    }
    p.join()?;
    Ok(())
}
