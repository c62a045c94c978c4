//! The pool's calls as Python's: tasks that return `Result` (the `try_`
//! forms), `imap` in order and ending at the first failure, a chunksize
//! for every call of the map family, and callbacks given one at a time.

use std::sync::{OnceLock, mpsc};

use common::{DictProxy, Manager};

use crate::support::*;

fork_tests! {
    /// A task's error is the call's error, with the task's own message
    /// and value; the results of a call whose tasks all succeed are the
    /// values inside their `Ok`s, for each `try_` form.
    fn try_calls_give_the_tasks_own_error() {
        let mut pool = Pool::new(2).expect("pool");
        assert_eq!(pool.try_map(halve, [2, 4, 6]).expect("all even"), [1, 2, 3]);
        let error = pool.try_map(halve, [2, 3, 4, 5]).expect_err("3 is odd");
        assert!(matches!(&error, Error::TaskFailed { index: 1, .. }), "{error:?}");
        assert_eq!(error.to_string(), "3 is odd");
        assert_eq!(error.task_error::<Odd>(), Some(Odd(3)));
        assert_eq!(error.task_error::<Vec<String>>(), None, "not a Vec of Strings");
        assert_eq!(pool.try_apply(halve, 8).expect("even"), 4);
        assert!(matches!(pool.try_apply(halve, 9), Err(Error::TaskFailed { index: 0, .. })));
        let pending = pool.try_apply_async(halve, 7).expect("queued");
        assert_eq!(pending.get().expect_err("odd").to_string(), "7 is odd");
        let all = pool.try_map_async(halve, [10, 12]).expect("queued");
        assert_eq!(all.get().expect("even"), [5, 6]);
        let error = pool
            .try_starmap(divide, [(6, 3), (1, 0)])
            .expect_err("a division by zero");
        assert_eq!(error.to_string(), "1 / 0: division by zero");
        let quotients = pool.try_starmap_async(divide, [(9, 3)]).expect("queued");
        assert_eq!(quotients.get().expect("no zero"), [3]);
        assert_eq!(
            pool.try_imap_unordered(halve, [2]).expect("imap").collect::<Vec<_>>().len(),
            1
        );
    }

    /// A task's error is the program's to print: the workers print nothing
    /// about it on stderr, where a panic's report still goes, and a
    /// panic's error names its message first.
    fn a_tasks_error_prints_nothing_a_panic_is_reported() {
        let output = play_as("try-map-error", std::process::Stdio::piped());
        assert_eq!(String::from_utf8_lossy(&output.stdout), "3 is odd\n");
        assert_eq!(String::from_utf8_lossy(&output.stderr), "", "nothing on stderr");
        let output = play_as("map-panic", std::process::Stdio::piped());
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            stdout.starts_with("four is not allowed") && stdout.contains("item 4 panicked"),
            "{stdout}"
        );
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("panicked") && stderr.contains("four is not allowed"), "{stderr}");
    }

    /// `imap` and `try_imap` yield results in input order and end at the
    /// first failure, even over an endless input; `indexed` goes on past
    /// failures, each result with its index.
    fn imap_ends_at_the_first_failure() {
        let mut pool = Pool::new(2).expect("pool");
        let results: Vec<_> = pool.try_imap(halve, (0..).map(|n| 2 * n + u32::from(n == 5))).expect("imap").take(1000).collect();
        assert_eq!(results.len(), 6, "0 to 4 and the failure of 5");
        assert!(results[..5].iter().zip(0..).all(|(r, n)| r.as_ref().ok() == Some(&n)), "{results:?}");
        assert_eq!(results[5].as_ref().map_err(ToString::to_string), Err("11 is odd".to_owned()));
        let results: Vec<_> = pool.imap(panic_at_3, 0..).expect("imap").take(1000).collect();
        assert_eq!(results.len(), 4);
        assert!(matches!(results[3], Err(Error::TaskPanicked { index: 3, .. })));
        // As completed: whenever the failure comes, it is the last.
        let unordered: Vec<_> = pool.imap_unordered(panic_at_3, 0..50).expect("imap").collect();
        let (last, before) = unordered.split_last().expect("some results");
        assert!(last.is_err() && before.iter().all(Result::is_ok), "{unordered:?}");
        let mut indexed: Vec<(usize, bool)> = pool
            .imap(panic_at_3, 0..6)
            .expect("imap")
            .indexed()
            .map(|(index, result)| (index, result.is_ok()))
            .collect();
        indexed.sort_unstable();
        assert_eq!(indexed, [(0, true), (1, true), (2, true), (3, false), (4, true), (5, true)]);
        // The pool goes on after an iteration ended early.
        assert_eq!(pool.map(identity, 0..3).expect("map"), [0, 1, 2]);
    }

    /// A chunksize given to each call of the map family is the number of
    /// items per job: with a fresh worker for every job
    /// (`maxtasksperchild(1)`), six items in chunks of three meet two
    /// workers, three times each.
    fn every_map_call_takes_a_chunksize() {
        let mut pool = Pool::builder().processes(1).maxtasksperchild(1).build().expect("pool");
        let jobs = |pids: Vec<u32>| {
            let mut counts = std::collections::BTreeMap::new();
            for pid in pids {
                *counts.entry(pid).or_insert(0) += 1;
            }
            counts.into_values().collect::<Vec<_>>()
        };
        assert_eq!(jobs(pool.chunksize(3).map(worker_pid, 0..6).expect("map")), [3, 3]);
        assert_eq!(jobs(pool.chunksize(2).map(worker_pid, 0..6).expect("map")), [2, 2, 2]);
        let pairs = || (0..6).map(|n| (n, 0));
        assert_eq!(jobs(pool.chunksize(3).starmap(pid_of_pair, pairs()).expect("starmap")), [3, 3]);
        let queued = pool.chunksize(3).map_async(worker_pid, 0..6).expect("queued");
        assert_eq!(jobs(queued.get().expect("map_async")), [3, 3]);
        let queued = pool.chunksize(6).starmap_async(pid_of_pair, pairs()).expect("queued");
        assert_eq!(jobs(queued.get().expect("starmap_async")), [6]);
        let lazily = pool.chunksize(3).imap(worker_pid, 0..6).expect("imap");
        assert_eq!(jobs(lazily.collect::<Result<_, _>>().expect("imap")), [3, 3]);
        let lazily = pool.chunksize(2).imap_unordered(worker_pid, 0..6).expect("imap");
        assert_eq!(jobs(lazily.collect::<Result<_, _>>().expect("imap_unordered")), [2, 2, 2]);
        let halved = pool.chunksize(3).try_map(halve, [2, 4, 6]).expect("try_map");
        assert_eq!(halved, [1, 2, 3]);
        // imap without a chunksize sends one item at a time, as Python's.
        let lazily = pool.imap(worker_pid, 0..3).expect("imap");
        assert_eq!(jobs(lazily.collect::<Result<_, _>>().expect("imap")), [1, 1, 1]);
    }

    /// An initializer's argument carries every kind of shared thing to
    /// every worker, replacements included (a fresh worker for each job
    /// here), under whichever start method is in force: each task uses
    /// them all, and the parent sees what each did.
    fn the_initializer_carries_shared_things_to_every_worker() {
        let manager = Manager::new().expect("manager");
        let shared = Shared {
            lock: Lock::new().expect("lock"),
            rlock: RLock::new().expect("rlock"),
            semaphore: Semaphore::new(1).expect("semaphore"),
            value: Value::new(0).expect("value"),
            array: Array::new(2).expect("array"),
            queue: Queue::new().expect("queue"),
            event: Event::new().expect("event"),
            condition: Condition::new().expect("condition"),
            barrier: Barrier::new(1).expect("barrier"),
            memory: SharedMemory::create(8).expect("shared memory"),
            pids: manager.dict().expect("dict"),
        };
        let mut pool = Pool::builder()
            .processes(2)
            .maxtasksperchild(1)
            .initializer_with(keep_shared, shared.try_clone())
            .build()
            .expect("pool");
        let pids = pool.chunksize(1).map(use_everything, 0..8u32).expect("map");
        let distinct: std::collections::BTreeSet<_> = pids.iter().collect();
        assert_eq!(distinct.len(), 8, "a fresh worker for each item: {pids:?}");
        assert_eq!(shared.value.get(), 8);
        assert_eq!(shared.array.to_vec(), [4, 4]);
        let mut put: Vec<u32> = (0..8).map(|_| shared.queue.get().expect("a number")).collect();
        put.sort_unstable();
        assert_eq!(put, (0..8).collect::<Vec<_>>());
        assert!(shared.event.is_set().expect("asked"));
        assert_eq!(shared.memory.read(0, 8), [1; 8]);
        assert_eq!(shared.pids.len().expect("len"), 8);
        assert_eq!(shared.semaphore.get_value(), 1, "every place given back");
    }

    /// What holds a descriptor cannot go in a task's own arguments: the
    /// item fails with an error naming its type and where such things go.
    fn a_lock_in_a_task_is_refused_by_name() {
        let mut pool = Pool::new(1).expect("pool");
        let lock = Lock::new().expect("lock");
        let error = pool.apply(hold, (lock, 1)).expect_err("refused");
        let message = error.to_string();
        assert!(
            message.contains("(common::sync::lock::Lock, u32) cannot be sent")
                && message.contains("initializer_with"),
            "{message}"
        );
    }

    /// A callback alone, an error callback alone, or both: each runs once,
    /// for the outcome it is for, with the handle dropped at once.
    fn callbacks_come_one_at_a_time() {
        let (tx, rx) = mpsc::channel::<String>();
        let mut pool = Pool::new(2).expect("pool");
        let said = tx.clone();
        pool.apply_async(identity, 1)
            .expect("queued")
            .callback(move |n| said.send(format!("ok {n}")).expect("listening"));
        let said = tx.clone();
        pool.apply_async(panic_at_3, 3)
            .expect("queued")
            .error_callback(move |e| {
                let panicked = matches!(e, Error::TaskPanicked { index: 0, .. });
                said.send(format!("error {panicked}")).expect("listening");
            });
        // A callback for a task that fails, and an error callback for one
        // that succeeds: neither runs.
        let said = tx.clone();
        pool.apply_async(panic_at_3, 3)
            .expect("queued")
            .callback(move |n| said.send(format!("wrong ok {n}")).expect("listening"));
        let said = tx.clone();
        pool.apply_async(identity, 2)
            .expect("queued")
            .error_callback(move |e| said.send(format!("wrong error {e}")).expect("listening"));
        let said = tx.clone();
        let also = tx.clone();
        pool.map_async(identity, 0..4)
            .expect("queued")
            .callback(move |all| said.send(format!("all {all:?}")).expect("listening"))
            .error_callback(move |e| also.send(format!("wrong error {e}")).expect("listening"));
        drop(tx);
        pool.close();
        pool.join().expect("join");
        let mut heard: Vec<String> = rx.iter().collect();
        heard.sort();
        assert_eq!(heard, ["all [0, 1, 2, 3]", "error true", "ok 1"]);
    }
}

