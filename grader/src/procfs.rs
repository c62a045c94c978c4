//! What the kernel says about a process, read from `/proc`.
//!
//! The grader trusts this, not what a program prints: a program can print
//! any pid it likes, but it cannot change its entry in `/proc`.

use std::fs;

use nix::unistd::Pid;

/// The fields of `/proc/PID/stat` the grader uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stat {
    /// `R`, `S`, `D`, `Z` (zombie), ...
    pub state: char,
    /// The parent process.
    pub ppid: Pid,
    /// The process group.
    pub pgrp: Pid,
    /// How many threads the process has.
    pub threads: u32,
    /// When it started, in clock ticks since boot: with the pid, it names
    /// one process (a pid may be used again once its process is reaped).
    pub start: u64,
}

impl Stat {
    /// Whether the process has ended and waits to be reaped.
    pub fn is_zombie(&self) -> bool {
        self.state == 'Z'
    }
}

/// Reads `/proc/PID/stat`; `None` once the process is gone.
pub fn stat(pid: Pid) -> Option<Stat> {
    let text = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name, in parentheses, may itself hold spaces and ')'.
    let mut fields = text[text.rfind(')')? + 2..].split(' ');
    let state = fields.next()?.chars().next()?;
    let ppid = fields.next()?.parse().ok()?;
    let pgrp = fields.next()?.parse().ok()?;
    // Fields 6 to 19 are not needed; num_threads is field 20, starttime 22.
    let threads = fields.nth(14)?.parse().ok()?;
    let start = fields.nth(1)?.parse().ok()?;
    Some(Stat {
        state,
        ppid: Pid::from_raw(ppid),
        pgrp: Pid::from_raw(pgrp),
        threads,
        start,
    })
}

/// Whether process `pid` is still running: whether any of its threads is
/// alive. Its own stat is its main thread's, which says `Z` once that
/// thread has exited even while other threads of the process run on, so
/// each thread is read (`/proc/PID/task/TID/stat`).
pub fn alive(pid: Pid) -> bool {
    let Ok(tasks) = fs::read_dir(format!("/proc/{pid}/task")) else {
        return false;
    };
    tasks.flatten().any(|task| {
        fs::read_to_string(task.path().join("stat")).is_ok_and(|text| {
            // The state follows the command name, which may hold ") ".
            text.rfind(')')
                .and_then(|end| text[end + 1..].trim_start().chars().next())
                .is_some_and(|state| !matches!(state, 'Z' | 'X'))
        })
    })
}

/// One thread of a process, as `/proc/PID/task/TID` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Task {
    /// Its thread id.
    pub tid: Pid,
    /// `R`, `S`, `D`, `Z`, ...
    pub state: char,
    /// Its `syscall` file: the call it is blocked in with its arguments
    /// and stack and instruction pointers, or `running`; `None` where the
    /// kernel does not show it.
    pub syscall: Option<String>,
    /// How many times it has left the CPU, by choice or not (from
    /// `status`): it has not run between two looks that find the same
    /// count and the same blocked call.
    pub switches: u64,
}

impl Task {
    /// The system call it is blocked in, if it is blocked in one.
    pub fn blocked_in(&self) -> Option<libc::c_long> {
        let number = self.syscall.as_deref()?.split_whitespace().next()?;
        number.parse().ok().filter(|&n: &libc::c_long| n >= 0)
    }

    /// Argument `index` (from 0) of the call it is blocked in.
    pub fn argument(&self, index: usize) -> Option<u64> {
        self.blocked_in()?;
        let field = self.syscall.as_deref()?.split_whitespace().nth(index + 1)?;
        u64::from_str_radix(field.strip_prefix("0x")?, 16).ok()
    }
}

/// Every thread of process `pid`, in thread id order; `None` once it is
/// gone.
pub fn tasks(pid: Pid) -> Option<Vec<Task>> {
    let mut tasks: Vec<Task> = fs::read_dir(format!("/proc/{pid}/task"))
        .ok()?
        .flatten()
        .filter_map(|entry| {
            task(
                pid,
                Pid::from_raw(entry.file_name().to_str()?.parse().ok()?),
            )
        })
        .collect();
    tasks.sort_by_key(|t| t.tid);
    Some(tasks)
}

/// Thread `tid` of process `pid`; `None` once it is gone.
pub fn task(pid: Pid, tid: Pid) -> Option<Task> {
    let dir = std::path::PathBuf::from(format!("/proc/{pid}/task/{tid}"));
    let status = fs::read_to_string(dir.join("status")).ok()?;
    let field = |name: &str| -> Option<&str> {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
            .map(str::trim)
    };
    let state = field("State")?.chars().next()?;
    let switches = ["voluntary_ctxt_switches", "nonvoluntary_ctxt_switches"]
        .iter()
        .map(|name| field(name).and_then(|n| n.parse::<u64>().ok()))
        .sum::<Option<u64>>()?;
    let syscall = fs::read_to_string(dir.join("syscall"))
        .ok()
        .map(|line| line.trim_end().to_owned());
    Some(Task {
        tid,
        state,
        syscall,
        switches,
    })
}

