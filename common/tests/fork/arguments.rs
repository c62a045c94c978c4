//! Arguments as arguments: a function of several parameters given their
//! tuple (Python's `args=(a, b)`) by a process, a pool's calls and its
//! initializer, under every start method in one run; the shared things
//! cloned with `Clone` into children started by each method.

use std::sync::OnceLock;

use common::{RawArray, RawValue, SimpleQueue, StartMethod, get_all_start_methods};

use crate::support::*;

fn record(lock: Lock, total: Value, seen: Array, slot: usize, add: i64, text: String) {
    let _held = lock.acquire().expect("the lock");
    total.set(total.get() + add);
    seen.set(slot, i64::try_from(text.len()).expect("short"));
}

fn power(base: u64, exponent: u32) -> u64 {
    base.pow(exponent)
}

fn sum3(a: u8, b: u16, c: u32) -> u64 {
    u64::from(a) + u64::from(b) + u64::from(c)
}

fn divide(a: i64, b: i64) -> Result<i64, String> {
    if b == 0 {
        return Err(format!("{a} / 0"));
    }
    Ok(a / b)
}

fn set_seven(value: Value) {
    value.set(7);
}

static INITIALIZED: OnceLock<(Value, i64)> = OnceLock::new();

fn keep(total: Value, weight: i64) {
    let _ = INITIALIZED.set((total, weight));
}

fn add_weighted(n: i64) -> i64 {
    let (total, weight) = INITIALIZED.get().expect("the initializer ran");
    total.add(n * weight);
    n
}

/// Uses a clone of every shared thing of the `sync` and `shared` modules.
fn touch_synchronized(
    lock: Lock,
    rlock: RLock,
    (semaphore, bounded): (Semaphore, BoundedSemaphore),
    condition: Condition,
    event: Event,
    barrier: Barrier,
) {
    drop(lock.acquire().expect("lock"));
    drop(rlock.acquire().expect("rlock"));
    semaphore.acquire().expect("semaphore").keep();
    bounded.acquire().expect("bounded").keep();
    condition.acquire().expect("condition").notify_all();
    barrier.wait().expect("one party");
    event.set().expect("set");
}

fn touch_shared(
    (value, raw_value): (Value, RawValue<u8>),
    (array, raw_array): (Array, RawArray<u8>),
    queue: Queue<u32>,
    simple: SimpleQueue<u32>,
    joinable: JoinableQueue<u32>,
    (memory, list): (SharedMemory, ShareableList<u8>),
) {
    list.set(0, list.get(0) + 1);
    memory.write(usize::from(list.get(0)), b"x");
    value.add(1);
    raw_value.add(1);
    array.add(0, 1);
    raw_array.add(0, 1);
    queue.put(&1).expect("put");
    simple.put(&2).expect("put");
    joinable.put(&3).expect("put");
}

fn refuse(reason: String) -> Result<(), String> {
    Err(reason)
}

fn accept(value: Value) -> common::Result<()> {
    value.set(value.get() + 1);
    Ok(())
}

/// A role: a target returning an error, by each start method, each child
/// joined and its exit code printed.
pub(crate) fn targets_returning_errors() {
    for method in get_all_start_methods() {
        let mut child = Process::with_args(refuse, format!("no by {method:?}"));
        child.set_start_method(method);
        child.start().expect("start");
        child.join().expect("join");
        println!("{method:?} {:?}", child.exitcode());
    }
}

fn method_of(i: usize) -> StartMethod {
    get_all_start_methods()[i % 3]
}

