//! Where each process of a run was when its time ran out: the call each
//! of its threads was blocked in, read from `/proc` before the run is
//! killed, so that a timeout says what every process was waiting for (a
//! join, data from a pipe, a lock) rather than only that it took too long.
//!
//! The call comes from `/proc/PID/task/TID/syscall` (its number, named by
//! the `syscalls` crate; for a read or a write, the descriptor it names,
//! from `/proc/PID/fd`). The kernel shows those only to a tracer's peer:
//! where it does not (an ordinary user is not always shown them), the
//! thread's state from `/proc/PID/task/TID/stat`, which anyone may read,
//! says whether it ran, slept in the kernel or was stopped, and the place
//! says that the call was not shown.

use std::fmt;
use std::time::{Duration, Instant};

use nix::unistd::Pid;

use crate::procfs;

/// One process of a run at its timeout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stuck {
    /// The process.
    pub pid: Pid,
    /// Where its main thread was.
    pub main_thread: Place,
    /// Where each of its other threads was, in thread id order.
    pub other_threads: Vec<Place>,
    /// Whether the grader held it at its check-in then.
    pub held: bool,
}

/// Where a thread was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Place {
    /// Blocked in system call `call` (its name), on what its first
    /// argument names where that is a descriptor the kernel showed.
    Call {
        /// The call's name, `read`, `wait4`, ...
        call: String,
        /// What its descriptor is, for calls on one: `a pipe`, ...
        on: Option<String>,
    },
    /// Running on a CPU or ready to (in no system call).
    Running,
    /// Blocked, but in no system call (a page fault, a stop).
    OutsideCalls,
    /// Stopped by a signal, or by the grader's tracer.
    Stopped {
        /// Whether the tracer stopped it (a write on its way to stdout).
        by_tracer: bool,
    },
    /// Ended, and not yet reaped by its parent.
    Ended,
    /// Asleep in the kernel; which call, the kernel did not show.
    AsleepUnshown {
        /// Whether the sleep cannot be interrupted (state `D`).
        deep: bool,
    },
    /// Gone before it could be read.
    Gone,
}

/// How many more looks a thread found on a CPU gets, a millisecond apart:
/// one that waits, but woke a moment to look around (a barrier's waiters
/// do, every 50 ms, and a lock's every 10 ms), is then found waiting,
/// even on a loaded machine where it may wait tens of milliseconds for a
/// CPU before it goes back to sleep.
const LOOKS_AGAIN: usize = 50;

/// The most time all those looks may take in one snapshot: a program that
/// truly runs (a loop) costs its verdict this much, within the grace the
/// deadline allows.
const LOOKING: Duration = Duration::from_millis(200);

/// Where each of `pids` is now, `held` naming those held at check-in.
pub(super) fn snapshot(pids: &[Pid], held: &[Pid]) -> Vec<Stuck> {
    let mut pids = pids.to_vec();
    pids.sort();
    pids.dedup();
    let until = Instant::now() + LOOKING;
    pids.into_iter()
        .filter_map(|pid| {
            let tasks = procfs::tasks(pid)?;
            let mut places = tasks.iter().map(|task| {
                let mut seen = place(pid, task);
                for _ in 0..LOOKS_AGAIN {
                    if seen != Place::Running || Instant::now() >= until {
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(1));
                    if let Some(again) = procfs::task(pid, task.tid) {
                        seen = place(pid, &again);
                    }
                }
                seen
            });
            let main_thread = places.next().unwrap_or(Place::Gone);
            Some(Stuck {
                pid,
                main_thread,
                other_threads: places.collect(),
                held: held.contains(&pid),
            })
        })
        .collect()
}

/// Where thread `task` of process `pid` is.
fn place(pid: Pid, task: &procfs::Task) -> Place {
    match task.state {
        'Z' | 'X' => return Place::Ended,
        't' => return Place::Stopped { by_tracer: true },
        'T' => return Place::Stopped { by_tracer: false },
        _ => {}
    }
    let Some(syscall) = task.syscall.as_deref() else {
        return match task.state {
            'R' => Place::Running,
            state => Place::AsleepUnshown { deep: state == 'D' },
        };
    };
    let mut fields = syscall.split_whitespace();
    let Some(number) = fields.next() else {
        return Place::Gone;
    };
    if number == "running" {
        return Place::Running;
    }
    let Some(number) = number.parse::<usize>().ok() else {
        // `-1`: blocked, but in no call.
        return Place::OutsideCalls;
    };
    let call = syscalls::Sysno::new(number)
        .map_or_else(|| format!("system call {number}"), |s| s.name().to_owned());
    let on = task
        .argument(0)
        .filter(|_| on_descriptor(&call))
        .and_then(|fd| descriptor_kind(pid, fd));
    Place::Call { call, on }
}

/// Whether `call` takes a descriptor first, and waits on it.
fn on_descriptor(call: &str) -> bool {
    matches!(
        call,
        "read"
            | "readv"
            | "pread64"
            | "write"
            | "writev"
            | "pwrite64"
            | "recvfrom"
            | "recvmsg"
            | "sendto"
            | "sendmsg"
            | "accept"
            | "accept4"
            | "connect"
            | "flock"
    )
}

