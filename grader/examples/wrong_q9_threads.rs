//! A wrong Q9 with a thread for the child: the messages go through a
//! pipe, but between two threads of one process.

fn main() -> common::Result<()> {
    let (parent_conn, child_conn) = common::pipe::<String>()?;
    let child = std::thread::spawn(move || {
        for i in 0..5 {
            let msg = child_conn.recv().expect("a ping");
            println!("Child received: {msg}");
            child_conn
                .send(&format!("pong {i}"))
                .expect("the parent listens");
        }
    });
    for i in 0..5 {
        parent_conn.send(&format!("ping {i}"))?;
        let reply = parent_conn.recv()?;
        println!("Parent received: {reply}");
    }
    child.join().expect("the thread ends");
    Ok(())
}
