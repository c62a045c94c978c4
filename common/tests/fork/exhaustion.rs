//! Starting processes when the system runs short: descriptors exhausted, a
//! limit on processes reached, the fork server killed at random moments.
//! Every failure says the system's reason, and nothing is left behind:
//! no live process, no zombie.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Instant;

use nix::sys::resource::{Resource, getrlimit, setrlimit};

use crate::support::*;

fork_tests! {
    /// With descriptors short, a pool that cannot open all its workers'
    /// channels fails with `EMFILE` in its message and leaves no worker
    /// behind; one that fits still works. With none left at all, each
    /// constructor fails the same way (or, a process under fork, which
    /// needs none, starts), leaving nothing.
    fn constructors_fail_cleanly_when_descriptors_run_out() {
        let limit = DescriptorLimit::lower_to(open_descriptors() + 24);
        let error = Pool::new(32).expect_err("32 workers need more than 24 descriptors");
        assert_says(&error, "EMFILE", "Pool::new(32)");
        assert_nothing_left("Pool::new(32)");
        let mut pool = Pool::new(2).expect("a pool that fits");
        assert_eq!(pool.map(square, [3, 4]).expect("map"), [9, 16]);
        drop(pool);
        assert_nothing_left("Pool::new(2), dropped");
        let all_taken = fill_descriptors();
        let outcomes: [(&str, Result<(), Error>); 7] = [
            ("Pool::new", Pool::new(1).map(drop)),
            ("Manager::new", common::Manager::new().map(drop)),
            ("Queue::new", Queue::<u32>::new().map(drop)),
            ("JoinableQueue::new", JoinableQueue::<u32>::new().map(drop)),
            ("pipe", common::pipe::<()>().map(drop)),
            ("Lock::new", Lock::new().map(drop)),
            ("Barrier::new", Barrier::new(2).map(drop)),
        ];
        let mut process = Process::with_args(exit_with, 0);
        let started = process.start();
        // Looking at /proc takes a descriptor too: the checks come after.
        drop(all_taken);
        for (what, outcome) in outcomes {
            let error = outcome.expect_err(what);
            assert_says(&error, "EMFILE", what);
        }
        match started {
            Ok(()) => {
                process.join().expect("join");
                assert_eq!(process.exitcode(), Some(0));
            }
            Err(error) => assert_says(&error, "EMFILE", "Process::start"),
        }
        assert_nothing_left("every constructor, with no descriptor left");
        let manager_dirs = format!("common-manager-{}-", std::process::id());
        let left = std::fs::read_dir(std::env::temp_dir())
            .expect("the temporary directory")
            .flatten()
            .filter(|entry| entry.file_name().to_string_lossy().starts_with(&manager_dirs))
            .count();
        assert_eq!(left, 0, "a failed Manager::new left its directory");
        drop(limit);
    }

    /// Under a limit of 10 processes (a pids control group, or
    /// `RLIMIT_NPROC` for an unprivileged user), a pool of 12 fails with
    /// `EAGAIN` in its message and leaves no process, live or zombie, to
    /// hold a place: a pool of 2 then works.
    fn pool_past_a_process_limit_fails_cleanly() {
        let Some(limit) = ProcessLimit::of(10) else {
            eprintln!("note: no way to limit processes here (no pids control group, no other user)");
            return;
        };
        let output = limit
            .command("pool-past-a-process-limit")
            .output()
            .expect("run the role");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), "held");
    }

    /// Processes start through the fork server while another thread kills
    /// each server in turn at a random moment: every start succeeds (a
    /// child the dying server made is kept, else a new server makes it),
    /// and no process is left unknown to die a zombie.
    fn processes_start_while_the_fork_server_is_killed_at_random() {
        let stop = Arc::new(AtomicBool::new(false));
        let kills = Arc::new(AtomicUsize::new(0));
        let killer = {
            let (stop, kills) = (Arc::clone(&stop), Arc::clone(&kills));
            std::thread::spawn(move || kill_fork_servers_until(&stop, &kills))
        };
        let mut started = Vec::new();
        let mut failed = Vec::new();
        // 300 starts, and more until the killer has struck once (a loaded
        // machine may give it no turn during the first 300).
        let deadline = Instant::now() + Duration::from_secs(60);
        for n in 0.. {
            if n >= 300 && (kills.load(Ordering::SeqCst) > 0 || Instant::now() > deadline) {
                break;
            }
            let mut process = Process::with_args(exit_with, n % 7);
            process.set_start_method(common::StartMethod::Forkserver);
            match process.start() {
                Ok(()) => started.push((n % 7, process)),
                Err(error) => failed.push(error.to_string()),
            }
        }
        stop.store(true, Ordering::SeqCst);
        killer.join().expect("the killer ends");
        for (code, process) in &started {
            process.join().expect("join");
            assert_eq!(process.exitcode(), Some(*code));
        }
        let tried = started.len() + failed.len();
        assert!(failed.is_empty(), "{} of {tried} starts failed: {failed:?}", failed.len());
        assert!(kills.load(Ordering::SeqCst) > 0, "the fork server was never killed");
        // One more start reaps a server killed last; then only a live
        // server may remain.
        let mut last = Process::with_args(exit_with, 0);
        last.set_start_method(common::StartMethod::Forkserver);
        last.start().expect("start");
        last.join().expect("join");
        for pid in children_of(getpid()) {
            assert!(
                is_fork_server(pid) && !is_zombie(pid),
                "left behind: {pid} ({})",
                std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default()
            );
        }
    }
}

