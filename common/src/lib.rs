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
//! | Python `multiprocessing`          | this crate                                   | where it differs, and why |
//! |-----------------------------------|----------------------------------------------|---------------------------|
//! | `Process(target=f)`               | [`Process::new`]`(f)`                        | `f` is a `fn`, as Python's target must be picklable under spawn |
//! | `Process(target=f, args=(x,))`, `Process(target=f, args=(a, b))` | [`Process::with_args`]`(f, x)`, [`Process::with_args`]`(f, (a, b))` | `f` is any [`Function`]: a `fn` (or a closure that captures nothing) of one parameter, given its argument, or of 0 to 6 parameters, given their tuple, which calls `f(a, b)` as Python does (Rust has no variadic calls, so the arguments travel as one serde value); a closure that captures something runs by fork only ([`Error::NeedsFork`] under spawn and forkserver); `f` may return `Result<(), E>`, as `main` may ([`Outcome`]): an `Err` ends the child with exit code 1 and `Error: ` and the error on stderr, as an exception ends Python's with its traceback and 1 |
//! | (a lambda, under fork)            | [`Process::from_closure`]                    | any closure, even one holding pipes; fork only |
//! | `p.start()`                       | [`Process::start`]                           | a second start is [`Error::AlreadyStarted`]; refused in a multi-threaded process ([`Error::MultiThreaded`]) |
//! | `p.join()`                        | [`Process::join`]                            | |
//! | `p.join(timeout)`                 | [`Process::join_timeout`]                    | returns whether the process ended; Python returns `None` either way |
//! | `p.is_alive()`, `p.exitcode`      | [`Process::is_alive`], [`Process::exitcode`] | |
//! | `Process(target=f, args=(x,), name=n, daemon=True)` | [`Process::builder`]`().name(n).daemon(true).with_args(f, x)` -> [`ProcessBuilder`] | settings first, then the target |
//! | `p.pid`, `p.name`                 | [`Process::pid`], [`Process::name`], [`Process::set_name`] | |
//! | `p.daemon`                        | [`Process::daemon`], [`Process::set_daemon`] | a daemon is terminated when its handle is dropped |
//! | `p.terminate()`, `p.kill()`       | [`Process::terminate`], [`Process::kill`]    | |
//! | `p.sentinel`, `p.close()`         | [`Process::sentinel`], [`Process::close`]    | the sentinel is a pidfd (Linux 5.3 on), opened when first asked for (an eventfd once the child is reaped); closing a running process is [`Error::StillRunning`] |
//! | `active_children()`               | [`active_children`] -> [`ActiveChild`]s      | handles, not the `Process` objects (Rust gives a child one owner): name, pid, `is_alive`, `terminate`, `kill`, `join` (waits without reaping: the owner reaps), `sentinel`; reaps nothing (Python joins the finished ones) |
//! | (parent exits)                    | dropping a [`Process`]                       | joins it; and the kernel kills every child whose parent dies, even by SIGKILL, where Python's children live on |
//! | `current_process()`               | [`current_process`]                          | name and pid only |
//! | `parent_process()`                | [`parent_process`]                           | name and pid only |
//! | `os.cpu_count()`                  | [`cpu_count`]                                | the CPUs online, whatever this process may run on, as Python counts them |
//! | `Pool(processes=n)`, `Pool()`     | [`Pool::new`]`(n)`, [`Pool::with_cpus`]      | `Pool()` has [`cpu_count`] workers, as Python's before 3.13 (3.13 counts the CPUs this process may run on) |
//! | `Pool(initializer=f, initargs=(a,), maxtasksperchild=n)` | [`Pool::builder`], [`PoolBuilder::initializer`], [`PoolBuilder::initializer_with`] | `initargs=(x,)` is `x`, `initargs=(a, b)` is `(a, b)` for `init(a, b)` (any [`Function`]); the arguments may hold what processes share (`Lock`, `Queue`, `Value`, `Event`, `Barrier`, `SharedMemory`, a manager's proxies...), which every worker gets as it starts, replacements too, under every start method, as Python's `initargs` carry them; in a task's own arguments such a thing is refused with an error naming its type |
//! | `pool.map(f, items)`, `pool.map(f, items, chunksize=n)` | [`Pool::map`], [`Pool::chunksize`]`(n)`[`.map`](Chunked::map) | `f` is a `fn`, as Python's must be picklable; a dead worker fails the item instead of hanging (gh-66587); `chunksize(n)` gives every call of the map family (`map`, `starmap`, `imap`, `imap_unordered`, `map_async`, `starmap_async`) a chunksize, as a keyword would ([`Chunked`]) |
//! | `pool.starmap(f, tuples)`         | [`Pool::starmap`]                            | `f` of 2 to 6 parameters (any [`Function`]), each item their tuple |
//! | `pool.imap`, `pool.imap_unordered`| [`Pool::imap`], [`Pool::imap_unordered`] -> [`Imap`] | yields `Result`s, in input order or as completed; the iteration ends at the first failure, as a Python loop ends with the task's exception, and the items not started are withdrawn ([`Imap::indexed`] yields `(index, result)` and goes on past failures); the input is read as the results are taken (an endless one works), where Python's reads it all at once |
//! | `pool.apply(f, (x,))`, `pool.apply(f, (a, b))`, `pool.apply(f, ())` | [`Pool::apply`]`(f, x)`, `(f, (a, b))`, `(f, ())` | any [`Function`], as for a process; a closure that captures something cannot reach the workers and fails the call ([`Error::Unsendable`]) |
//! | `pool.apply_async(f, (x,))`       | [`Pool::apply_async`] -> [`AsyncResult`]     | arguments as for `apply`; a dropped handle's task still runs, as Python's; queued work moves in the background on a driver thread (see [`Pool`]) |
//! | `apply_async(..., callback=c, error_callback=e)`, `map_async(..., callback=c)` | [`AsyncResult::callback`], [`AsyncResult::error_callback`] | given to the handle, one or both; callbacks get `&R` (for a map `&Vec<R>`) or `&Error` in this process, after the pool's lock is let go: on the driver thread, or on the thread that was waiting on the pool |
//! | a task that raises, in `map`, `imap`, `apply`, `apply_async`... | a task `fn(A) -> Result<T, E>` through [`Pool::try_map`], [`Pool::try_imap`], [`Pool::try_apply`], [`Pool::try_apply_async`] (and `try_` of every call) | its `Err` fails the call as a task's exception does in Python: [`Error::TaskFailed`], whose message is the error's own and which gives the error back ([`Error::task_error`]); a task that panics is [`Error::TaskPanicked`], its message first. The `try_` names say it because Rust cannot tell, from a `fn`'s type, whether its `Result` is a value or a failure |
//! | `pool.map_async`, `pool.starmap_async` | [`Pool::map_async`], [`Pool::starmap_async`] -> [`AsyncResult`] | |
//! | `r.get()`, `r.get(timeout)`       | [`AsyncResult::get`], [`AsyncResult::get_timeout`] | |
//! | `r.ready()`, `r.successful()`, `r.wait(t)` | [`AsyncResult::ready`], [`AsyncResult::successful`], [`AsyncResult::wait`], [`AsyncResult::wait_timeout`] | |
//! | `pool.close()`, `pool.join()`     | [`Pool::close`], [`Pool::join`]              | |
//! | `pool.terminate()`                | [`Pool::terminate`]                          | SIGTERM, then SIGKILL after a second: never hangs (gh-78178) |
//! | `with Pool(...) as pool:` (exit)  | dropping the [`Pool`]                        | closes and joins, bounded to five seconds; Python terminates and loses queued work (gh-74140) |
//! | `KeyboardInterrupt` in `map`      | [`Error::Interrupted`]                       | the workers ignore SIGINT and are terminated by the parent: one message, not one per worker |
//! | `log_to_stderr()`                 | [`LOG_ENV`] (`COMMON_LOG=1`)                 | an environment variable, so that any program can be watched |
//! | `set_start_method(m)`, `get_start_method()` | [`set_start_method`], [`get_start_method`], [`START_METHOD_ENV`] | also per process ([`Process::set_start_method`]) and per pool ([`PoolBuilder::start_method`]); fork, spawn and forkserver; with none chosen, fork in a single-threaded process and forkserver in one with threads (Python 3.14: forkserver always) |
//! | `if __name__ == "__main__":`      | nothing to write                             | a spawned child does its work before `main` and exits, so `main` runs in the parent only |
//! | `a, b = Pipe()`                   | [`pipe`]`()` -> two [`Connection`]s          | values are serde, not pickles; `pipe::<T>()` gives ends that carry `T`, and a `Connection` with no type named (of [`Dynamic`]) carries any type, named at each `recv`; an end crosses to a spawned child as a descriptor (SCM_RIGHTS), only as a [`Process::with_args`] argument; messages are records: a peer killed mid-message leaves nothing torn |
//! | `conn.send(x)`, `conn.recv()`, `conn.poll(t)` | [`Connection::send`], [`Connection::recv`], [`Connection::poll`] | `recv` after the other end closed is [`Error::PipeClosed`] (Python: `EOFError`); a message is tagged with its type, and one read as another type is [`Error::WrongType`] (Python unpickles whatever came); [`Connection::recv_timeout`] has no Python twin |
//! | `conn.send_bytes(b)`, `conn.recv_bytes()` | [`Connection::send_bytes`], [`Connection::recv_bytes`] | |
//! | `connection.wait(objects, timeout)` | [`wait`]`(&[fds], timeout)`              | takes descriptors (`conn.as_fd()`, [`Process::sentinel`]) and returns the positions of those ready |
//! | `Listener(address, authkey=k)`, `Client(address, authkey=k)`, `listener.address` | [`Listener::bind`], [`Listener::accept`], [`client`], [`Listener::address`] | an [`Address`] as Python's: a string is a Unix socket's path, `("127.0.0.1", 0)` a TCP port chosen by the system; HMAC-SHA256 both ways with a 10 s deadline, not Python's wire format |
//! | `Queue()`, `q.put(x)`, `q.get()`, `q.get(timeout=t)` | [`Queue::new`], [`Queue::put`], [`Queue::get`], [`Queue::get_timeout`] | `put` writes in the caller's thread, not a feeder thread, so it waits while the queue's 64 KiB of shared memory are full; a timeout is [`Error::Timeout`] (Python: `queue.Empty`); a writer killed mid-`put` leaves no torn value |
//! | `Queue(maxsize)`, `put(x, timeout=t)`, `put_nowait`, `get_nowait` | [`Queue::with_maxsize`], [`Queue::put_timeout`], [`Queue::put_nowait`], [`Queue::get_nowait`] | a full queue is [`Error::Full`] (Python: `queue.Full`) |
//! | `q.qsize()`, `q.empty()`, `q.full()`, `q.close()` | [`Queue::qsize`], [`Queue::empty`], [`Queue::full`], [`Queue::close`] | `qsize` works on Linux as in Python (a shared count); `close` only stops this handle's `put`s (no feeder thread to join) |
//! | `SimpleQueue()`                   | [`SimpleQueue`]                              | |
//! | `Lock()`, `with lock:`, `release()` | [`Lock::new`], [`Lock::acquire`] -> [`LockGuard`], [`Lock::release`] | released when the guard drops; `acquire(timeout=t)` is [`Lock::acquire_timeout`]; a holder that dies does not keep it, and the next holder is told ([`LockGuard::previous_holder_died`]; Python's stays held forever) |
//! | `RLock()`                         | [`RLock`] -> [`RLockGuard`]                  | owned by a thread of a process, as in Python; robust to a dead holder, as [`Lock`] |
//! | `Condition()`: `wait`, `wait_for`, `notify`, `notify_all` | [`Condition::acquire`] -> [`ConditionGuard`]: [`ConditionGuard::wait`], [`ConditionGuard::wait_timeout`], [`ConditionGuard::wait_for`], [`ConditionGuard::notify`], [`ConditionGuard::notify_all`] | notifying needs the guard, which Python checks at run time; its lock is always an [`RLock`]; a wait may wake without its notify, so wait in a loop or with `wait_for` |
//! | `Semaphore(n)`: `acquire`, `release`, `get_value` | [`Semaphore::new`], [`Semaphore::acquire`], [`Semaphore::acquire_timeout`], [`Semaphore::release`], [`Semaphore::get_value`] | a guard gives the place back; [`LockGuard::keep`] spends it, as Python's bare `acquire()` (a signal consumed stays consumed); a process that dies holding a place through a guard does not keep it (up to 64 holders at once are tracked) |
//! | `BoundedSemaphore(n)`            | [`BoundedSemaphore`]                         | a release with every place free is [`Error::ReleasedTooOften`] (Python: `ValueError`) |
//! | `Event()`: `set`, `clear`, `is_set`, `wait()`, `wait(t)` | [`Event::new`], [`Event::set`], [`Event::clear`], [`Event::is_set`], [`Event::wait`], [`Event::wait_timeout`] | `wait()` returns nothing (Python's returns `True`) |
//! | `Value('d', 0.0)`, `v.value`, `v.get_lock()` | [`Value::new`]`(0.0)`, [`Value::get`], [`Value::set`], [`Value::get_lock`] | the type names the typecode ([`Scalar`]: `i8`..`u64`, `f32`, `f64`, `bool`); [`Value::add`] is `v.value += d` under `get_lock()`, in one atomic step |
//! | `Array('d', n)`, `Array('i', range(n))`, `a[i]`, `a[:]`, `a.get_lock()` | [`Array::new`], [`Array::from_iter`], [`Array::from_slice`], [`Array::get`], [`Array::set`], [`Array::to_vec`], [`Array::get_lock`] | [`Array::add`] is atomic; `from_iter` is not `FromIterator`, because making shared memory can fail |
//! | `RawValue('i', 0)`, `Value('i', 0, lock=False)`, `RawArray('d', n)` | [`RawValue::new`], [`RawArray::new`], [`RawArray::from_iter`] | no `get_lock`; each read and write is still atomic (never torn) |
//! | `shared_memory.SharedMemory(name, create, size)` | [`SharedMemory::create`], [`SharedMemory::create_named`], [`SharedMemory::open`] | bytes are copied in and out ([`SharedMemory::read`], [`SharedMemory::write`]), not lent as `buf`; the creating handle unlinks the name when dropped |
//! | `shared_memory.ShareableList(seq)` | [`ShareableList::new`], [`ShareableList::open`] | one numeric type per list, no strings or bytes |
//! | `Manager()`: `dict()`, `list()`, `Namespace()`, `dict(pairs)`, `list(items)` | [`Manager::new`]: [`Manager::dict`], [`Manager::list`], [`Manager::namespace`], [`Manager::dict_from`], [`Manager::list_from`] -> [`DictProxy`], [`ListProxy`], [`Namespace`] | typed proxies with methods for Python's operators and methods (`insert`, `get`, `push`, `extend`, `sort`, `keys`, `items`, `update`...; a dict keeps insertion order, as Python's; keys looked up by `&str` for `String`); no `manager.Lock()`/`Queue()`; the server stops when the [`Manager`] is dropped |
//! | `BaseManager(address=a, authkey=k)`: `.start()`, `.connect()`, `register('get_dict', ...)` | [`Manager::with_address`], [`Manager::connect`], [`Manager::dict_named`], [`Manager::list_named`], [`Manager::namespace_named`] | objects are shared with other programs by name instead of registered functions; over TCP (`("127.0.0.1", 0)`: a free port, [`Manager::address`] says which) or a Unix path |
//! | passing one lock, queue, value, proxy or pipe end to several processes | `clone()` on each; [`Connection::try_clone`] for a pipe end | Rust moves a value into one process, so each gets a handle of its own. The shared things ([`Lock`], [`RLock`], [`Semaphore`], [`BoundedSemaphore`], [`Condition`], [`Event`], [`Barrier`], [`Value`], [`Array`], [`RawValue`], [`RawArray`], the queues, [`SharedMemory`] and [`ShareableList`], a manager's proxies) are [`Clone`]: a handle shares this process's mapping or connection, so making one cannot fail (a clone of a [`SharedMemory`] does not unlink its name when dropped; only the creating handle does). A pipe end is a socket of its own, duplicated by a system call that can fail (too many open files), so it keeps `try_clone`, as std's `UnixStream` does |
//! | `Barrier(n)`, `b.wait(timeout)`, `parties`, `n_waiting`, `broken`, `abort()`, `reset()` | [`Barrier::new`], [`Barrier::wait`], [`Barrier::wait_timeout`], [`Barrier::parties`], [`Barrier::n_waiting`], [`Barrier::broken`], [`Barrier::abort`], [`Barrier::reset`] | a broken barrier is [`Error::BrokenBarrier`]; no `action` (the party whose `wait` returns 0 can do it) |
//! | `JoinableQueue()`: `task_done`, `join` | [`JoinableQueue::new`], [`JoinableQueue::task_done`], [`JoinableQueue::join`] | too many `task_done`s is [`Error::TaskDoneTooOften`] |
//! | `get_all_start_methods()`         | [`get_all_start_methods`]                   | the same three, fork first |
//! | `get_context(m).Process(...)`, `.Pool(n)` | [`get_context`]`(Some(m))`, [`Context::process`], [`Context::pool`] | also a method per process or pool: [`Process::set_start_method`], [`PoolBuilder::start_method`] |
//!
//! # Processes
//!
//! [`Process`] starts a child (by fork, spawn or the fork server) that runs one function. The child's exit code
//! follows Python: 0 when the target returns, 1 when it panics or returns
//! an error ([`Outcome`]), `-N` when killed by signal `N`. Dropping a started process joins it.
//!
//! # Pools
//!
//! [`Pool`] keeps worker processes alive across tasks and across calls. A
//! worker that dies (seen from the kernel, whoever holds its pipes) or a
//! task that panics or breaks its worker fails that item with an error
//! naming it, once; the pool replaces the worker (by the fork server where
//! a fork is refused), and never hangs. Arguments and results cross as one
//! buffer per job (no allocation per item, `Vec<u8>` copied whole), and
//! work queued without waiting moves on a driver thread that lives with
//! fork (stopped around every fork) and delivers callbacks by itself.
//!
//! # Start methods
//!
//! As in Python, a process is started by `fork` (a copy of the parent), by
//! `spawn` (a fresh run of the same executable, sent a `fn` and serde
//! arguments) or by `forkserver` (a fork of a server process that was
//! itself started afresh once, sent the same), chosen with
//! [`set_start_method`], the `COMMON_START_METHOD` environment variable, or
//! per process and pool. With none chosen, a single-threaded process forks
//! and one with threads uses the fork server, so that a program with an
//! async runtime or a thread pool gets working processes and pools at
//! nearly the cost of a fork. The fork server's children are children of
//! the program (it forks them with `CLONE_PARENT`), and it ends when the
//! program exits; it is named [`FORKSERVER_NAME`] in `ps`. A [`Pool`] is
//! `Send` and `Sync`, a [`Process`] is `Send`; a process or pool started
//! from a thread that then ends lives on (children are started from a
//! thread that lasts).
//!
//! # Forking safely
//!
//! This crate forks only single-threaded processes and returns
//! [`Error::MultiThreaded`] otherwise (where fork was chosen explicitly, or
//! for a closure, which only fork can run), because a child forked from a
//! multi-threaded process can deadlock on a lock another thread held; spawn
//! and forkserver have no such limit, and forkserver is the default there.
//! The crate's own threads do not count: a pool's driver is stopped around
//! every fork, and the one thread that starts children for other threads
//! is idle behind a gate every fork closes. Stdout
//! and stderr are flushed before every fork and before every child exits, and
//! children leave with `_exit`, so output is neither lost nor printed twice,
//! whether it goes to a terminal, a pipe or a file.
//!
//! # Watching from outside
//!
//! Set [`CHECKIN_ENV`] to a Unix socket's path and every process this crate
//! creates checks in there before it runs anything; the grader uses it to
//! learn pids from the kernel and to hold processes at a rendezvous.
//! [`layout`] says what an observer can see of data crossing between
//! processes: shared memory files named by kind, a queue's counters, a
//! pipe's records.