/// What descriptor `fd` of `pid` is, in words: `a pipe`, `a socket`, or
/// the file's path; `None` where the kernel does not show it.
fn descriptor_kind(pid: Pid, fd: u64) -> Option<String> {
    let target = procfs::descriptor(pid, fd)?;
    let target = target.to_string_lossy();
    Some(if target.starts_with("pipe:") {
        "a pipe".to_owned()
    } else if target.starts_with("socket:") {
        "a socket".to_owned()
    } else {
        target.into_owned()
    })
}

/// What a thread blocked in `call` is doing, for a student.
fn gloss(call: &str) -> Option<&'static str> {
    Some(match call {
        "read" | "readv" | "pread64" | "recvfrom" | "recvmsg" => {
            "waiting for data that never came (a get or a recv that nothing answers?)"
        }
        "write" | "writev" | "pwrite64" | "sendto" | "sendmsg" => {
            "waiting for room to write (does any process read the other end?)"
        }
        "wait4" | "waitid" => "waiting for a child process to end (a join)",
        "futex" => "waiting on a lock, a barrier, an event or another thread",
        "poll" | "ppoll" | "select" | "pselect6" | "epoll_wait" | "epoll_pwait" => {
            "waiting for one of several descriptors"
        }
        "nanosleep" | "clock_nanosleep" => "sleeping",
        "pause" | "rt_sigsuspend" | "rt_sigtimedwait" => "waiting for a signal",
        "accept" | "accept4" => "waiting for a connection",
        _ => return None,
    })
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Place::Call { call, on } => {
                write!(f, "blocked in {call}")?;
                if let Some(on) = on {
                    write!(f, " on {on}")?;
                }
                if let Some(gloss) = gloss(call) {
                    write!(f, ", {gloss}")?;
                }
                Ok(())
            }
            Place::Running => f.write_str("running, in no system call (a loop that never ends?)"),
            Place::OutsideCalls => f.write_str("blocked outside any system call"),
            Place::Stopped { by_tracer: true } => {
                f.write_str("stopped by the grader's tracer, at a call it was checking")
            }
            Place::Stopped { by_tracer: false } => f.write_str("stopped by a signal"),
            Place::Ended => f.write_str("ended, not yet reaped by its parent"),
            Place::AsleepUnshown { deep } => write!(
                f,
                "asleep in the kernel{} (which call, the kernel did not show the grader)",
                if *deep { ", uninterruptibly" } else { "" }
            ),
            Place::Gone => f.write_str("gone"),
        }
    }
}

impl fmt::Display for Stuck {
    /// Where the process was: its main thread, then its other threads,
    /// alike ones counted together.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.held {
            // Its call is the grader's doing, not the program's.
            f.write_str(
                "held at its start by the grader, which lets the children go once they have \
                 all started and the main process waits for them",
            )?;
        } else {
            write!(f, "{}", self.main_thread)?;
        }
        let mut others: Vec<(String, usize)> = Vec::new();
        for place in &self.other_threads {
            let place = place.to_string();
            match others.iter_mut().find(|(seen, _)| *seen == place) {
                Some((_, count)) => *count += 1,
                None => others.push((place, 1)),
            }
        }
        for (place, count) in others {
            let threads = if count == 1 { "thread" } else { "threads" };
            write!(f, "; {count} other {threads} {place}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(state: char, syscall: Option<&str>) -> procfs::Task {
        procfs::Task {
            tid: Pid::from_raw(1),
            state,
            syscall: syscall.map(str::to_owned),
            switches: 0,
        }
    }

    #[test]
    fn a_call_is_named_and_explained() {
        let wait = format!(
            "{} 0xffffffff 0x7ffc 0x0 0x0 0x0 0x0 0x7ffc 0x7f00",
            libc::SYS_wait4
        );
        let place = place(Pid::from_raw(1), &task('S', Some(&wait)));
        assert_eq!(
            place.to_string(),
            "blocked in wait4, waiting for a child process to end (a join)"
        );
        let running = place_of('R', Some("running"));
        assert!(
            running.starts_with("running, in no system call"),
            "{running}"
        );
        assert_eq!(
            place_of('S', Some("-1 0x7ffc 0x7f00")),
            "blocked outside any system call"
        );
    }

    #[test]
    fn where_the_call_is_not_shown_the_state_says_what_it_can() {
        assert!(place_of('S', None).starts_with("asleep in the kernel (which call"));
        assert!(place_of('D', None).starts_with("asleep in the kernel, uninterruptibly"));
        assert!(place_of('R', None).starts_with("running"));
        assert_eq!(
            place_of('t', None),
            "stopped by the grader's tracer, at a call it was checking"
        );
        assert_eq!(place_of('Z', None), "ended, not yet reaped by its parent");
    }

    #[test]
    fn threads_alike_are_counted_together() {
        let futex = Place::Call {
            call: "futex".to_owned(),
            on: None,
        };
        let stuck = Stuck {
            pid: Pid::from_raw(7),
            main_thread: Place::Running,
            other_threads: vec![futex.clone(), futex, Place::Running],
            held: false,
        };
        let text = stuck.to_string();
        assert!(
            text.contains("; 2 other threads blocked in futex"),
            "{text}"
        );
        assert!(
            text.ends_with("; 1 other thread running, in no system call (a loop that never ends?)"),
            "{text}"
        );
    }

    fn place_of(state: char, syscall: Option<&str>) -> String {
        place(Pid::from_raw(1), &task(state, syscall)).to_string()
    }
}
