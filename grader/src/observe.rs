//! Runs one exercise binary and records what it did, as the kernel saw it.
//!
//! # How processes are observed
//!
//! The binary runs in a process group of its own, with stdin closed and
//! stdout and stderr captured. `common` makes every process it creates check
//! in on a Unix socket named by [`common::CHECKIN_ENV`] before running
//! anything; the grader learns each one's pid from the kernel
//! (`SO_PEERCRED`) and its parent from `/proc`, so a program that only
//! prints, or runs threads, cannot pass for one that creates processes.
//! `start` returns in the parent only after the grader has looked the child
//! up, so even a parent that exits at once cannot orphan a child before its
//! parentage is recorded.
//!
//! Where the kernel permits it, the program also runs under `ptrace`
//! ([`trace`](mod@crate::trace)): every process and thread it creates, at any
//! depth, is reported by the kernel as it is created, with its parent and
//! how it ended. That is the evidence that it made processes, not threads,
//! even for processes that never check in, and it bounds how many processes
//! a run may create ([`PROCESS_LIMIT`]): a fork bomb is stopped at the limit.
//! Where tracing is not permitted the report says so, and the check-ins and
//! `/proc` are the evidence (the limit is then enforced by counting the
//! process group every tick).
//!
//! # How concurrency and ordering are shown without a stopwatch
//!
//! The grader holds every checked-in process at the socket (it answers
//! later). When as many as the run expects are held at once, they were alive
//! at the same time: that is the proof of concurrency. When the run says the
//! main process must wait for its children, the grader also keeps holding
//! them until `/proc/PID/syscall` shows the main process blocked in `wait4`
//! or `waitid`. Whatever the main process printed before joining is then
//! already in the pipe before any child has printed a byte, so printing the
//! final line too early is caught every time, not just when the scheduler
//! happens to run the parent first.
//!
//! When the main process is blocked waiting while every child it has is held
//! and fewer than expected have checked in, nothing can move again (it waits
//! for a child that waits for the grader): the grader lets them all go and
//! records that the children were not all alive at once.
//!
//! # How nothing is left behind
//!
//! The grader makes itself a child subreaper, so processes orphaned by the
//! exercise become its children rather than init's. When the main process
//! has exited (or the timeout killed its group), whatever is still running
//! in the group a second later is recorded as a leftover, killed and reaped.
//! Processes still held at the socket then are not let go. `common` has the
//! kernel kill every child whose parent dies, so its processes never linger;
//! the second only bounds the wait for them to finish dying.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::fd::AsFd;
use std::os::unix::net::{UnixListener, UnixStream};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, PoisonError, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, killpg};
use nix::sys::socket::{getsockopt, sockopt};
use nix::sys::wait::waitpid;
use nix::unistd::{Pid, getpid};

use crate::error::Error;
use crate::exercises::Run;
use crate::kernel::{self, Blocked};
use crate::trace::{self, Events, Tracer};

/// How much of each output stream is kept; the rest is read and counted.
pub const OUTPUT_CAP: usize = 1 << 20;

/// How often the grader looks at the running program.
const TICK: Duration = Duration::from_millis(1);

/// How long, after the program has ended, its output pipes may stay open.
const DRAIN: Duration = Duration::from_secs(2);

/// How long the output pipes may take to close once the run's group is gone,
/// before the grader looks for a process elsewhere that holds them.
const PIPE_GRACE: Duration = Duration::from_millis(50);

/// How many processes a run may create, at any depth, before the grader
/// stops it as a fork bomb. The exercises need at most a few dozen.
pub const PROCESS_LIMIT: usize = 256;

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// The main process exited with this code.
    Exited(i32),
    /// The main process was killed by this signal.
    Signaled(i32),
    /// The run outlived its timeout and its process group was killed.
    TimedOut(Duration),
    /// The run tried to create more than this many processes and was
    /// killed.
    TooManyProcesses(usize),
}

/// A process that checked in, as the kernel describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckIn {
    /// Its pid, from `SO_PEERCRED`.
    pub pid: Pid,
    /// Its parent, from `/proc` while it was held.
    pub ppid: Option<Pid>,
    /// The name it gave, such as `Process-1`.
    pub label: String,
}

