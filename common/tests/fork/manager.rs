//! Manager: dicts, lists and namespaces shared through a server process,
//! filled by pools and processes under whichever start method is in force.

use common::{DictProxy, ListProxy, Manager};

use crate::support::*;

fork_tests! {
    /// A pool's tasks fill a managed dict; the parent sees every entry.
    fn manager_dict_filled_by_a_pool() {
        let manager = Manager::new().expect("manager");
        let squares = manager.dict::<u32, u64>().expect("dict");
        let mut pool = Pool::new(3).expect("pool");
        let filled = pool
            .map(store_square, (0..20).map(|n| (squares.clone(), n)))
            .expect("map");
        assert_eq!(filled.len(), 20);
        let all = squares.to_hash_map().expect("entries");
        assert_eq!(all.len(), 20);
        for n in 0..20u32 {
            assert_eq!(all[&n], u64::from(n) * u64::from(n));
        }
        drop(pool);
        let server = manager.pid();
        drop(manager);
        assert!(server.is_some());
        assert!(squares.len().is_err(), "the server is gone with its manager");
    }

    /// Four processes append to one managed list at once: nothing is lost.
    fn manager_list_appended_by_processes() {
        let manager = Manager::new().expect("manager");
        let list = manager.list::<u32>().expect("list");
        let processes = start_each(4, append_25, |p| (list.clone(), p));
        join_all_exited_0(&processes, "an appender failed");
        let mut all = list.to_vec().expect("items");
        all.sort_unstable();
        let expected: Vec<u32> = (0..4).flat_map(|p| (0..25).map(move |i| p * 100 + i)).collect();
        assert_eq!(all, expected);
        assert!(list.set(1000, &1).is_err(), "out of range is refused");
    }
}

fn store_square((squares, n): (DictProxy<u32, u64>, u32)) -> u32 {
    squares
        .insert(&n, &(u64::from(n) * u64::from(n)))
        .expect("the manager");
    n
}

fn append_25((list, p): (ListProxy<u32>, u32)) {
    for i in 0..25 {
        list.push(&(p * 100 + i)).expect("the manager");
    }
}
