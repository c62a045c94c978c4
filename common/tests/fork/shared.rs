//! Value and Array in memory that processes share.

use crate::support::*;

fork_tests! {
    /// Four processes add at once to one shared value and each to its own
    /// element: the atomic adds lose nothing, whatever the interleaving.
    fn value_add_loses_no_update_across_processes() {
        let total = Value::new(0).expect("value");
        let counts = Array::new(4).expect("array");
        let processes: Vec<Process> = (0..4)
            .map(|slot| {
                let args = (
                    total.try_clone().expect("dup"),
                    counts.try_clone().expect("dup"),
                    slot,
                );
                let mut process = Process::with_args(add_a_thousand, args);
                process.start().expect("start");
                process
            })
            .collect();
        for process in &processes {
            process.join().expect("join");
            assert_eq!(process.exitcode(), Some(0));
        }
        assert_eq!(total.get(), 4000);
        assert_eq!(counts.to_vec(), [1000; 4]);
    }
}

fn add_a_thousand((total, counts, slot): (Value, Array, usize)) {
    for _ in 0..1000 {
        total.add(1);
        counts.add(slot, 1);
    }
}