/// Why the held processes were let go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Release {
    /// As many as expected were held at once (and the main process was
    /// waiting, when the run asks for that).
    AllHeld,
    /// The main process waited while fewer than expected were held.
    Stalled,
    /// The main process exited first; they were killed with the rest of
    /// its group.
    MainExited,
    /// The timeout struck first.
    TimedOut,
}

/// Output captured from one stream.
#[derive(Debug, Clone, Default)]
pub struct Captured {
    /// The first [`OUTPUT_CAP`] bytes.
    pub bytes: Vec<u8>,
    /// How many bytes were written in all.
    pub total: u64,
}

impl Captured {
    /// The kept bytes as text, with invalid UTF-8 replaced.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }
}

/// Everything observed of one run.
#[derive(Debug, Clone)]
pub struct Observation {
    /// The main process, which the grader started.
    pub main: Pid,
    /// How it ended.
    pub ending: Ending,
    /// Its standard output.
    pub stdout: Captured,
    /// Its standard error.
    pub stderr: Captured,
    /// Every process that checked in, in order.
    pub checkins: Vec<CheckIn>,
    /// The most processes held at the socket at once.
    pub most_held: usize,
    /// Why they were let go.
    pub release: Release,
    /// Whether the grader could see what the main process was blocked in;
    /// without it, ordering is checked only as the output came.
    pub saw_waits: bool,
    /// The most threads the main process was seen with.
    pub most_threads: u32,
    /// Processes of the run's group still running after the main process
    /// ended; they were killed.
    pub leftovers: Vec<Pid>,
    /// What `ptrace` reported, or why the run could not be traced.
    pub kernel: Result<Events, String>,
}

/// Runs `binary` as `run` says and observes it.
pub fn observe(binary: &Path, run: &Run) -> Result<Observation, Error> {
    // Orphans of the exercise must come to us, to be found and reaped.
    nix::sys::prctl::set_child_subreaper(true).map_err(|e| Error::os("prctl", e))?;
    let dir = tempfile::tempdir().map_err(|e| Error::io("create a temporary directory", e))?;
    let socket = dir.path().join("checkin.sock");
    let listener =
        UnixListener::bind(&socket).map_err(|e| Error::io("bind the check-in socket", e))?;
    listener
        .set_nonblocking(true)
        .map_err(|e| Error::io("set up the check-in socket", e))?;

    let command = || {
        let mut command = Command::new(binary);
        command
            .args(&run.args)
            .env(common::CHECKIN_ENV, &socket)
            .env(common::START_METHOD_ENV, run.start_method.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0);
        command
    };
    let start_error = |e| Error::io(format!("start {}", binary.display()), e);
    let (mut waiter, mut child) = match Tracer::spawn(&mut command(), PROCESS_LIMIT) {
        Ok((tracer, child)) => (Waiter::Traced(tracer), child),
        Err(why) => (Waiter::Plain(why), command().spawn().map_err(start_error)?),
    };
    let main = Pid::from_raw(i32::try_from(child.id()).expect("pids fit in i32"));
    let pipes: Vec<u64> = [
        child.stdout.as_ref().map(inode),
        child.stderr.as_ref().map(inode),
    ]
    .into_iter()
    .flatten()
    .collect();
    let stdout = capture(child.stdout.take());
    let stderr = capture(child.stderr.take());

    let mut watch = Watch {
        main,
        run,
        held: Vec::new(),
        checkins: Vec::new(),
        most_held: 0,
        release: None,
        saw_waits: true,
        most_threads: 0,
    };
    let ending = watch.until_exit(&listener, &mut child, &mut waiter)?;
    let mut leftovers = clear_group(main, &mut waiter);
    let kernel = match waiter {
        Waiter::Traced(tracer) => {
            // Traced processes that left the group are still known.
            leftovers.extend(tracer.alive());
            Ok(tracer.finish())
        }
        Waiter::Plain(why) => Err(why),
    };
    // A process that left the group may still hold the output pipes open.
    if !(stdout.closed_within(PIPE_GRACE) && stderr.closed_within(PIPE_GRACE)) {
        leftovers.extend(clear_pipe_holders(&pipes));
    }
    leftovers.sort();
    leftovers.dedup();
    // After a timeout the grader killed the group itself: nothing was left
    // behind by the program, and what is still dying is no verdict.
    let leftovers = if matches!(ending, Ending::TimedOut(_) | Ending::TooManyProcesses(_)) {
        Vec::new()
    } else {
        leftovers
    };
    let most_threads = match &kernel {
        // Exact: one plus every thread the kernel saw it create.
        Ok(events) => u32::try_from(1 + events.threads_of(main)).unwrap_or(u32::MAX),
        Err(_) => watch.most_threads,
    };
    Ok(Observation {
        main,
        ending,
        stdout: stdout.collect(),
        stderr: stderr.collect(),
        checkins: watch.checkins,
        most_held: watch.most_held,
        release: watch.release.unwrap_or(Release::MainExited),
        saw_waits: watch.saw_waits,
        most_threads,
        leftovers,
        kernel,
    })
}