/// What descriptor `fd` of process `pid` names (`pipe:[N]`, `socket:[N]`
/// or a path); `None` where the kernel does not show it.
pub fn descriptor(pid: Pid, fd: u64) -> Option<std::path::PathBuf> {
    fs::read_link(format!("/proc/{pid}/fd/{fd}")).ok()
}

/// The pid of `pid` in its own PID namespace (the last of `NSpid` in
/// `/proc/PID/status`), which is what the process sees of itself.
pub fn ns_pid(pid: Pid) -> Option<Pid> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("NSpid:"))?;
    let last = line.split_whitespace().last()?;
    Some(Pid::from_raw(last.parse().ok()?))
}

/// Every process on the machine, with its stat.
pub fn processes() -> Vec<(Pid, Stat)> {
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|entry| {
            let pid = Pid::from_raw(entry.file_name().to_str()?.parse().ok()?);
            Some((pid, stat(pid)?))
        })
        .collect()
}

/// The processes whose parent is `parent`.
pub fn children_of(parent: Pid) -> Vec<(Pid, Stat)> {
    processes()
        .into_iter()
        .filter(|(_, s)| s.ppid == parent)
        .collect()
}

/// Every descendant of process `root`, at any depth, by the kernel's
/// account (each thread's `children`), not `root` itself.
pub fn descendants(root: Pid) -> Vec<Pid> {
    let mut found = Vec::new();
    let mut frontier = vec![root];
    while let Some(pid) = frontier.pop() {
        let Ok(tasks) = fs::read_dir(format!("/proc/{pid}/task")) else {
            continue;
        };
        for task in tasks.flatten() {
            let children = fs::read_to_string(task.path().join("children"));
            for child in children.iter().flat_map(|c| c.split_whitespace()) {
                if let Ok(child) = child.parse() {
                    let child = Pid::from_raw(child);
                    if !found.contains(&child) {
                        found.push(child);
                        frontier.push(child);
                    }
                }
            }
        }
    }
    found
}

/// The processes in process group `group`.
pub fn group_members(group: Pid) -> Vec<(Pid, Stat)> {
    processes()
        .into_iter()
        .filter(|(_, s)| s.pgrp == group)
        .collect()
}

/// The members of process group `group` that have ended and are children
/// of this process (orphans it received as a subreaper), to be reaped.
pub fn our_zombies(group: Pid) -> Vec<Pid> {
    let me = nix::unistd::getpid();
    group_members(group)
        .into_iter()
        .filter(|(_, stat)| stat.ppid == me && stat.is_zombie())
        .map(|(pid, _)| pid)
        .collect()
}

/// Kills process group `group` and waits (at most two seconds) for it to
/// be gone, reaping with `reap` each member that comes to this process:
/// the one routine that clears a killed group, for builds and runs alike.
pub fn clear_group(group: Pid, mut reap: impl FnMut(Pid)) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
    loop {
        if group_members(group).is_empty() || std::time::Instant::now() >= deadline {
            return;
        }
        let _ = nix::sys::signal::killpg(group, nix::sys::signal::Signal::SIGKILL);
        for pid in our_zombies(group) {
            reap(pid);
        }
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
}

/// What `pid` is blocked in, from `/proc/PID/syscall`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Blocked {
    /// Waiting for a child to change state (`wait4`, `waitid`).
    InWait,
    /// Waiting on file descriptors (`poll` and its kin), as a pool's parent
    /// does while its workers run.
    InPoll,
    /// Running, or blocked in another call.
    Other,
    /// The kernel does not say (no such file, or not allowed to read it).
    Unknown,
}

/// What `pid` is blocked in right now.
pub fn blocked(pid: Pid) -> Blocked {
    let Ok(text) = fs::read_to_string(format!("/proc/{pid}/syscall")) else {
        return Blocked::Unknown;
    };
    let Some(Ok(number)) = text
        .split_whitespace()
        .next()
        .map(str::parse::<libc::c_long>)
    else {
        return Blocked::Other;
    };
    #[cfg(target_arch = "x86_64")]
    let polls = [
        libc::SYS_poll,
        libc::SYS_ppoll,
        libc::SYS_epoll_pwait,
        libc::SYS_select,
    ];
    #[cfg(not(target_arch = "x86_64"))]
    let polls = [libc::SYS_ppoll, libc::SYS_epoll_pwait];
    if number == libc::SYS_wait4 || number == libc::SYS_waitid {
        Blocked::InWait
    } else if polls.contains(&number) {
        Blocked::InPoll
    } else {
        Blocked::Other
    }
}