/// Every kind of shared thing, for the initializer to carry.
#[derive(serde::Serialize, serde::Deserialize)]
struct Shared {
    lock: Lock,
    rlock: RLock,
    semaphore: Semaphore,
    value: Value,
    array: Array,
    queue: Queue<u32>,
    event: Event,
    condition: Condition,
    barrier: Barrier,
    memory: SharedMemory,
    pids: DictProxy<u32, u32>,
}

impl Shared {
    fn try_clone(&self) -> Shared {
        Shared {
            lock: self.lock.try_clone().expect("dup"),
            rlock: self.rlock.try_clone().expect("dup"),
            semaphore: self.semaphore.try_clone().expect("dup"),
            value: self.value.try_clone().expect("dup"),
            array: self.array.try_clone().expect("dup"),
            queue: self.queue.try_clone().expect("dup"),
            event: self.event.try_clone().expect("dup"),
            condition: self.condition.try_clone().expect("dup"),
            barrier: self.barrier.try_clone().expect("dup"),
            memory: SharedMemory::open(self.memory.name()).expect("open"),
            pids: self.pids.try_clone().expect("dup"),
        }
    }
}

/// What each worker's initializer kept.
static SHARED: OnceLock<Shared> = OnceLock::new();

fn keep_shared(shared: Shared) {
    assert!(SHARED.set(shared).is_ok(), "initialized once per worker");
}

