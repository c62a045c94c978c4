//! Real OS processes and process pools, with the names of Python's
//! `multiprocessing`.
//!
//! ```
//! use common::{Pool, Process};
//!
//! fn square(n: u64) -> u64 {
//!     n * n
//! }
//!
//! let mut process = Process::with_args(|n: u32| println!("Process {n}: Printing {n}"), 1);
//! process.start()?;
//! process.join()?;
//! assert_eq!(process.exitcode(), Some(0));
//!
//! let mut pool = Pool::new(2)?;
//! assert_eq!(pool.map(square, [1, 2, 3])?, [1, 4, 9]);
//! # Ok::<(), common::Error>(())
//! ```
//!
//! # Python name -> Rust item
//!
//! | Python `multiprocessing`            | this crate                                  |
//! |-------------------------------------|---------------------------------------------|
//! | `Process(target=f)`                 | [`Process::new`]`(f)`                       |
//! | `Process(target=f, args=(x,))`      | [`Process::with_args`]`(f, x)`              |
//! | `p.start()`                         | [`Process::start`]                          |
//! | `p.join()`                          | [`Process::join`]                           |
//! | `p.join(timeout)`                   | [`Process::join_timeout`] (says if it ended)|
//! | `p.is_alive()`                      | [`Process::is_alive`]                       |
//! | `p.exitcode`                        | [`Process::exitcode`]                       |
//! | `p.pid`                             | [`Process::pid`]                            |
//! | `p.name`                            | [`Process::name`], [`Process::set_name`]    |
//! | `p.terminate()`, `p.kill()`         | [`Process::terminate`], [`Process::kill`]   |
//! | `Pool(processes=n)`                 | [`Pool::new`]`(n)`                          |
//! | `Pool()`                            | [`Pool::with_cpus`]                         |
//! | `pool.map(f, items)`                | [`Pool::map`]`(f, items)`                   |
//! | `pool.map(f, items, chunksize)`     | [`Pool::map_chunked`]`(f, items, Some(n))`  |
//! | `with Pool(...) as pool:` (exit)    | dropping the [`Pool`] (closes and joins)    |
//! | `os.cpu_count()`                    | [`cpu_count`]                               |
//!
//! # Processes
//!
//! [`Process`] forks a child that runs one closure. The child's exit code
//! follows Python: 0 when the target returns, 1 when it panics, `-N` when
//! killed by signal `N`. Dropping a started process joins it.
//!
//! # Pools
//!
//! [`Pool`] keeps worker processes alive across tasks and across calls. A
//! worker that dies or a task that panics fails the call with an error naming
//! the item; it never hangs.
//!
//! # Forking safely
//!
//! This crate forks only single-threaded processes and returns
//! [`Error::MultiThreaded`] otherwise, because a child forked from a
//! multi-threaded process can deadlock on a lock another thread held. Stdout
//! and stderr are flushed before every fork and before every child exits, and
//! children leave with `_exit`, so output is neither lost nor printed twice,
//! whether it goes to a terminal, a pipe or a file.
//!
//! # Watching from outside
//!
//! Set [`CHECKIN_ENV`] to a Unix socket's path and every process this crate
//! creates checks in there before it runs anything; the grader uses it to
//! learn pids from the kernel and to hold processes at a rendezvous.

#![deny(unsafe_code)]

mod checkin;
mod error;
mod frame;
mod pool;
mod process;
#[expect(
    unsafe_code,
    reason = "fork, pidfd and function addresses need it; see the module docs"
)]
mod sys;

pub use checkin::CHECKIN_ENV;
pub use error::{Ended, Error, Result};
pub use pool::Pool;
pub use process::Process;

/// The number of CPUs, as `os.cpu_count()` counts them.
pub fn cpu_count() -> usize {
    num_cpus::get()
}

/// The README's examples, compiled and run as doctests so they cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct ReadmeDoctests;