fork_tests! {
    /// `Process::with_args(f, (a, b, ...))` calls `f(a, b, ...)`, like
    /// `Process(target=f, args=(a, b, ...))`, by each start method.
    fn a_process_target_takes_its_arguments_apart_under_every_method() {
        let lock = Lock::new().expect("lock");
        let total = Value::new(0).expect("value");
        let seen = Array::new(3).expect("array");
        let processes: Vec<Process> = get_all_start_methods()
            .into_iter()
            .enumerate()
            .map(|(slot, method)| {
                let args = (lock.clone(), total.clone(), seen.clone(), slot, 10, "x".repeat(slot + 1));
                let mut process = Process::builder().start_method(method).with_args(record, args);
                process.start().expect("start");
                process
            })
            .collect();
        join_all_exited_0(&processes, "each ran record with its six arguments");
        assert_eq!(total.get(), 30, "each process added its own argument");
        assert_eq!(seen.to_vec(), [1, 2, 3], "each got its own slot and text");
    }

    /// What worked before keeps working by every method: a function of one
    /// parameter given it, as a fn item and as a fn pointer.
    fn a_one_parameter_target_still_takes_its_argument_whole() {
        for method in get_all_start_methods() {
            let value = Value::new(0).expect("value");
            let pointer: fn(Value) = set_seven;
            let mut process = Process::with_args(pointer, value.clone());
            process.set_start_method(method);
            process.start().expect("start");
            process.join().expect("join");
            assert_eq!(process.exitcode(), Some(0), "{method:?}");
            assert_eq!(value.get(), 7, "the fn pointer ran under {method:?}");
        }
    }

    /// A target may return `Result`, as `main` may: `Ok` is exit code 0,
    /// `Err` is 1 with `Error: ` and the error on stderr, by every method.
    fn a_target_returning_an_error_exits_1_saying_why_under_every_method() {
        let value = Value::new(0).expect("value");
        for method in get_all_start_methods() {
            let mut child = Process::with_args(accept, value.clone());
            child.set_start_method(method);
            child.start().expect("start");
            child.join().expect("join");
            assert_eq!(child.exitcode(), Some(0), "Ok under {method:?}");
        }
        assert_eq!(value.get(), 3, "each child ran");
        let output = play_as("targets-returning-errors", std::process::Stdio::piped());
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        for method in get_all_start_methods() {
            assert!(stdout.contains(&format!("{method:?} Some(1)")), "Err under {method:?}: {stdout}");
            assert!(
                stderr.contains(&format!("Error: \"no by {method:?}\"")),
                "the child said why under {method:?}: {stderr}"
            );
        }
    }

    /// A closure that captures something cannot cross to a process started
    /// afresh: spawn and the fork server refuse it at start; fork runs it.
    fn a_capturing_closure_target_runs_by_fork_only() {
        let value = Value::new(0).expect("value");
        let add = 5;
        let target = move |value: Value| value.set(value.get() + add);
        for method in [StartMethod::Spawn, StartMethod::Forkserver] {
            let mut process = Process::with_args(target, value.clone());
            process.set_start_method(method);
            assert!(
                matches!(process.start(), Err(Error::NeedsFork { .. })),
                "{method:?} cannot send a capturing closure"
            );
        }
        let mut process = Process::with_args(target, value.clone());
        process.set_start_method(StartMethod::Fork);
        process.start().expect("start");
        process.join().expect("join");
        assert_eq!(value.get(), 5);
    }

    /// `starmap`, `apply` and their `_async` and `try_` forms call a
    /// function of several parameters with each tuple taken apart, by
    /// pools of each start method.
    fn pool_calls_take_their_arguments_apart_under_every_method() {
        for method in get_all_start_methods() {
            let mut pool = Pool::builder().processes(2).start_method(method).build().expect("pool");
            assert_eq!(pool.starmap(power, [(2, 3), (3, 2)]).expect("starmap"), [8, 9]);
            assert_eq!(pool.chunksize(1).starmap(sum3, [(1, 2, 3), (4, 5, 6)]).expect("starmap"), [6, 15]);
            assert_eq!(pool.apply(power, (2, 10)).expect("apply"), 1024);
            assert_ne!(pool.apply(std::process::id, ()).expect("apply"), std::process::id());
            assert_eq!(pool.apply_async(power, (3, 3)).expect("queued").get().expect("get"), 27);
            assert_eq!(pool.starmap_async(sum3, [(1, 1, 1)]).expect("queued").get().expect("get"), [3]);
            assert_eq!(pool.try_apply(divide, (9, 3)).expect("try_apply"), 3);
            let error = pool.try_starmap(divide, [(4, 2), (1, 0)]).expect_err("1 / 0 fails");
            assert_eq!(error.to_string(), "1 / 0", "under {method:?}");
            assert_eq!(pool.apply(square, 12).expect("one argument, whole"), 144);
        }
    }

    /// `initializer_with(init, (a, b))` calls `init(a, b)` in every
    /// worker, like `initargs=(a, b)`.
    fn the_initializer_takes_its_arguments_apart_under_every_method() {
        for method in get_all_start_methods() {
            let total = Value::new(0).expect("value");
            let mut pool = Pool::builder()
                .processes(2)
                .start_method(method)
                .initializer_with(keep, (total.clone(), 10))
                .build()
                .expect("pool");
            assert_eq!(pool.map(add_weighted, 1..=4).expect("map"), [1, 2, 3, 4]);
            assert_eq!(total.get(), 100, "every task saw the initializer's two arguments under {method:?}");
        }
    }

    /// A pool cannot send a closure that captures something to its
    /// workers: the call fails, naming it, and sends nothing.
    fn a_pool_refuses_a_capturing_closure_by_name() {
        let mut pool = Pool::new(1).expect("pool");
        let base = 3;
        let add = move |n: u64| n + base;
        match pool.apply(add, 1) {
            Err(Error::Unsendable { function }) => {
                assert!(function.contains("closure"), "named: {function}");
            }
            other => panic!("expected Unsendable, got {other:?}"),
        }
        assert_eq!(pool.apply(square, 3).expect("the pool goes on"), 9);
    }

    /// Every shared thing is `Clone`, and a clone crosses to a child of
    /// each start method as the original would.
    fn cloned_shared_things_reach_children_of_every_method() {
        let lock = Lock::new().expect("lock");
        let rlock = RLock::new().expect("rlock");
        let semaphore = Semaphore::new(3).expect("semaphore");
        let bounded = BoundedSemaphore::new(3).expect("bounded");
        let condition = Condition::new().expect("condition");
        let barrier = Barrier::new(1).expect("barrier");
        let value = Value::new(0).expect("value");
        let raw_value = RawValue::<u8>::new(0).expect("raw value");
        let array = Array::new(1).expect("array");
        let raw_array = RawArray::<u8>::new(1).expect("raw array");
        let queue = Queue::new().expect("queue");
        let simple = SimpleQueue::new().expect("simple queue");
        let joinable = JoinableQueue::new().expect("joinable queue");
        let memory = SharedMemory::create(4).expect("shared memory");
        let list = ShareableList::<u8>::new(&[0]).expect("shareable list");
        for i in 0..3 {
            let event = Event::new().expect("event");
            let synchronized = (
                lock.clone(),
                rlock.clone(),
                (semaphore.clone(), bounded.clone()),
                condition.clone(),
                event.clone(),
                barrier.clone(),
            );
            let mut first = Process::builder().start_method(method_of(i)).with_args(touch_synchronized, synchronized);
            let shared = (
                (value.clone(), raw_value.clone()),
                (array.clone(), raw_array.clone()),
                queue.clone(),
                simple.clone(),
                joinable.clone(),
                (memory.clone(), list.clone()),
            );
            let mut second = Process::builder().start_method(method_of(i)).with_args(touch_shared, shared);
            first.start().expect("start");
            second.start().expect("start");
            join_all_exited_0(&[first, second], "each used every clone it was given");
            assert!(event.is_set().expect("asked"), "the event's clone was set");
        }
        assert_eq!(semaphore.get_value(), 0, "three places kept, one per child");
        assert_eq!(bounded.get_value(), 0);
        assert_eq!((value.get(), raw_value.get()), (3, 3));
        assert_eq!((array.get(0), raw_array.get(0)), (3, 3));
        assert_eq!((0..3).map(|_| queue.get().expect("get")).sum::<u32>(), 3);
        assert_eq!((0..3).map(|_| simple.get().expect("get")).sum::<u32>(), 6);
        assert_eq!((0..3).map(|_| joinable.get().expect("get")).sum::<u32>(), 9);
        assert_eq!(list.get(0), 3, "each child's clone of the list added one");
        assert_eq!(memory.read(0, 4), b"\0xxx", "each child's clone of the block wrote its byte");
        drop(memory.clone());
        assert!(SharedMemory::open(memory.name()).is_ok(), "a clone dropped does not unlink the name");
    }
}