/// Uses every shared thing once; returns this worker's pid.
fn use_everything(n: u32) -> u32 {
    let shared = SHARED.get().expect("the initializer ran");
    let pid = std::process::id();
    {
        let _lock = shared.lock.acquire().expect("lock");
        let _rlock = shared.rlock.acquire().expect("rlock");
        let _again = shared.rlock.acquire().expect("rlock again");
        let _place = shared.semaphore.acquire().expect("a place");
        shared.value.set(shared.value.get() + 1);
    }
    shared.array.add(n as usize % 2, 1);
    shared.queue.put(&n).expect("put");
    shared.event.set().expect("set");
    shared.condition.acquire().expect("condition").notify_all();
    assert_eq!(shared.barrier.wait().expect("a party of one"), 0);
    shared.memory.write(n as usize, &[1]);
    shared.pids.insert(&n, &pid).expect("insert");
    pid
}

fn hold((lock, n): (Lock, u32)) -> u32 {
    drop(lock);
    n
}

/// A task's error: a number that is odd.
#[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct Odd(u32);

impl std::fmt::Display for Odd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} is odd", self.0)
    }
}

pub(crate) fn halve(n: u32) -> Result<u32, Odd> {
    if n % 2 == 1 {
        return Err(Odd(n));
    }
    Ok(n / 2)
}

fn divide(a: u32, b: u32) -> Result<u32, String> {
    a.checked_div(b)
        .ok_or_else(|| format!("{a} / {b}: division by zero"))
}

pub(crate) fn panic_at_3(n: u32) -> u32 {
    assert_ne!(n, 3, "three is not allowed");
    n
}

fn worker_pid(_: u32) -> u32 {
    std::process::id()
}

fn pid_of_pair(_: u32, _: u32) -> u32 {
    std::process::id()
}

pub(crate) fn panic_at_4(n: u32) -> u32 {
    if n == 4 {
        panic!("four is not allowed");
    }
    n
}
