//! Value, Array, RawValue, RawArray, SharedMemory and ShareableList:
//! memory that processes share.

use common::{RawArray, RawValue};

use crate::support::*;

fork_tests! {
    /// Four processes add at once to one shared value and each to its own
    /// element: the atomic adds lose nothing, whatever the interleaving.
    fn value_add_loses_no_update_across_processes() {
        let total = Value::new(0).expect("value");
        let counts = Array::new(4).expect("array");
        let processes = start_each(4, add_a_thousand, |slot| {
            (
                total.try_clone().expect("dup"),
                counts.try_clone().expect("dup"),
                slot as usize,
            )
        });
        join_all_exited_0(&processes, "an adder failed");
        assert_eq!(total.get(), 4000);
        assert_eq!(counts.to_vec(), [1000; 4]);
    }

    /// Four processes each add 0.5 a thousand times to a float under its
    /// lock, in two steps (read, then write): nothing is lost.
    fn float_value_under_get_lock_loses_nothing() {
        let total = Value::new(0.0f64).expect("value");
        let processes = start_each(4, add_halves, |_| total.try_clone().expect("dup"));
        join_all_exited_0(&processes, "an adder failed");
        assert_eq!(total.get(), 2000.0);
    }

    /// A raw value and a raw array (no lock) reach a child, which writes
    /// what the parent then reads; an array made from an iterator holds it
    /// in order.
    fn raw_values_and_arrays_from_iterators_cross_to_a_child() {
        let flag = RawValue::new(false).expect("raw value");
        let squares = RawArray::<u64>::new(5).expect("raw array");
        let numbers = Array::from_iter((1..=5u64).rev()).expect("array");
        assert_eq!(numbers.to_vec(), [5, 4, 3, 2, 1]);
        let mut child = Process::with_args(
            square_each,
            (
                flag.try_clone().expect("dup"),
                squares.try_clone().expect("dup"),
                numbers.try_clone().expect("dup"),
            ),
        );
        child.start().expect("start");
        child.join().expect("join");
        assert_eq!(child.exitcode(), Some(0), "the child filled the array");
        assert!(flag.get(), "the child's write is seen");
        assert_eq!(squares.to_vec(), [25, 16, 9, 4, 1]);
        assert_eq!(RawArray::from_iter([0.5f32, 1.5]).expect("raw").to_vec(), [0.5, 1.5]);
    }

    /// A child opens a block by name, reads what the parent wrote, and
    /// writes back; the parent sees it.
    fn shared_memory_between_two_processes() {
        let block = SharedMemory::create(64).expect("create");
        block.write(0, b"ping");
        let mut child = Process::with_args(answer_ping, block.name().to_owned());
        child.start().expect("start");
        child.join().expect("join");
        assert_eq!(child.exitcode(), Some(0), "the child read ping");
        assert_eq!(block.read(0, 4), b"pong");
        let name = block.name().to_owned();
        drop(block);
        assert!(SharedMemory::open(&name).is_err(), "the creator's drop unlinked it");
    }

    /// A ShareableList crosses into pool tasks (by name) and each task sums
    /// its list.
    fn shareable_lists_cross_into_pool_tasks() {
        let lists: Vec<ShareableList<i64>> = (1..=3)
            .map(|n| ShareableList::new(&[n; 10]).expect("list"))
            .collect();
        let mut pool = Pool::new(2).expect("pool");
        let handles: Vec<ShareableList<i64>> = lists
            .iter()
            .map(|list| ShareableList::open(list.name()).expect("open"))
            .collect();
        assert_eq!(pool.map(sum_list, handles).expect("map"), [10, 20, 30]);
    }
}

fn add_a_thousand((total, counts, slot): (Value, Array, usize)) {
    for _ in 0..1000 {
        total.add(1);
        counts.add(slot, 1);
    }
}

fn add_halves(total: Value<f64>) {
    for _ in 0..1000 {
        let _held = total.get_lock().acquire().expect("the lock");
        let now = total.get();
        total.set(now + 0.5);
    }
}

fn square_each((flag, squares, numbers): (RawValue<bool>, RawArray<u64>, Array<u64>)) {
    for i in 0..numbers.len() {
        squares.set(i, numbers.get(i) * numbers.get(i));
    }
    flag.set(true);
}

fn answer_ping(name: String) {
    let block = SharedMemory::open(&name).expect("open by name");
    assert_eq!(block.read(0, 4), b"ping");
    block.write(0, b"pong");
}

fn sum_list(list: ShareableList<i64>) -> i64 {
    list.to_vec().iter().sum()
}