struct Watch<'a> {
    main: Pid,
    run: &'a Run,
    held: Vec<(Pid, UnixStream)>,
    checkins: Vec<CheckIn>,
    most_held: usize,
    release: Option<Release>,
    saw_waits: bool,
    most_threads: u32,
}

impl Watch<'_> {
    fn until_exit(
        &mut self,
        listener: &UnixListener,
        child: &mut Child,
        waiter: &mut Waiter,
    ) -> Result<Ending, Error> {
        let deadline = Instant::now() + self.run.timeout;
        loop {
            self.accept(listener);
            if let Some(ending) = waiter.ended(child)? {
                // Processes still held have outlived the main process: they
                // stay held, to be counted as leftovers and killed, so that
                // the verdict does not depend on how far they get meanwhile.
                if self.release.is_none() {
                    self.release = Some(Release::MainExited);
                }
                return Ok(ending);
            }
            // Traced, the kernel reports every thread; untraced, sample.
            if let Waiter::Plain(_) = waiter
                && let Some(stat) = kernel::stat(self.main)
            {
                self.most_threads = self.most_threads.max(stat.threads);
            }
            if self.release.is_none() {
                self.judge_release();
            }
            let bomb = waiter.over_limit(self.main);
            if bomb || Instant::now() >= deadline {
                waiter.kill(self.main);
                waiter.reap(child);
                self.let_go(Release::TimedOut);
                return Ok(if bomb {
                    Ending::TooManyProcesses(PROCESS_LIMIT)
                } else {
                    Ending::TimedOut(self.run.timeout)
                });
            }
            thread::sleep(TICK);
        }
    }

    /// Takes in every pending check-in; holds it unless already released.
    fn accept(&mut self, listener: &UnixListener) {
        while let Ok((stream, _)) = listener.accept() {
            let Some(checkin) = describe(&stream) else {
                continue;
            };
            // First answer: looked at. Its parent may now go on.
            let mut stream = stream;
            if stream.write_all(b"s").is_err() {
                continue;
            }
            let pid = checkin.pid;
            self.checkins.push(checkin);
            if self.release.is_some() {
                answer(stream);
            } else {
                self.held.push((pid, stream));
                self.most_held = self.most_held.max(self.held.len());
            }
        }
    }

    fn judge_release(&mut self) {
        let blocked = kernel::blocked(self.main);
        if blocked == Blocked::Unknown {
            self.saw_waits = false;
        }
        let parent_ready =
            !self.run.parent_waits || matches!(blocked, Blocked::InWait | Blocked::Unknown);
        // Without a question of concurrency or order, nothing is held.
        let hold = self.run.concurrent || self.run.parent_waits;
        if !hold || (self.held.len() >= self.run.children && parent_ready) {
            self.let_go(Release::AllHeld);
        } else if matches!(blocked, Blocked::InWait | Blocked::InPoll) && self.stalled() {
            self.let_go(Release::Stalled);
        }
    }

    /// Whether every live child of the main process is held by us while the
    /// main process is blocked: then nothing can happen until we answer.
    fn stalled(&self) -> bool {
        let children = kernel::children_of(self.main);
        // With no child at all, the main process waits for none of ours.
        let all_held = !children.is_empty()
            && children
                .iter()
                .all(|(pid, s)| !s.is_zombie() && self.held.iter().any(|(held, _)| held == pid));
        // Read again: the main process must not have moved meanwhile.
        all_held
            && matches!(
                kernel::blocked(self.main),
                Blocked::InWait | Blocked::InPoll
            )
    }

    fn let_go(&mut self, why: Release) {
        if self.release.is_none() {
            self.release = Some(why);
        }
        for (_, stream) in self.held.drain(..) {
            answer(stream);
        }
    }
}

