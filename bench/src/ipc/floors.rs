//! What the section's workloads are bound by, measured on their own: an
//! uncontended lock cycle (ns), and a request/response between two
//! processes over a bare Unix socketpair, over a `Connection` and through a
//! `Manager` (us).

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::time::Instant;

use common::{Connection, Lock, Manager, Process, RLock, Semaphore, Value};

use super::Sizes;

/// Nanoseconds per uncontended acquire+release, in this process: a `Lock`,
/// an `RLock`, a `Semaphore` and a `Value`'s `get_lock()`.
pub(super) fn lock_cycles(sizes: &Sizes) -> common::Result<Vec<(&'static str, f64)>> {
    let per_cycle = |start: Instant| start.elapsed().as_secs_f64() * 1e9 / sizes.cycles as f64;
    let lock = Lock::new()?;
    let start = Instant::now();
    for _ in 0..sizes.cycles {
        drop(lock.acquire()?);
    }
    let lock_ns = per_cycle(start);
    let rlock = RLock::new()?;
    let start = Instant::now();
    for _ in 0..sizes.cycles {
        drop(rlock.acquire()?);
    }
    let rlock_ns = per_cycle(start);
    let semaphore = Semaphore::new(1)?;
    let start = Instant::now();
    for _ in 0..sizes.cycles {
        drop(semaphore.acquire()?);
    }
    let semaphore_ns = per_cycle(start);
    let value = Value::<i32>::new(0)?;
    let start = Instant::now();
    for _ in 0..sizes.cycles {
        drop(value.get_lock().acquire()?);
    }
    let value_ns = per_cycle(start);
    Ok(vec![
        ("lock", lock_ns),
        ("rlock", rlock_ns),
        ("semaphore", semaphore_ns),
        ("value_lock", value_ns),
    ])
}

/// Microseconds per request/response with a child: 8 bytes each way over
/// a bare Unix socketpair (the floor), a small value each way over a
/// `Connection`, and a `Manager` dict's `get` of a small value.
pub(super) fn round_trips(sizes: &Sizes) -> common::Result<Vec<(&'static str, f64)>> {
    let trips = sizes.trips;
    let per_trip = |start: Instant| start.elapsed().as_secs_f64() * 1e6 / trips as f64;

    let (mut ours, mut theirs) = UnixStream::pair().expect("a socketpair");
    // The child holds a copy of our end too (fork copies every
    // descriptor), so it would never see end-of-file: STOP says stop.
    let mut echo = Process::from_closure(move || {
        let mut message = [0u8; 8];
        while theirs.read_exact(&mut message).is_ok() && message != STOP.to_le_bytes() {
            if theirs.write_all(&message).is_err() {
                break;
            }
        }
    });
    echo.start()?;
    let mut message = [0u8; 8];
    let start = Instant::now();
    for i in 0..trips {
        ours.write_all(&i.to_le_bytes()).expect("the echo reads");
        ours.read_exact(&mut message).expect("the echo answers");
        assert_eq!(message, i.to_le_bytes());
    }
    let socketpair = per_trip(start);
    ours.write_all(&STOP.to_le_bytes()).expect("the echo reads");
    echo.join()?;

    let (ours, theirs) = common::pipe()?;
    let mut echo = Process::with_args(echo_values, theirs);
    echo.start()?;
    let start = Instant::now();
    for i in 0..trips {
        ours.send(&i)?;
        assert_eq!(ours.recv::<u64>()?, i);
    }
    let connection = per_trip(start);
    ours.send(&STOP)?;
    echo.join()?;

    let manager = Manager::new()?;
    let dict = manager.dict::<String, u64>()?;
    dict.insert(&"key".to_owned(), &7)?;
    let start = Instant::now();
    for _ in 0..trips {
        assert_eq!(dict.get(&"key".to_owned())?, Some(7));
    }
    let managed = per_trip(start);
    Ok(vec![
        ("socketpair", socketpair),
        ("connection", connection),
        ("manager", managed),
    ])
}

/// Says stop to an echo.
const STOP: u64 = u64::MAX;

fn echo_values(conn: Connection) {
    while let Ok(value) = conn.recv::<u64>()
        && value != STOP
    {
        if conn.send(&value).is_err() {
            break;
        }
    }
}
