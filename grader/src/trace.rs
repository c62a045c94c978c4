//! Kernel evidence from `ptrace`: every process and thread a program
//! creates, who created it, and how it ended, reported by the kernel as it
//! happens rather than sampled.
//!
//! The program is started with `PTRACE_TRACEME`, so the grader's thread that
//! starts it is its tracer; at its first stop (the `exec`) the grader sets
//! `PTRACE_O_TRACEFORK | TRACEVFORK | TRACECLONE`, so that every task it
//! creates, at any depth, is traced too (even one that leaves the process
//! group or calls `setsid`), plus `TRACEEXEC`, `TRACEEXIT` and `EXITKILL`
//! (if the grader dies, so does the program).
//!
//! Each creation stops the creating task until the grader has recorded it,
//! so nothing can be missed; a new task is a thread when it shares its
//! creator's thread group (`Tgid` in `/proc/TID/status`). A new task also
//! waits at its first stop until the grader lets it go, which is how the
//! number of processes is bounded exactly: past the run's limit, neither the
//! new task nor its creator is let go, and the grader kills them all. A fork
//! bomb therefore stops at the limit, not a tick later.
//!
//! All `ptrace` requests and waits come from the thread that started the
//! program, as the kernel requires of a tracer; the waits use `__WNOTHREAD`
//! so that grading on several threads at once never takes another thread's
//! events.
//!
//! Where tracing is not permitted (a seccomp filter, Yama's
//! `ptrace_scope` = 3, or `GRADER_PTRACE=off`), [`Tracer::spawn`] says why
//! and the grader falls back to the check-ins and `/proc` alone, noting it
//! in the report.

use std::collections::{HashMap, HashSet};
use std::io;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command};

use nix::sys::ptrace::{self, Event, Options};
use nix::sys::signal::{Signal, kill};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::Pid;

/// Set to `off` to grade without `ptrace`, as where it is not permitted.
pub const PTRACE_ENV: &str = "GRADER_PTRACE";

/// How a process ended, as the kernel reported it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// It exited with this code.
    Code(i32),
    /// It was killed by this signal.
    Signal(i32),
}

/// A process the program created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Created {
    /// Its pid.
    pub pid: Pid,
    /// The process that created it.
    pub parent: Pid,
    /// Whether it replaced its program (`exec`), as a spawned child does.
    pub exec: bool,
    /// How it ended, if it has.
    pub exit: Option<Exit>,
}

/// What the kernel reported about a run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Events {
    /// Every process created, in the order the kernel reported them.
    pub processes: Vec<Created>,
    /// Every thread created: (thread id, its process).
    pub threads: Vec<(Pid, Pid)>,
    /// Whether the run tried to create more processes than its limit.
    pub over_limit: bool,
}

impl Events {
    /// The processes whose parent is `parent`.
    pub fn children_of(&self, parent: Pid) -> impl Iterator<Item = &Created> {
        self.processes.iter().filter(move |p| p.parent == parent)
    }

    /// How many threads process `pid` created.
    pub fn threads_of(&self, pid: Pid) -> usize {
        self.threads.iter().filter(|(_, tgid)| *tgid == pid).count()
    }

    /// The process `pid`, if the run created it.
    pub fn process(&self, pid: Pid) -> Option<&Created> {
        self.processes.iter().find(|p| p.pid == pid)
    }
}

/// The tracer of one run. Must stay on the thread that spawned the program.
#[derive(Debug)]
pub struct Tracer {
    main: Pid,
    /// Every live task (thread id) and its process.
    tasks: HashMap<Pid, Pid>,
    /// Tasks that have had their first stop.
    started: HashSet<Pid>,
    limit: usize,
    /// Set once every task has been sent SIGKILL: stopped tasks are let go
    /// to die.
    killing: bool,
    events: Events,
}

