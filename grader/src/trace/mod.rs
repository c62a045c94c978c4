//! Kernel evidence from `ptrace`: every process and thread a program
//! creates, who created it, and how it ended, reported by the kernel as it
//! happens rather than sampled.
//!
//! The grader's thread that grades a run attaches to the program with
//! `PTRACE_SEIZE` before it executes the exercise (see
//! [`sandbox`](crate::sandbox)), with `PTRACE_O_TRACEFORK | TRACEVFORK |
//! TRACECLONE`, so that every task it creates, at any depth, is traced too
//! (even one that leaves the process group or calls `setsid`), plus
//! `TRACEEXEC`, `TRACESECCOMP`, `TRACESYSGOOD` and `EXITKILL` (if the
//! grader dies, so does the program). A process has ended when the kernel
//! reports its main thread gone, which it does only once every thread of
//! the process has ended: a main thread that exits alone leaves a process
//! that is still running. The filter refuses
//! `CLONE_UNTRACED`, so no task can leave the tracer.
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
//! `ptrace_scope` = 3, or `GRADER_PTRACE=off`), [`Tracer::seize`] says why
//! and the grader falls back to the check-ins and `/proc` alone, noting it
//! in the report.
//!
//! # Who wrote what
//!
//! The run's [seccomp filter](crate::sandbox::seccomp) sends every call of
//! the write family on descriptor 1 to the tracer
//! (`PTRACE_EVENT_SECCOMP`). When that descriptor is the run's stdout (by
//! its inode, in `/proc/TID/fd`), the tracer lets the call run to its exit
//! (`PTRACE_SYSCALL`), one such call at a time, reads how many bytes it
//! wrote, and copies those bytes from the writer's memory
//! (`process_vm_readv`): [`Events::writes`] says, by the kernel's account
//! and in the order the bytes entered the stream, which process wrote each
//! byte of stdout (`writes.rs` tells how).
//!
//! For a run whose facts need it, the filter also stops `socketpair` and
//! the calls that move bytes through other descriptors, and the tracer
//! records what crossed each socket pair the run made, and by which
//! process (`messages.rs`).
//!
//! # Where things are
//!
//! This file: attaching and the event loop ([`Tracer`]); `events.rs`: what
//! is recorded ([`Events`]); `writes.rs`: the writes, from their seccomp
//! stop to the bytes copied; `queues.rs`: what the processes had taken
//! out of queues at each write, `puts.rs`: who put each value in,
//! `messages.rs`: what crossed the socket pairs, `values.rs`: whether
//! each update of a shared value was protected (`watch.rs` and
//! `registers.rs` set the debug registers these two watch with), and
//! `holds.rs`: whether the processes waited for one held back, for the
//! facts about data.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use nix::sys::ptrace::{self, Event, Options};
use nix::sys::signal::{Signal, kill};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::Pid;

pub use crate::ending::Ending;

mod events;
mod holds;
mod maps;
mod messages;
mod puts;
mod queues;
mod registers;
mod values;
mod watch;
mod writes;

pub use events::{Created, Events, HeldLine, Message, Race, Taken, Unjoined, Written};
pub use messages::MESSAGES_CAP;
pub use writes::WRITTEN_CAP;

/// The longest [`Tracer::poll`] handles events before it returns.
pub const SLICE: Duration = Duration::from_millis(2);

/// Set to `off` to grade without `ptrace`, as where it is not permitted.
pub const PTRACE_ENV: &str = "GRADER_PTRACE";

/// Whether tracing is wanted: not with `GRADER_PTRACE=off`.
pub fn wanted() -> bool {
    std::env::var(PTRACE_ENV).map_or(true, |v| v != "off")
}

/// The tracer of one run. Must stay on the thread that attached.
#[derive(Debug)]
pub struct Tracer {
    main: Pid,
    /// Every live task (thread id) and its process.
    tasks: HashMap<Pid, Pid>,
    /// Tasks that have had their first stop.
    started: HashSet<Pid>,
    /// Tasks whose creation the kernel has reported (by their creator).
    announced: HashSet<Pid>,
    /// Tasks at their first stop whose creation has not been reported
    /// yet: they wait for it, so that each is counted before it runs.
    unannounced: HashSet<Pid>,
    /// Tasks that ended before their creation was reported.
    ended_early: HashMap<Pid, Ending>,
    limit: usize,
    /// Set once every task has been sent SIGKILL: stopped tasks are let go
    /// to die.
    killing: bool,
    events: Events,
    /// The name of the run's stdout (the program's end of its socket) in
    /// `/proc/PID/fd`, `socket:[INODE]`: the writes to it are attributed.
    stdout: String,
    /// The writes to stdout on their way, one running at a time.
    queue: writes::Queue,
    /// How many events the last [`Tracer::poll`] handled.
    handled: usize,
    /// The queues followed, when the run's facts need them.
    queues: Option<queues::Queues>,
    /// The values watched, when the run's facts need them.
    values: Option<values::Values>,
    /// The socket pairs followed, when the run's facts need them.
    messages: Option<messages::Messages>,
    /// The first child's line held, when the run's facts need it.
    holds: Option<holds::Holds>,
    /// The queues' writers watched, when the run's facts need them.
    puts: Option<puts::Puts>,
    /// The tasks whose shared `mmap` runs to its exit.
    mapping: watch::Mapping,
}