mod boot;
mod checkin;
mod child;
mod children;
mod connection;
mod context;
mod crossing;
#[expect(
    unsafe_code,
    reason = "the constructor that runs a spawned child before main; see the module docs"
)]
mod entry;
mod error;
mod forkserver;
mod frame;
mod identity;
mod launcher;
pub mod layout;
mod log;
mod manager;
mod pool;
mod process;
mod queue;
mod records;
mod shared;
mod start;
mod sync;
#[expect(
    unsafe_code,
    reason = "fork, pidfd and function addresses need it; see the module docs"
)]
mod sys;

pub use checkin::CHECKIN_ENV;
pub use children::{ActiveChild, active_children};
pub use connection::{Address, Connection, Dynamic, Listener, client, pipe, wait};
pub use context::{Context, get_context};
pub use error::{Ended, Error, Result};
pub use forkserver::FORKSERVER_NAME;
pub use identity::{ProcessInfo, current_process, parent_process};
pub use log::LOG_ENV;
pub use manager::{DictProxy, ListProxy, Manager, Namespace};
pub use pool::{AsyncResult, Chunked, Imap, Indexed, Pool, PoolBuilder};
pub use process::{Process, ProcessBuilder};
pub use queue::{JoinableQueue, Queue, SimpleQueue};
pub use shared::{Array, RawArray, RawValue, Scalar, ShareableList, SharedMemory, Value};
pub use start::{
    START_METHOD_ENV, StartMethod, get_all_start_methods, get_start_method, set_start_method,
};
pub use sync::{
    Barrier, BoundedSemaphore, Condition, ConditionGuard, Event, Lock, LockGuard, RLock,
    RLockGuard, Semaphore,
};
pub use sys::{Function, Outcome};

/// The number of CPUs, as Python's `os.cpu_count()` counts them: those
/// online in the system (`sysconf(_SC_NPROCESSORS_ONLN)`), whatever this
/// process may run on. Under `taskset -c 0` on a machine of two CPUs it
/// says 2, as Python does; [`std::thread::available_parallelism`] counts
/// the CPUs this process may use instead (Python 3.13's
/// `os.process_cpu_count()`). 1 if the system does not say (Python:
/// `None`, which `Pool()` takes as 1).
///
/// ```
/// let usable = std::thread::available_parallelism().map_or(1, usize::from);
/// assert!(common::cpu_count() >= usable);
/// ```
pub fn cpu_count() -> usize {
    nix::unistd::sysconf(nix::unistd::SysconfVar::_NPROCESSORS_ONLN)
        .ok()
        .flatten()
        .and_then(|cpus| usize::try_from(cpus).ok())
        .filter(|&cpus| cpus > 0)
        .unwrap_or(1)
}

/// The README's examples, compiled and run as doctests so they cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct ReadmeDoctests;
