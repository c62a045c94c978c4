//! What the fork tests share: helpers, the functions they send to children,
//! and the programs this binary plays when re-run with a role.

pub(crate) use common::{
    Array, Barrier, BoundedSemaphore, Condition, Connection, Ended, Error, Event, JoinableQueue,
    Lock, Pool, Process, Queue, RLock, Semaphore, ShareableList, SharedMemory, Value,
};
pub(crate) use nix::sys::signal::{Signal, kill};
pub(crate) use nix::sys::wait::waitpid;
pub(crate) use nix::unistd::{Pid, getpid};
pub(crate) use std::fs::File;
pub(crate) use std::io::{self, Read};
pub(crate) use std::process::Command;
pub(crate) use std::time::Duration;

/// When set, this binary plays the program named by its value instead of
/// running tests.
pub(crate) const ROLE_ENV: &str = "COMMON_FORK_TEST_ROLE";

/// Runs this binary as `role` with stdout going to `stdout` and returns what
/// it printed there, after checking it succeeded.
pub(crate) fn play_as(role: &str, stdout: std::process::Stdio) -> std::process::Output {
    let output = Command::new(std::env::current_exe().expect("current exe"))
        .env(ROLE_ENV, role)
        .stdout(stdout)
        .output()
        .expect("run this binary");
    assert!(output.status.success(), "{role} failed: {output:?}");
    output
}

/// The programs `play_as` runs.
pub(crate) fn play(role: &str) {
    match role {
        "partial-line-before-fork" => {
            print!("partial ");
            let mut process = Process::new(|| println!("child"));
            process.start().expect("start");
            process.join().expect("join");
            println!("parent");
        }
        "child-without-newline" => {
            let mut process = Process::new(|| print!("child without newline"));
            process.start().expect("start");
            process.join().expect("join");
            println!();
        }
        "child-stderr" => {
            let mut process = Process::new(|| eprint!("child stderr without newline"));
            process.start().expect("start");
            process.join().expect("join");
            eprint!("|");
            let mut process = Process::new(|| panic!("the child's own panic"));
            process.start().expect("start");
            process.join().expect("join");
            println!("{}", process.exitcode().expect("ended"));
        }
        "pool-until-interrupted" | "pool-until-killed" => {
            let dir = std::env::var("FORK_TEST_DIR").expect("FORK_TEST_DIR is set");
            let mut pool = Pool::new(2).expect("pool");
            println!("{:?}", pool.pids());
            let tasks = (0..2)
                .map(|i| format!("{dir}/started-{i}"))
                .collect::<Vec<_>>();
            match pool.chunksize(1).map(announce_then_block, tasks) {
                Err(Error::Interrupted) => {
                    eprintln!("interrupted");
                    std::process::exit(130);
                }
                other => panic!("expected an interruption, got {other:?}"),
            }
        }
        "pool-interrupted-by-its-first-job" => {
            // The first job sends Ctrl-C to this process while `map` is
            // still sending the rest: the pool must already be catching it.
            let owner = std::process::id() as i32;
            let items = (0..200_000u32).map(move |i| (owner, i));
            match pool_of_two().chunksize(1).map(interrupt_owner_at_0, items) {
                Err(Error::Interrupted) => {
                    eprintln!("interrupted");
                    std::process::exit(130);
                }
                other => panic!("expected an interruption, got {:?}", other.map(|v| v.len())),
            }
        }
        "logged" => {
            let mut process = Process::new(|| {});
            process.start().expect("start");
            process.join().expect("join");
            let mut pool = Pool::new(1).expect("pool");
            pool.map(square, [1, 2]).expect("map");
        }
        "pool-past-a-process-limit" => crate::exhaustion::pool_past_a_process_limit(),
        "targets-returning-errors" => crate::arguments::targets_returning_errors(),
        "try-map-error" => {
            let mut pool = Pool::new(2).expect("pool");
            let error = pool
                .try_map(crate::pool_calls::halve, [2, 3, 4])
                .expect_err("3 is odd");
            println!("{error}");
        }
        "map-panic" => {
            let mut pool = Pool::new(2).expect("pool");
            let error = pool
                .map(crate::pool_calls::panic_at_4, 0..6)
                .expect_err("4 panics");
            println!("{error}");
        }
        "manager-client" => {
            // Another program: it knows only the port and the key.
            let port: u16 = std::env::var("MANAGER_PORT")
                .expect("a port")
                .parse()
                .expect("a port");
            let key = std::env::var("MANAGER_KEY").expect("a key");
            let manager = match common::Manager::connect(("127.0.0.1", port), key.as_bytes()) {
                Ok(manager) => manager,
                Err(Error::AuthenticationFailed) => std::process::exit(3),
                Err(error) => panic!("{error}"),
            };
            let scores = manager.dict_named::<String, u32>("scores").expect("dict");
            assert_eq!(scores.get("server").expect("get"), Some(1));
            scores
                .insert("client", &std::process::id())
                .expect("insert");
            let log = manager.list_named::<String>("log").expect("list");
            log.push("hello from another program").expect("push");
            println!("{}", std::process::id());
        }
        _ => panic!("unknown role {role}"),
    }
}

pub(crate) fn square(n: u64) -> u64 {
    n * n
}

pub(crate) fn identity(n: u32) -> u32 {
    n
}

