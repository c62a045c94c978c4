//! The workloads of section `ipc` on `common`, each checking its results:
//! the same work as `ipc.py` does with CPython's `multiprocessing`.

use std::time::Duration;

use common::{Connection, Manager, Pool, Process, Queue, Value};

use super::Sizes;
use super::stopwatch::{Lap, Stopwatch};

/// Seconds from the first process started to the last joined: four
/// processes each add 1 to a shared `Value<i32>` `adds` times, under its
/// lock.
pub(super) fn value_lock(sizes: &Sizes) -> common::Result<Lap> {
    let value = Value::<i32>::new(0)?;
    let start = Stopwatch::start();
    let mut processes = Vec::new();
    for _ in 0..4 {
        let mut process = Process::with_args(add_under_lock, (value.try_clone()?, sizes.adds));
        process.start()?;
        processes.push(process);
    }
    join_all(&processes)?;
    let lap = start.lap();
    assert_eq!(value.get(), 4 * sizes.adds as i32, "an add was lost");
    Ok(lap)
}

fn add_under_lock((value, adds): (Value<i32>, u64)) {
    for _ in 0..adds {
        let _held = value.get_lock().acquire().expect("the lock");
        value.set(value.get() + 1);
    }
}

/// A child sends `messages` messages of `message_size` bytes with
/// `send_bytes` (each filled afresh with its number, as Python's
/// `bytes([i]) * size` makes a new one); the parent takes each with
/// `recv_bytes` and checks its length and ends.
pub(super) fn pipe_bytes(sizes: &Sizes) -> common::Result<Lap> {
    let (ours, theirs) = common::pipe()?;
    let start = Stopwatch::start();
    let mut child = Process::with_args(send_messages, (theirs, sizes.messages, sizes.message_size));
    child.start()?;
    for i in 0..sizes.messages {
        let message = ours.recv_bytes()?;
        let tag = i as u8;
        assert!(
            message.len() == sizes.message_size
                && message.first() == Some(&tag)
                && message.last() == Some(&tag),
            "message {i} came wrong"
        );
    }
    join_all(&[child])?;
    Ok(start.lap())
}

fn send_messages((conn, count, size): (Connection, usize, usize)) {
    let mut message = vec![0u8; size];
    for i in 0..count {
        message.fill(i as u8);
        conn.send_bytes(&message).expect("the parent reads");
    }
}

/// A child puts `queued` small integers on a `Queue`; the parent gets
/// each, in order.
pub(super) fn queue_throughput(sizes: &Sizes) -> common::Result<Lap> {
    let queue = Queue::<u64>::new()?;
    let start = Stopwatch::start();
    let mut child = Process::with_args(put_ints, (queue.try_clone()?, sizes.queued));
    child.start()?;
    for i in 0..sizes.queued {
        assert_eq!(queue.get()?, i, "the queue lost or reordered a value");
    }
    join_all(&[child])?;
    Ok(start.lap())
}

fn put_ints((queue, count): (Queue<u64>, u64)) {
    for i in 0..count {
        queue.put(&i).expect("room in the queue");
    }
}

/// A child sets `keys` keys of a `Manager` dict; the parent reads each
/// back. The manager's start is not timed.
pub(super) fn manager_dict(sizes: &Sizes) -> common::Result<Lap> {
    let manager = Manager::new()?;
    let dict = manager.dict::<String, u64>()?;
    let start = Stopwatch::start();
    let mut child = Process::with_args(set_keys, (dict.clone(), sizes.keys));
    child.start()?;
    join_all(&[child])?;
    for i in 0..sizes.keys {
        assert_eq!(dict.get(&format!("key-{i}"))?, Some(i), "key-{i}");
    }
    Ok(start.lap())
}

fn set_keys((dict, count): (common::DictProxy<String, u64>, u64)) {
    for i in 0..count {
        dict.insert(&format!("key-{i}"), &i).expect("the manager");
    }
}

/// `Pool::map` of n -> `"item-n"` over `strings` integers, on a pool of
/// two already started and used once.
pub(super) fn map_strings(sizes: &Sizes) -> common::Result<Lap> {
    let mut pool = Pool::new(2)?;
    pool.map(item, 0..1000)?;
    let start = Stopwatch::start();
    let items = pool.map(item, 0..sizes.strings)?;
    let lap = start.lap();
    assert_eq!(items.len() as u64, sizes.strings);
    assert_eq!(items.last(), Some(&format!("item-{}", sizes.strings - 1)));
    Ok(lap)
}

fn item(n: u64) -> String {
    format!("item-{n}")
}

/// `starts` processes started and joined one after another, under fork.
pub(super) fn start_join(sizes: &Sizes) -> common::Result<Lap> {
    let start = Stopwatch::start();
    for _ in 0..sizes.starts {
        let mut process = Process::new(noop);
        process.set_start_method(common::StartMethod::Fork);
        process.start()?;
        process.join()?;
        assert_eq!(process.exitcode(), Some(0));
    }
    Ok(start.lap())
}

fn noop() {}

/// The floor of [`start_join`]: as many raw `fork` + `_exit` + `waitpid`.
pub(super) fn fork_floor(sizes: &Sizes) -> f64 {
    (0..sizes.starts)
        .map(|_| crate::os::raw_fork_join())
        .sum::<Duration>()
        .as_secs_f64()
}

/// Joins every process; each must have exited with 0.
fn join_all(processes: &[Process]) -> common::Result<()> {
    for process in processes {
        process.join()?;
        assert_eq!(
            process.exitcode(),
            Some(0),
            "a child of the workload failed"
        );
    }
    Ok(())
}
