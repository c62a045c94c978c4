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
/// a bare Unix socketpair (the floor: with blocking reads, and with reads
/// that spin, yielding the CPU, as `common`'s do before they sleep), a
/// small value each way over a `Connection`, and a `Manager` dict's `get`
/// of a small value.
pub(super) fn round_trips(sizes: &Sizes) -> common::Result<Vec<(&'static str, f64)>> {
    let trips = sizes.trips;
    let per_trip = |start: Instant| start.elapsed().as_secs_f64() * 1e6 / trips as f64;
    let socketpair = bare_round_trips(trips, false)?;
    let spinning = bare_round_trips(trips, true)?;

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
        ("socketpair_spinning", spinning),
        ("connection", connection),
        ("manager", managed),
    ])
}

/// Microseconds per round trip of 8 bytes to a child that echoes them over
/// a bare Unix socketpair; `spinning`: each side reads without blocking,
/// yielding the CPU between tries, instead of sleeping in `read`.
fn bare_round_trips(trips: u64, spinning: bool) -> common::Result<f64> {
    let (mut ours, mut theirs) = UnixStream::pair().expect("a socketpair");
    for end in [&ours, &theirs] {
        end.set_nonblocking(spinning).expect("a socket's mode");
    }
    // The child holds a copy of our end too (fork copies every
    // descriptor), so it would never see end-of-file: STOP says stop.
    let mut echo = Process::from_closure(move || {
        let mut message = [0u8; 8];
        while read_message(&mut theirs, &mut message).is_ok() && message != STOP.to_le_bytes() {
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
        read_message(&mut ours, &mut message).expect("the echo answers");
        assert_eq!(message, i.to_le_bytes());
    }
    let took = start.elapsed().as_secs_f64() * 1e6 / trips as f64;
    ours.write_all(&STOP.to_le_bytes()).expect("the echo reads");
    echo.join()?;
    Ok(took)
}

/// Reads one 8-byte message; on a non-blocking socket, tries until it
/// comes, yielding the CPU between tries.
fn read_message(from: &mut UnixStream, message: &mut [u8; 8]) -> std::io::Result<()> {
    let mut got = 0;
    while got < message.len() {
        match from.read(&mut message[got..]) {
            Ok(0) => return Err(std::io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => std::thread::yield_now(),
            Err(e) => return Err(e),
        }
    }
    Ok(())
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