impl Tracer {
    /// Starts `command` traced, allowing it at most `limit` processes
    /// besides itself. `Err` says why tracing is not possible here; the
    /// program was not started then.
    pub fn spawn(command: &mut Command, limit: usize) -> Result<(Tracer, Child), String> {
        if std::env::var(PTRACE_ENV).is_ok_and(|v| v == "off") {
            return Err(format!("{PTRACE_ENV}=off"));
        }
        // SAFETY: the closure runs in the child between fork and exec, where
        // only async-signal-safe calls are allowed: it makes one system call
        // and allocates nothing.
        unsafe {
            command.pre_exec(|| ptrace::traceme().map_err(io::Error::from));
        }
        let child = command
            .spawn()
            .map_err(|e| format!("PTRACE_TRACEME failed: {e}"))?;
        let main = Pid::from_raw(i32::try_from(child.id()).expect("pids fit in i32"));
        let tracer = Tracer {
            main,
            tasks: HashMap::from([(main, main)]),
            started: HashSet::from([main]),
            limit,
            killing: false,
            events: Events::default(),
        };
        // The first stop is the SIGTRAP of the exec that has just happened.
        let options = Options::PTRACE_O_TRACEFORK
            | Options::PTRACE_O_TRACEVFORK
            | Options::PTRACE_O_TRACECLONE
            | Options::PTRACE_O_TRACEEXEC
            | Options::PTRACE_O_TRACEEXIT
            | Options::PTRACE_O_EXITKILL;
        match waitpid(main, Some(WaitPidFlag::__WALL)) {
            Ok(WaitStatus::Stopped(_, Signal::SIGTRAP)) => {
                let set = ptrace::setoptions(main, options).and_then(|()| ptrace::cont(main, None));
                if let Err(errno) = set {
                    let _ = kill(main, Signal::SIGKILL);
                    let _ = waitpid(main, Some(WaitPidFlag::__WALL));
                    return Err(format!("PTRACE_SETOPTIONS failed: {errno}"));
                }
            }
            other => {
                let _ = kill(main, Signal::SIGKILL);
                let _ = waitpid(main, Some(WaitPidFlag::__WALL));
                return Err(format!("the program did not stop at exec: {other:?}"));
            }
        }
        Ok((tracer, child))
    }

    /// Handles every event pending now, letting each stopped task go on;
    /// returns how the main process ended, once it has (and is reaped).
    pub fn poll(&mut self) -> Option<Exit> {
        let mut ended = None;
        loop {
            let flags = WaitPidFlag::WNOHANG | WaitPidFlag::__WALL | WaitPidFlag::__WNOTHREAD;
            match waitpid(None, Some(flags)) {
                Ok(WaitStatus::StillAlive) | Err(_) => return ended,
                Ok(status) => {
                    if let Some(exit) = self.handle(status) {
                        ended = Some(exit);
                    }
                }
            }
        }
    }

    /// What the kernel has reported so far.
    pub fn events(&self) -> &Events {
        &self.events
    }

    /// The processes created and not yet ended.
    pub fn alive(&self) -> Vec<Pid> {
        self.events
            .processes
            .iter()
            .filter(|p| p.exit.is_none() && self.tasks.contains_key(&p.pid))
            .map(|p| p.pid)
            .collect()
    }

    /// Sends SIGKILL to every traced task and lets the stopped ones go, so
    /// that they die (a task stopped by the tracer does not die of a
    /// SIGKILL until it is let go).
    pub fn kill_all(&mut self) {
        self.killing = true;
        for &tid in self.tasks.keys() {
            let _ = kill(tid, Signal::SIGKILL);
            let _ = ptrace::cont(tid, None);
        }
    }