impl Tracer {
    /// Attaches to `main`, which has not executed the exercise yet, with
    /// every option above, allowing the run at most `limit` processes
    /// besides itself; writes to the socket `/proc/PID/fd` names `stdout` are
    /// attributed. `Err` says why tracing is not possible here.
    pub fn seize(main: Pid, limit: usize, stdout: String) -> Result<Tracer, String> {
        if !wanted() {
            return Err(format!("{PTRACE_ENV}=off"));
        }
        let options = Options::PTRACE_O_TRACEFORK
            | Options::PTRACE_O_TRACEVFORK
            | Options::PTRACE_O_TRACECLONE
            | Options::PTRACE_O_TRACEEXEC
            | Options::PTRACE_O_TRACESECCOMP
            | Options::PTRACE_O_TRACESYSGOOD
            | Options::PTRACE_O_EXITKILL;
        ptrace::seize(main, options).map_err(|e| format!("PTRACE_SEIZE failed: {e}"))?;
        Ok(Tracer {
            main,
            tasks: HashMap::from([(main, main)]),
            started: HashSet::from([main]),
            announced: HashSet::from([main]),
            unannounced: HashSet::new(),
            ended_early: HashMap::new(),
            limit,
            killing: false,
            events: Events::default(),
            stdout,
            queue: writes::Queue::default(),
            handled: 0,
            queues: None,
            values: None,
            puts: None,
            mapping: watch::Mapping::default(),
            messages: None,
            holds: None,
        })
    }

    /// Handles the events pending now, letting each stopped task go on,
    /// for at most [`SLICE`] (a program can make events faster than they
    /// are handled; the caller must get back to its clock); returns how the
    /// main process ended, once it has (and is reaped).
    pub fn poll(&mut self) -> Option<Ending> {
        let ended = self.poll_events();
        self.release_held();
        self.release_held_line();
        ended
    }

    /// [`Tracer::poll`]'s events.
    fn poll_events(&mut self) -> Option<Ending> {
        let mut ended = None;
        let start = Instant::now();
        self.handled = 0;
        loop {
            if self.handled % 64 == 63 && start.elapsed() >= SLICE {
                return ended;
            }
            let flags = WaitPidFlag::WNOHANG | WaitPidFlag::__WALL | WaitPidFlag::__WNOTHREAD;
            match waitpid(None, Some(flags)) {
                Ok(WaitStatus::StillAlive) | Err(_) => return ended,
                Ok(status) => {
                    self.handled += 1;
                    if let Some(exit) = self.handle(status) {
                        ended = Some(exit);
                    }
                }
            }
        }
    }

    /// Whether the last [`Tracer::poll`] handled any event.
    pub fn busy(&self) -> bool {
        self.handled > 0
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
        for &tid in self.tasks.keys().chain(&self.unannounced) {
            let _ = kill(tid, Signal::SIGKILL);
            let _ = ptrace::cont(tid, None);
        }
    }

