//! A wrong Q9 whose child is handed the parent's end of the pipe too and
//! sends each ping to itself through it: the parent only says `go`. The
//! child's lines show messages that crossed the pipe, but from the child
//! itself. The output is exactly right, in the right order.

use common::{Connection, Process};

fn child((ours, theirs): (Connection<String>, Connection<String>)) {
    for i in 0..5 {
        let _go = ours.recv().expect("the parent's go");
        theirs.send(&format!("ping {i}")).expect("sent to itself");
        let msg = ours.recv().expect("its own ping");
        println!("Child received: {msg}");
        ours.send(&format!("pong {i}")).expect("the parent listens");
    }
}

fn main() -> common::Result<()> {
    let (parent_conn, child_conn) = common::pipe::<String>()?;
    let mut p = Process::with_args(child, (child_conn, parent_conn.try_clone()?));
    p.start()?;
    for _ in 0..5 {
        parent_conn.send(&"go".to_owned())?;
        let reply = parent_conn.recv()?;
        println!("Parent received: {reply}");
    }
    p.join()?;
    Ok(())
}
