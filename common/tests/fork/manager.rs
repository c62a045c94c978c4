//! Manager: dicts, lists and namespaces shared through a server process,
//! filled by pools and processes under whichever start method is in force,
//! and by processes of another program over TCP.

use common::{Address, DictProxy, ListProxy, Manager};

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
        assert!(
            matches!(squares.len(), Err(common::Error::ManagerGone)),
            "the server is gone with its manager: {:?}",
            squares.len()
        );
    }

    /// A proxy used after its manager was shut down, or after its server
    /// was killed, says the manager is gone, not what the socket said.
    fn manager_gone_is_told() {
        let manager = Manager::new().expect("manager");
        let dict = manager.dict::<u32, u32>().expect("dict");
        let list = manager.list::<u32>().expect("list");
        list.push(&1).expect("push");
        manager.shutdown().expect("shutdown");
        let error = dict.insert(&1, &2).expect_err("no server");
        assert!(matches!(error, common::Error::ManagerGone), "{error}");
        assert!(error.to_string().contains("manager's server is gone"), "{error}");
        assert!(matches!(list.len(), Err(common::Error::ManagerGone)));

        let manager = Manager::new().expect("manager");
        let dict = manager.dict::<u32, u32>().expect("dict");
        dict.insert(&1, &2).expect("insert");
        let server = manager.pid().expect("a server process");
        let server = nix::unistd::Pid::from_raw(i32::try_from(server).expect("a pid"));
        nix::sys::signal::kill(server, nix::sys::signal::Signal::SIGKILL).expect("kill");
        // The server is the manager's child: reaped when the manager drops.
        let error = dict.get(&1).expect_err("no server");
        assert!(matches!(error, common::Error::ManagerGone), "{error}");
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

    /// A child uses a dict's and a list's methods as Python's: entries in
    /// insertion order, `&str` lookups, update, keys, values and items; a
    /// list made from an iterator, extended, reversed and sorted.
    fn manager_proxies_have_pythons_methods() {
        let manager = Manager::new().expect("manager");
        let stock = manager
            .dict_from([("pears".to_owned(), 5u32), ("apples".to_owned(), 3)])
            .expect("dict");
        let numbers = manager.list_from([5u32, 1, 4]).expect("list");
        let mut child = Process::with_args(
            restock,
            (stock.try_clone().expect("dup"), numbers.try_clone().expect("dup")),
        );
        child.start().expect("start");
        child.join().expect("join");
        assert_eq!(child.exitcode(), Some(0), "the child's checks held");
        assert_eq!(stock.keys().expect("keys"), ["pears", "apples", "figs"]);
        assert_eq!(stock.values().expect("values"), [5, 30, 1]);
        assert_eq!(stock.remove("pears").expect("removed"), Some(5));
        assert_eq!(
            stock.items().expect("items"),
            [("apples".to_owned(), 30), ("figs".to_owned(), 1)],
            "a removal keeps the order of the rest"
        );
        assert!(stock.contains_key("figs").expect("asked"));
        assert!(!stock.contains_key("pears").expect("asked"));
        assert_eq!(numbers.to_vec().expect("items"), [9, 5, 4, 3, 2, 1]);
        numbers.reverse().expect("reversed");
        assert_eq!(numbers.to_vec().expect("items"), [1, 2, 3, 4, 5, 9]);
        numbers.clear().expect("cleared");
        assert!(numbers.is_empty().expect("asked"));
    }

    /// Sorting while other processes append loses no item: a sort is one
    /// step, whatever the interleaving.
    fn manager_list_sorted_while_others_append() {
        let manager = Manager::new().expect("manager");
        let list = manager.list_from((0..50u32).rev()).expect("list");
        let appenders = start_each(3, append_25, |p| (list.clone(), p + 1));
        let sorter = start_each(1, sort_often, |_| list.try_clone().expect("dup"));
        join_all_exited_0(&appenders, "an appender failed");
        join_all_exited_0(&sorter, "the sorter failed");
        let mut all = list.to_vec().expect("items");
        all.sort_unstable();
        let mut expected: Vec<u32> = (0..50).collect();
        expected.extend((1..=3).flat_map(|p| (0..25).map(move |i| p * 100 + i)));
        expected.sort_unstable();
        assert_eq!(all, expected);
    }

    /// While one client asks without pause (the server tries its socket
    /// alone after each answer, see `Turns`), another's requests of many
    /// records (an update of 3 MiB, answers as large) come back whole, and
    /// a newcomer's connection is let in and served: on a Unix socket and
    /// over TCP.
    fn manager_serves_large_requests_and_newcomers_beside_a_busy_client() {
        let managers = [
            Manager::new(),
            Manager::with_address(("127.0.0.1", 0), b"busy"),
        ];
        for manager in managers {
            let manager = manager.expect("manager");
            let blobs = manager.dict::<u32, Vec<u8>>().expect("dict");
            let busy = start_each(1, ask_until_told, |_| blobs.clone());
            let values: Vec<Vec<u8>> = (1..=3u32)
                .map(|k| (0..1 << 20).map(|i: u32| (i % 251) as u8 ^ k as u8).collect())
                .collect();
            for _ in 0..3 {
                blobs
                    .update((1..=3u32).zip(values.iter().cloned()))
                    .expect("update");
                for (k, value) in (1..=3u32).zip(&values) {
                    assert!(blobs.get(&k).expect("get").as_ref() == Some(value), "value {k} whole");
                }
            }
            let newcomer = start_each(1, insert_7, |_| blobs.clone());
            join_all_exited_0(&newcomer, "the newcomer was not served");
            assert_eq!(blobs.get(&7).expect("get"), Some(vec![7]));
            blobs.insert(&u32::MAX, &Vec::new()).expect("tell it to stop");
            join_all_exited_0(&busy, "the busy client failed");
        }
    }

    /// A manager serving on a TCP port of 127.0.0.1 is reached by another
    /// program that knows the address and the key, which finds the dict
    /// and list by name and fills them; one with a wrong key is refused;
    /// the server outlives the other program's handle.
    fn manager_on_tcp_serves_another_program() {
        let manager = Manager::with_address(("127.0.0.1", 0), b"let me in").expect("manager");
        let Address::Tcp(host, port) = manager.address().clone() else {
            panic!("a TCP address, not {}", manager.address());
        };
        assert_eq!(host, "127.0.0.1");
        assert_ne!(port, 0, "a free port was chosen");
        let scores = manager.dict_named::<String, u32>("scores").expect("dict");
        scores.insert("server", &1).expect("insert");
        let run = |key: &str| {
            Command::new(std::env::current_exe().expect("current exe"))
                .env(ROLE_ENV, "manager-client")
                .env("MANAGER_PORT", port.to_string())
                .env("MANAGER_KEY", key)
                .output()
                .expect("run the other program")
        };
        let refused = run("a wrong key");
        assert_eq!(refused.status.code(), Some(3), "{refused:?}");
        let other = run("let me in");
        assert!(other.status.success(), "{other:?}");
        let pid = String::from_utf8(other.stdout).expect("text").trim().parse::<u32>().expect("a pid");
        assert_eq!(scores.get("client").expect("get"), Some(pid));
        assert_eq!(scores.keys().expect("keys"), ["server", "client"]);
        let log = manager.list_named::<String>("log").expect("list");
        assert_eq!(log.to_vec().expect("items"), ["hello from another program"]);
        assert!(manager.namespace_named("scores").is_err(), "a name holds one kind");
    }
}

