//! A right Q9 written in another style than the reference: an untyped
//! connection (`Connection` of `Dynamic`, as Python's carries any object)
//! sending `&str` and receiving `String`, a named child started from a
//! builder, and the exchange in a function of its own. It must get full
//! marks under every start method.

use common::{Connection, Process};

fn child(conn: Connection) {
    (0..5).for_each(|i| {
        let msg: String = conn.recv().expect("a ping from the parent");
        println!("Child received: {msg}");
        conn.send(format!("pong {i}").as_str())
            .expect("the parent listens");
    });
}

fn exchange(conn: &Connection, rounds: u32) -> common::Result<()> {
    for i in 0..rounds {
        conn.send(format!("ping {i}").as_str())?;
        let reply: String = conn.recv()?;
        println!("Parent received: {reply}");
    }
    Ok(())
}

fn main() -> common::Result<()> {
    let (ours, theirs) = common::pipe()?;
    let mut p = Process::builder().name("child").with_args(child, theirs);
    p.start()?;
    exchange(&ours, 5)?;
    p.join()?;
    Ok(())
}