/// How the main process is waited for: as a tracee, or as a plain child
/// when tracing is not permitted (with the reason).
enum Waiter {
    Traced(Tracer),
    Plain(String),
}

impl Waiter {
    /// How the main process ended, once it has; handles pending kernel
    /// events meanwhile.
    fn ended(&mut self, child: &mut Child) -> Result<Option<Ending>, Error> {
        match self {
            Waiter::Traced(tracer) => Ok(tracer.poll().map(|exit| match exit {
                trace::Exit::Code(code) => Ending::Exited(code),
                trace::Exit::Signal(signal) => Ending::Signaled(signal),
            })),
            Waiter::Plain(_) => {
                let status = child
                    .try_wait()
                    .map_err(|e| Error::io("wait for the program", e))?;
                Ok(status.map(|status| match status.code() {
                    Some(code) => Ending::Exited(code),
                    None => Ending::Signaled(status.signal().unwrap_or(0)),
                }))
            }
        }
    }

    /// Whether the run has tried to create more than [`PROCESS_LIMIT`]
    /// processes: exactly, from the kernel's events, or else by counting
    /// the group now.
    fn over_limit(&self, group: Pid) -> bool {
        match self {
            Waiter::Traced(tracer) => tracer.events().over_limit,
            Waiter::Plain(_) => kernel::group_members(group).len() > PROCESS_LIMIT + 1,
        }
    }

    /// Reaps the main process once its group has been killed.
    fn reap(&mut self, child: &mut Child) {
        match self {
            // The tracer reaps what it traces, as the events come.
            Waiter::Traced(tracer) => {
                tracer.poll();
            }
            Waiter::Plain(_) => {
                let _ = child.wait();
            }
        }
    }

    /// Kills the run's process group and, traced, every task the run
    /// created wherever it went.
    fn kill(&mut self, group: Pid) {
        let _ = killpg(group, Signal::SIGKILL);
        if let Waiter::Traced(tracer) = self {
            tracer.kill_all();
        }
    }

    /// Reaps `pid`, a member of the group that has been killed or has
    /// ended and is a child of the grader. Traced, the tracer reaps it and
    /// takes its exit as an event (a plain wait could take an event the
    /// tracer must answer); untraced, it is waited for.
    fn reap_member(&mut self, pid: Pid) {
        match self {
            Waiter::Traced(tracer) => {
                tracer.poll();
                tracer.reap(pid);
            }
            Waiter::Plain(_) => {
                let _ = waitpid(pid, None);
            }
        }
    }

    /// Lets traced tasks stopped at an event go on (they may be on their
    /// way out); nothing to do untraced.
    fn pump(&mut self) {
        if let Waiter::Traced(tracer) = self {
            tracer.poll();
        }
    }
}

/// Who is on the other end of a check-in, by the kernel's account.
fn describe(stream: &UnixStream) -> Option<CheckIn> {
    let credentials = getsockopt(stream, sockopt::PeerCredentials).ok()?;
    let pid = Pid::from_raw(credentials.pid());
    let ppid = kernel::stat(pid).map(|s| s.ppid);
    stream.set_nonblocking(false).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(1))).ok()?;
    let mut label = String::new();
    let _ = BufReader::new(stream).take(256).read_line(&mut label);
    Some(CheckIn {
        pid,
        ppid,
        label: label.trim_end().to_owned(),
    })
}

/// Second answer: lets a held process go on.
fn answer(mut stream: UnixStream) {
    let _ = stream.write_all(b"g");
}

/// How long processes of the group may take to finish dying after the main
/// process has ended. `common` asks the kernel to kill every child when its
/// parent dies (PR_SET_PDEATHSIG), so its processes are gone within
/// microseconds; this only bounds the wait for them.
const SETTLE: Duration = Duration::from_secs(1);