/// Blocks until `path` exists; a rendezvous with the test, not a timer.
pub(crate) fn wait_for_file(path: &str) {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while !std::path::Path::new(path).exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "{path} never appeared"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
}

fn pool_of_two() -> Pool {
    Pool::new(2).expect("pool")
}

/// Item 0 sends SIGINT to `owner` (the pool's owner: under forkserver it is
/// not the worker's parent) and blocks; the others return at once.
fn interrupt_owner_at_0((owner, index): (i32, u32)) -> u32 {
    if index == 0 {
        kill(Pid::from_raw(owner), Signal::SIGINT).expect("Ctrl-C the owner");
        loop {
            std::thread::park();
        }
    }
    index
}

pub(crate) fn announce_then_block(path: String) -> u32 {
    std::fs::write(&path, b"").expect("write the started file");
    loop {
        std::thread::park();
    }
}

pub(crate) fn temp_dir() -> tempfile::TempDir {
    tempfile::tempdir().expect("temp dir")
}

pub(crate) fn path_in(dir: &tempfile::TempDir, name: &str) -> String {
    dir.path()
        .join(name)
        .to_str()
        .expect("utf-8 path")
        .to_owned()
}

pub(crate) static INITIALIZED: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

/// A value that refuses to decode when it is 3.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "u32", into = "u32")]
pub(crate) struct Picky(pub(crate) u32);

impl TryFrom<u32> for Picky {
    type Error = String;
    fn try_from(n: u32) -> Result<Picky, String> {
        if n == 3 {
            Err("3 is refused".into())
        } else {
            Ok(Picky(n))
        }
    }
}

impl From<Picky> for u32 {
    fn from(p: Picky) -> u32 {
        p.0
    }
}

/// The live (not zombie) processes of process group `group`.
pub(crate) fn group_alive(group: Pid) -> Vec<Pid> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|&pid| {
            let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
                return false;
            };
            let Some(close) = stat.rfind(')') else {
                return false;
            };
            let fields: Vec<&str> = stat[close + 2..].split(' ').collect();
            fields.first() != Some(&"Z") && fields.get(2) == Some(&group.to_string().as_str())
        })
        .map(Pid::from_raw)
        .collect()
}

pub(crate) const ROUNDS: usize = 5;

/// The processes whose parent is `parent`, zombies included, from /proc.
pub(crate) fn children_of(parent: Pid) -> Vec<Pid> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|entry| {
            let pid: i32 = entry.file_name().to_str()?.parse().ok()?;
            (parent_of(Pid::from_raw(pid))? == parent).then_some(Pid::from_raw(pid))
        })
        .collect()
}

/// Starts, in a child each, `target` with the arguments `args` gives for
/// `0..count`.
pub(crate) fn start_each<A>(
    count: u32,
    target: fn(A),
    mut args: impl FnMut(u32) -> A,
) -> Vec<Process>
where
    A: serde::Serialize + serde::de::DeserializeOwned + Send + 'static,
{
    (0..count)
        .map(|i| {
            let mut process = Process::with_args(target, args(i));
            process.start().expect("start");
            process
        })
        .collect()
}

/// Joins every process, each of which must have exited with 0 (`why`
/// says what else would mean).
#[track_caller]
pub(crate) fn join_all_exited_0(processes: &[Process], why: &str) {
    for process in processes {
        process.join().expect("join");
        assert_eq!(process.exitcode(), Some(0), "{why}");
    }
}

/// Whether `pid` is a fork server of `common` (by its name in `/proc`).
pub(crate) fn is_fork_server(pid: Pid) -> bool {
    std::fs::read(format!("/proc/{pid}/comm"))
        .is_ok_and(|comm| comm.trim_ascii_end() == common::FORKSERVER_NAME.to_bytes())
}

/// Waits (ten seconds at most) until child `pid` has ended and not been
/// reaped yet: a zombie, by the kernel's account in `/proc/PID/stat`.
pub(crate) fn wait_until_zombie(pid: Pid) {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while std::time::Instant::now() < deadline {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let state = stat.rsplit_once(')').map(|(_, rest)| rest.trim_start());
        if state.is_some_and(|rest| rest.starts_with('Z')) {
            return;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    panic!("process {pid} did not end within ten seconds");
}

/// Waits until `pid` is stopped (state `T` in `/proc/PID/stat`).
pub(crate) fn wait_until_stopped(pid: Pid) {
    loop {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("its stat");
        let state = stat
            .rsplit_once(") ")
            .and_then(|(_, rest)| rest.chars().next());
        if state == Some('T') {
            return;
        }
        std::thread::yield_now();
    }
}

/// Whether `pid` has ended and waits to be reaped, by `/proc/PID/stat`.
pub(crate) fn is_zombie(pid: Pid) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        stat.rfind(')')
            .and_then(|i| stat[i + 1..].split_whitespace().next())
            .is_some_and(|state| state == "Z")
    })
}

/// The parent of `pid` by the kernel's account (`/proc/PID/stat`, field 4).
pub(crate) fn parent_of(pid: Pid) -> Option<Pid> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name in parentheses may itself hold spaces or parentheses.
    let after_name = &stat[stat.rfind(')')? + 1..];
    let ppid = after_name.split_whitespace().nth(1)?.parse().ok()?;
    Some(Pid::from_raw(ppid))
}
