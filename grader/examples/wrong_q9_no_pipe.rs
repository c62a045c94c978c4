//! A wrong Q9 with no pipe at all: the child counts its pings itself and
//! the parent its pongs, each waiting its turn on a semaphore so that the
//! lines come in the right order. The output is exactly right; nothing
//! crossed.

use common::{Process, Semaphore};

fn child((child_turn, parent_turn): (Semaphore, Semaphore)) {
    for i in 0..5 {
        child_turn.acquire().expect("the child's turn").keep();
        println!("Child received: ping {i}");
        parent_turn.release().expect("the parent's turn");
    }
}

fn main() -> common::Result<()> {
    let child_turn = Semaphore::new(1)?;
    let parent_turn = Semaphore::new(0)?;
    let mut p = Process::with_args(child, (child_turn.try_clone()?, parent_turn.try_clone()?));
    p.start()?;
    for i in 0..5 {
        parent_turn.acquire()?.keep();
        println!("Parent received: pong {i}");
        child_turn.release()?;
    }
    p.join()?;
    Ok(())
}