/// The role `pool_past_a_process_limit_fails_cleanly` runs, inside the
/// limit.
pub(crate) fn pool_past_a_process_limit() {
    ProcessLimit::enter();
    let error = Pool::new(12).expect_err("12 workers past a limit of 10 processes");
    assert_says(&error, "EAGAIN", "Pool::new(12)");
    assert_nothing_left("Pool::new(12)");
    let mut pool = Pool::new(2).expect("2 workers fit");
    assert_eq!(pool.map(square, [5]).expect("map"), [25]);
    drop(pool);
    assert_nothing_left("Pool::new(2), dropped");
    println!("held");
}

fn exit_with(code: i32) {
    std::process::exit(code);
}

#[track_caller]
fn assert_says(error: &Error, reason: &str, what: &str) {
    let message = error.to_string();
    assert!(message.contains(reason), "{what}: {message}");
}

/// No child of this process but a live fork server: no worker, no process,
/// no zombie.
#[track_caller]
fn assert_nothing_left(after: &str) {
    assert!(
        std::fs::read_dir("/proc").is_ok(),
        "after {after}: /proc cannot be read, so nothing can be checked"
    );
    let left: Vec<String> = children_of(getpid())
        .into_iter()
        .filter(|&pid| !is_fork_server(pid) || is_zombie(pid))
        .map(|pid| std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default())
        .collect();
    assert!(left.is_empty(), "after {after}, left behind: {left:?}");
}

/// How many descriptors this process has open.
fn open_descriptors() -> u64 {
    std::fs::read_dir("/proc/self/fd").map_or(0, |entries| entries.count() as u64)
}

/// Opens /dev/null until no descriptor is left; they close when dropped.
fn fill_descriptors() -> Vec<File> {
    let mut taken = Vec::new();
    while let Ok(file) = File::open("/dev/null") {
        taken.push(file);
    }
    taken
}

/// This process's soft limit on descriptors, lowered until dropped.
struct DescriptorLimit {
    soft: u64,
    hard: u64,
}

impl DescriptorLimit {
    fn lower_to(soft: u64) -> DescriptorLimit {
        let (was, hard) = getrlimit(Resource::RLIMIT_NOFILE).expect("getrlimit");
        setrlimit(Resource::RLIMIT_NOFILE, soft, hard).expect("lower the limit");
        DescriptorLimit { soft: was, hard }
    }
}

impl Drop for DescriptorLimit {
    fn drop(&mut self) {
        setrlimit(Resource::RLIMIT_NOFILE, self.soft, self.hard).expect("restore the limit");
    }
}

/// A limit on how many processes a role may have: a pids control group of
/// its own (as root), or `RLIMIT_NPROC` over its user's count (otherwise).
enum ProcessLimit {
    /// The group's directory, removed when dropped.
    Group(std::path::PathBuf),
    Nproc(u64),
}

/// Where a role learns its limit: `group:DIR` or `nproc:N`.
const LIMIT_ENV: &str = "FORK_TEST_PROCESS_LIMIT";

impl ProcessLimit {
    /// A limit of `max` processes, by the first means this system allows.
    fn of(max: u64) -> Option<ProcessLimit> {
        if my_uid() == 0 {
            return pids_group(max).map(ProcessLimit::Group);
        }
        Some(ProcessLimit::Nproc(max))
    }