/// Asks for key 0 again and again, until key `u32::MAX` is there.
fn ask_until_told(blobs: DictProxy<u32, Vec<u8>>) {
    while !blobs.contains_key(&u32::MAX).expect("asked") {
        let _ = blobs.get(&0).expect("get");
    }
}

fn insert_7(blobs: DictProxy<u32, Vec<u8>>) {
    blobs.insert(&7, &vec![7]).expect("insert");
    assert_eq!(blobs.get(&7).expect("get"), Some(vec![7]));
}

/// Adds to the stock and the numbers, checking what it reads.
fn restock((stock, numbers): (DictProxy<String, u32>, ListProxy<u32>)) {
    assert_eq!(stock.get("apples").expect("get"), Some(3));
    stock
        .update([("apples", 30), ("figs", 1)].map(|(k, v)| (k.to_owned(), v)))
        .expect("update");
    assert_eq!(stock.len().expect("len"), 3);
    numbers.extend([3, 9]).expect("extend");
    numbers.extend([2u32].iter()).expect("extend");
    numbers
        .sort_by_key(|&n| std::cmp::Reverse(n))
        .expect("sort");
    assert_eq!(numbers.get(0).expect("get"), Some(9));
}

fn sort_often(list: ListProxy<u32>) {
    for _ in 0..20 {
        list.sort().expect("sorted");
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