    /// Kills every traced task and waits for each to be reported gone
    /// (bounded); returns the events.
    pub fn finish(mut self) -> Events {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
        while !self.tasks.is_empty() && std::time::Instant::now() < deadline {
            self.kill_all();
            self.poll();
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        // A process whose parent died first was handed to the grader (a
        // subreaper) as a zombie; the tracer has seen it end, so reaping it
        // now takes nothing the tracer needs.
        for process in &self.events.processes {
            let _ = waitpid(
                process.pid,
                Some(WaitPidFlag::WNOHANG | WaitPidFlag::__WALL),
            );
        }
        self.events
    }

    /// Reaps `pid`, a child of the grader, if it has ended (or handles the
    /// stop it is in), as an event like any other.
    pub fn reap(&mut self, pid: Pid) {
        match waitpid(pid, Some(WaitPidFlag::WNOHANG | WaitPidFlag::__WALL)) {
            Ok(WaitStatus::StillAlive) | Err(_) => {}
            Ok(status) => {
                self.handle(status);
            }
        }
    }

    /// Whether a stopped task may go on: not once the limit is passed,
    /// unless it goes on to die.
    fn runs_on(&self) -> bool {
        !self.events.over_limit || self.killing
    }

    fn handle(&mut self, status: WaitStatus) -> Option<Exit> {
        match status {
            WaitStatus::Exited(pid, code) => self.gone(pid, Exit::Code(code)),
            WaitStatus::Signaled(pid, signal, _) => self.gone(pid, Exit::Signal(signal as i32)),
            WaitStatus::PtraceEvent(pid, _, event) => {
                self.event(pid, event);
                None
            }
            WaitStatus::Stopped(pid, signal) => {
                if self.started.insert(pid) && signal == Signal::SIGSTOP {
                    // A new task's first stop: it runs once its creation is
                    // recorded and allowed.
                    self.tasks.entry(pid).or_insert(pid);
                    if self.runs_on() {
                        let _ = ptrace::cont(pid, None);
                    }
                } else if matches!(ptrace::getsiginfo(pid), Err(nix::errno::Errno::EINVAL)) {
                    // A group-stop (the program stopped itself): go on, or
                    // its timeout would be spent stopped.
                    let _ = ptrace::cont(pid, None);
                } else {
                    // A signal for the program: deliver it.
                    let _ = ptrace::cont(pid, signal);
                }
                None
            }
            _ => None,
        }
    }

    fn event(&mut self, pid: Pid, event: i32) {
        let tgid = self.tasks.get(&pid).copied().unwrap_or(pid);
        let fork = event == Event::PTRACE_EVENT_FORK as i32
            || event == Event::PTRACE_EVENT_VFORK as i32
            || event == Event::PTRACE_EVENT_CLONE as i32;
        if fork && let Ok(new) = ptrace::getevent(pid) {
            let new = Pid::from_raw(i32::try_from(new).unwrap_or(0));
            if event == Event::PTRACE_EVENT_CLONE as i32 && thread_group(new) == Some(tgid) {
                self.tasks.insert(new, tgid);
                self.events.threads.push((new, tgid));
            } else {
                self.tasks.insert(new, new);
                self.events.processes.push(Created {
                    pid: new,
                    parent: tgid,
                    exec: false,
                    exit: None,
                });
                if self.events.processes.len() > self.limit {
                    // Neither the creator nor the new process runs again.
                    self.events.over_limit = true;
                }
            }
        } else if event == Event::PTRACE_EVENT_EXEC as i32 {
            if let Some(p) = self.events.processes.iter_mut().find(|p| p.pid == tgid) {
                p.exec = true;
            }
        } else if event == Event::PTRACE_EVENT_EXIT as i32
            && pid == tgid
            && let Ok(raw) = ptrace::getevent(pid)
        {
            let raw = i32::try_from(raw).unwrap_or(0);
            let exit = if libc::WIFSIGNALED(raw) {
                Exit::Signal(libc::WTERMSIG(raw))
            } else {
                Exit::Code(libc::WEXITSTATUS(raw))
            };
            self.record_exit(pid, exit);
        }
        if self.runs_on() {
            let _ = ptrace::cont(pid, None);
        }
    }

    /// Task `pid` is gone; returns its exit when it is the main process.
    fn gone(&mut self, pid: Pid, exit: Exit) -> Option<Exit> {
        let tgid = self.tasks.remove(&pid).unwrap_or(pid);
        if pid == tgid {
            self.record_exit(pid, exit);
        }
        (pid == self.main).then_some(exit)
    }

    fn record_exit(&mut self, pid: Pid, exit: Exit) {
        if let Some(p) = self.events.processes.iter_mut().find(|p| p.pid == pid) {
            p.exit.get_or_insert(exit);
        }
    }
}

/// The thread group (process) task `tid` belongs to, from `/proc`.
fn thread_group(tid: Pid) -> Option<Pid> {
    let status = std::fs::read_to_string(format!("/proc/{tid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("Tgid:"))?;
    Some(Pid::from_raw(line["Tgid:".len()..].trim().parse().ok()?))
}