/// Waits for the processes of group `group` that are dying to be gone, then
/// kills and reaps whatever is left; returns the processes that were still
/// running then.
fn clear_group(group: Pid, waiter: &mut Waiter) -> Vec<Pid> {
    let me = getpid();
    let settle = Instant::now() + SETTLE;
    let leftovers = loop {
        waiter.pump();
        let members = kernel::group_members(group);
        for (pid, stat) in &members {
            if stat.ppid == me && stat.is_zombie() {
                waiter.reap_member(*pid);
            }
        }
        let running: Vec<Pid> = members
            .iter()
            .filter(|(_, s)| !s.is_zombie())
            .map(|(pid, _)| *pid)
            .collect();
        if running.is_empty() || Instant::now() >= settle {
            break running;
        }
        thread::sleep(TICK);
    };
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        let members = kernel::group_members(group);
        if members.is_empty() || Instant::now() >= deadline {
            break;
        }
        waiter.kill(group);
        for (pid, stat) in members {
            if stat.ppid == me {
                waiter.reap_member(pid);
            }
        }
        thread::sleep(TICK);
    }
    leftovers
}

/// The inode of a pipe, which names it in `/proc/PID/fd`.
fn inode(pipe: &impl AsFd) -> u64 {
    nix::sys::stat::fstat(pipe.as_fd()).map_or(0, |stat| stat.st_ino)
}

/// Kills and reaps every process but this one that holds one of `pipes`
/// open, as `/proc/PID/fd` shows; returns them.
fn clear_pipe_holders(pipes: &[u64]) -> Vec<Pid> {
    let me = getpid();
    let names: Vec<String> = pipes.iter().map(|ino| format!("pipe:[{ino}]")).collect();
    let holders: Vec<(Pid, kernel::Stat)> = kernel::processes()
        .into_iter()
        .filter(|(pid, _)| *pid != me)
        .filter(|(pid, _)| {
            std::fs::read_dir(format!("/proc/{pid}/fd")).is_ok_and(|fds| {
                fds.flatten().any(|fd| {
                    std::fs::read_link(fd.path())
                        .is_ok_and(|target| names.iter().any(|n| target.as_os_str() == n.as_str()))
                })
            })
        })
        .collect();
    for (pid, stat) in &holders {
        let _ = nix::sys::signal::kill(*pid, Signal::SIGKILL);
        if stat.ppid == me {
            let _ = waitpid(*pid, None);
        }
    }
    holders.into_iter().map(|(pid, _)| pid).collect()
}

/// A thread reading one output stream into shared memory, so that what it
/// read is kept even if the pipe never closes.
struct Capture {
    captured: Arc<Mutex<Captured>>,
    done: mpsc::Receiver<()>,
}

fn capture(stream: Option<impl Read + Send + 'static>) -> Capture {
    let captured = Arc::new(Mutex::new(Captured::default()));
    let (tx, done) = mpsc::channel();
    let shared = Arc::clone(&captured);
    thread::spawn(move || {
        let Some(mut stream) = stream else { return };
        let mut buffer = [0u8; 64 * 1024];
        while let Ok(n) = stream.read(&mut buffer) {
            if n == 0 {
                break;
            }
            let mut captured = shared.lock().unwrap_or_else(PoisonError::into_inner);
            let room = OUTPUT_CAP.saturating_sub(captured.bytes.len());
            captured.bytes.extend_from_slice(&buffer[..n.min(room)]);
            captured.total += n as u64;
        }
        drop(tx);
    });
    Capture { captured, done }
}

impl Capture {
    /// Whether the pipe closes within `wait` (or already has).
    fn closed_within(&self, wait: Duration) -> bool {
        matches!(
            self.done.recv_timeout(wait),
            Err(mpsc::RecvTimeoutError::Disconnected)
        )
    }

    /// What was read, once the pipe closes or [`DRAIN`] has passed (a stray
    /// process outside the group may hold it open; its reader is abandoned).
    fn collect(self) -> Captured {
        self.closed_within(DRAIN);
        self.captured
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}
