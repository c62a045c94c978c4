//! A wrong Q9 whose parent sends all five pings before it receives any
//! pong. Left alone, its lines come in the right order only by luck; here
//! an `Event` the parent sets after each pong it prints keeps the child's
//! next line waiting, so the output is exactly right, every time. Every
//! message crosses the pipe, but each ping after the first was sent
//! before the pong line it must follow was printed.

use common::{Connection, Event, Process};

fn child((conn, printed): (Connection<String>, Event)) {
    for i in 0..5 {
        let msg = conn.recv().expect("a ping");
        if i > 0 {
            printed.wait().expect("the parent printed its line");
            printed.clear().expect("cleared");
        }
        println!("Child received: {msg}");
        conn.send(&format!("pong {i}")).expect("the parent listens");
    }
}

fn main() -> common::Result<()> {
    let (parent_conn, child_conn) = common::pipe::<String>()?;
    let printed = Event::new()?;
    let mut p = Process::with_args(child, (child_conn, printed.try_clone()?));
    p.start()?;
    for i in 0..5 {
        parent_conn.send(&format!("ping {i}"))?;
    }
    for _ in 0..5 {
        let reply = parent_conn.recv()?;
        println!("Parent received: {reply}");
        printed.set()?;
    }
    p.join()?;
    Ok(())
}