    /// Kills every traced task and waits, until `by` at most, for each to
    /// be reported gone; returns the events.
    pub fn finish(mut self, by: Instant) -> Events {
        while !self.tasks.is_empty() && Instant::now() < by {
            self.kill_all();
            self.poll();
            std::thread::sleep(Duration::from_millis(1));
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

    fn handle(&mut self, status: WaitStatus) -> Option<Ending> {
        if let Some(tid) = status.pid()
            && !matches!(status, WaitStatus::Exited(..) | WaitStatus::Signaled(..))
        {
            // Stopped: armed now if it was interrupted for it.
            self.arm_stopped(tid);
        }
        match status {
            WaitStatus::Exited(pid, code) => self.gone(pid, Ending::Exited(code)),
            WaitStatus::Signaled(pid, signal, _) => self.gone(pid, Ending::Signaled(signal as i32)),
            WaitStatus::PtraceEvent(pid, _, event) if event == libc::PTRACE_EVENT_STOP => {
                // A new task's first stop (attached by SEIZE), or a
                // group-stop: either way it goes on, unless past the limit.
                if self.started.insert(pid) {
                    self.arm_task(pid, false);
                    self.first_stop(pid);
                } else {
                    let _ = ptrace::cont(pid, None);
                }
                None
            }
            WaitStatus::PtraceEvent(pid, _, event) if event == libc::PTRACE_EVENT_SECCOMP => {
                if !self.map_called(pid) && !self.message_called(pid) && !self.sleep_called(pid) {
                    self.write_called(pid);
                }
                None
            }
            WaitStatus::PtraceEvent(pid, _, event) => {
                self.event(pid, event);
                None
            }
            WaitStatus::PtraceSyscall(pid) => {
                if !self.map_returned(pid)
                    && !self.message_returned(pid)
                    && !self.sleep_returned(pid)
                {
                    self.write_returned(pid);
                }
                None
            }
            WaitStatus::Stopped(pid, signal) => {
                if self.started.insert(pid) && signal == Signal::SIGSTOP {
                    self.arm_task(pid, false);
                    self.first_stop(pid);
                } else if signal == Signal::SIGTRAP && self.watch_stopped(pid) {
                    // A watchpoint on a shared value, not the program's.
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

    /// A new task's first stop: it runs once its creation is recorded (its
    /// creator's event may come after this stop) and allowed.
    fn first_stop(&mut self, pid: Pid) {
        if !self.announced.contains(&pid) {
            self.unannounced.insert(pid);
        } else if self.runs_on() {
            let _ = ptrace::cont(pid, None);
        }
    }

    fn event(&mut self, pid: Pid, event: i32) {
        let tgid = self.tasks.get(&pid).copied().unwrap_or(pid);
        let fork = event == Event::PTRACE_EVENT_FORK as i32
            || event == Event::PTRACE_EVENT_VFORK as i32
            || event == Event::PTRACE_EVENT_CLONE as i32;
        if fork && let Ok(new) = ptrace::getevent(pid) {
            let new = Pid::from_raw(i32::try_from(new).unwrap_or(0));
            self.announced.insert(new);
            let early = self.ended_early.remove(&new);
            // A clone without SIGCHLD is a thread (pthread_create); a thread
            // that already ended has no /proc entry left to ask.
            let thread = event == Event::PTRACE_EVENT_CLONE as i32
                && thread_group(new).is_none_or(|group| group == tgid);
            if thread {
                if early.is_none() {
                    self.tasks.insert(new, tgid);
                }
                self.events.threads.push((new, tgid));
            } else {
                if early.is_none() {
                    self.tasks.insert(new, new);
                }
                // The kernel's parent: the creator, unless it cloned with
                // CLONE_PARENT (as a fork server does), which gives the new
                // process its creator's parent.
                let parent = crate::procfs::stat(new).map_or(tgid, |stat| stat.ppid);
                self.events.processes.push(Created {
                    pid: new,
                    parent,
                    exec: false,
                    shares_memory: same_memory(pid, new),
                    exit: early,
                    ended_after: early.map(|_| self.events.processes.len() + 1),
                });
                if self.events.processes.len() > self.limit {
                    // Neither the creator nor the new process runs again.
                    self.events.over_limit = true;
                }
            }
            if self.unannounced.remove(&new) && self.runs_on() {
                let _ = ptrace::cont(new, None);
            }
        } else if event == Event::PTRACE_EVENT_EXEC as i32
            && let Some(p) = self.events.processes.iter_mut().find(|p| p.pid == tgid)
        {
            p.exec = true;
        }
        if self.runs_on() {
            let _ = ptrace::cont(pid, None);
        }
    }

    /// Task `pid` is gone; returns its exit when it is the main process.
    fn gone(&mut self, pid: Pid, exit: Ending) -> Option<Ending> {
        self.unannounced.remove(&pid);
        self.unarmed_gone(pid);
        self.write_gone(pid);
        self.message_gone(pid);
        self.hold_gone(pid);
        if !self.announced.contains(&pid) {
            // Its creator's event is still to come: keep its end for it.
            self.ended_early.insert(pid, exit);
        }
        let tgid = self.tasks.remove(&pid).unwrap_or(pid);
        if pid == tgid {
            self.record_exit(pid, exit);
        }
        (pid == self.main).then_some(exit)
    }

    fn record_exit(&mut self, pid: Pid, exit: Ending) {
        let created = self.events.processes.len();
        if let Some(p) = self.events.processes.iter_mut().find(|p| p.pid == pid) {
            p.exit.get_or_insert(exit);
            p.ended_after.get_or_insert(created);
        }
    }
}

/// Whether tasks `a` and `b` share one address space, as threads do (and
/// a process made with `CLONE_VM`, or by `vfork` until it executes), by the
/// kernel's comparison (`kcmp`); `false` where the kernel cannot say.
fn same_memory(a: Pid, b: Pid) -> bool {
    /// `KCMP_VM` of `linux/kcmp.h`.
    const KCMP_VM: libc::c_long = 1;
    // SAFETY: kcmp compares two tasks' kernel objects; it reads no memory
    // of ours.
    let order = unsafe {
        libc::syscall(
            libc::SYS_kcmp,
            libc::c_long::from(a.as_raw()),
            libc::c_long::from(b.as_raw()),
            KCMP_VM,
            0,
            0,
        )
    };
    order == 0
}

/// The thread group (process) task `tid` belongs to, from `/proc`.
fn thread_group(tid: Pid) -> Option<Pid> {
    let status = std::fs::read_to_string(format!("/proc/{tid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("Tgid:"))?;
    Some(Pid::from_raw(line["Tgid:".len()..].trim().parse().ok()?))
}