    /// A command running this binary as `role` under the limit.
    fn command(&self, role: &str) -> Command {
        let mut command = Command::new(std::env::current_exe().expect("current exe"));
        command.env(ROLE_ENV, role);
        match self {
            ProcessLimit::Group(dir) => command.env(LIMIT_ENV, format!("group:{}", dir.display())),
            ProcessLimit::Nproc(max) => command.env(LIMIT_ENV, format!("nproc:{max}")),
        };
        command
    }

    /// In the role: puts itself under the limit its test chose.
    fn enter() {
        let limit = std::env::var(LIMIT_ENV).expect("the limit is set");
        if let Some(dir) = limit.strip_prefix("group:") {
            let procs = std::path::Path::new(dir).join("cgroup.procs");
            std::fs::write(procs, std::process::id().to_string()).expect("join the group");
        } else if let Some(max) = limit.strip_prefix("nproc:") {
            let max: u64 = max.parse().expect("a count");
            let mine = tasks_of(my_uid());
            setrlimit(Resource::RLIMIT_NPROC, mine + max, mine + max).expect("limit processes");
        }
    }
}

impl Drop for ProcessLimit {
    fn drop(&mut self) {
        if let ProcessLimit::Group(dir) = self {
            let _ = std::fs::remove_dir(dir);
        }
    }
}

/// A new pids control group allowing `max` tasks (v2 where its pids
/// controller is enabled, else v1), or `None`.
fn pids_group(max: u64) -> Option<std::path::PathBuf> {
    let name = format!("common-fork-test-{}", std::process::id());
    let roots = [
        "/sys/fs/cgroup/pids",
        "/sys/fs/cgroup/unified",
        "/sys/fs/cgroup",
    ];
    roots.iter().find_map(|root| {
        let root = std::path::Path::new(root);
        let v1 = root.join("pids.max").exists() || root.ends_with("pids");
        let v2 = std::fs::read_to_string(root.join("cgroup.subtree_control"))
            .is_ok_and(|controllers| controllers.split_whitespace().any(|c| c == "pids"));
        if !v1 && !v2 {
            return None;
        }
        let dir = root.join(&name);
        std::fs::create_dir(&dir).ok()?;
        if std::fs::write(dir.join("pids.max"), max.to_string()).is_err() {
            let _ = std::fs::remove_dir(&dir);
            return None;
        }
        Some(dir)
    })
}

/// This process's user, as `/proc` shows it.
fn my_uid() -> u32 {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").map_or(u32::MAX, |m| m.uid())
}

/// How many tasks (threads of every process) user `uid` has now.
fn tasks_of(uid: u32) -> u64 {
    use std::os::unix::fs::MetadataExt;
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return 0;
    };
    entries
        .flatten()
        .filter(|entry| {
            entry
                .file_name()
                .to_str()
                .is_some_and(|n| n.parse::<u32>().is_ok())
        })
        .filter(|entry| entry.metadata().is_ok_and(|m| m.uid() == uid))
        .map(|entry| std::fs::read_dir(entry.path().join("task")).map_or(0, |t| t.count() as u64))
        .sum()
}

/// Kills this process's fork server at a random moment, each new one in
/// turn, until `stop`; how many it killed.
/// Kills each fork server in turn at a random moment until `stop`,
/// counting the kills in `kills`.
fn kill_fork_servers_until(stop: &AtomicBool, kills: &AtomicUsize) {
    let mut last = None;
    let mut seed = u64::from(std::process::id()) ^ 0x9e37_79b9_7f4a_7c15;
    while !stop.load(Ordering::SeqCst) {
        let server = children_of(getpid())
            .into_iter()
            .find(|&pid| is_fork_server(pid) && !is_zombie(pid) && Some(pid) != last);
        let Some(server) = server else {
            std::thread::sleep(Duration::from_micros(200));
            continue;
        };
        // xorshift: a pause of 0 to 20 ms, different each time.
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let pause = Instant::now() + Duration::from_micros(seed % 20_000);
        while Instant::now() < pause && !stop.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_micros(100));
        }
        if kill(server, Signal::SIGKILL).is_ok() {
            kills.fetch_add(1, Ordering::SeqCst);
        }
        last = Some(server);
    }
}
