//! A wrong Q9 whose child sends each pong before it prints the ping it
//! received. Left alone, the parent's line may come first; here an
//! `Event` the child sets after printing keeps the parent's line waiting,
//! so the output is exactly right, every time. Every message crosses the
//! pipe, but each pong was sent before the child's line it answers was
//! printed.

use common::{Connection, Event, Process};

fn child((conn, printed): (Connection<String>, Event)) {
    for i in 0..5 {
        let msg = conn.recv().expect("a ping");
        conn.send(&format!("pong {i}")).expect("the parent listens");
        println!("Child received: {msg}");
        printed.set().expect("set");
    }
}

fn main() -> common::Result<()> {
    let (parent_conn, child_conn) = common::pipe::<String>()?;
    let printed = Event::new()?;
    let mut p = Process::with_args(child, (child_conn, printed.try_clone()?));
    p.start()?;
    for i in 0..5 {
        parent_conn.send(&format!("ping {i}"))?;
        let reply = parent_conn.recv()?;
        printed.wait()?;
        printed.clear()?;
        println!("Parent received: {reply}");
    }
    p.join()?;
    Ok(())
}
