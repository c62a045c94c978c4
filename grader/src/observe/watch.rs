//! Watching a run from its start to the end of its main process: taking
//! in check-ins, holding them at the rendezvous until enough of them are
//! seen waiting there at one moment (see `rendezvous.rs`), letting them go
//! when nothing else could move, and stopping the run at its deadline
//! (see `deadline.rs`).

use std::os::unix::net::UnixListener;
use std::thread;
use std::time::{Duration, Instant};

use nix::unistd::Pid;

use super::checkin::{self, Desk};
use super::deadline::Deadline;
use super::rendezvous::{Held, at_one_moment};
use super::stuck::{self, Stuck};
use super::waiter::{KILL_WAIT, PROCESS_LIMIT, TICK, Waiter};
use super::{Ending, Release};
use crate::error::Error;
use crate::exercises::Run;
use crate::procfs::{self, Blocked};
use crate::sandbox::Sandbox;

/// How long after the kernel last reported something the loop goes on
/// without sleeping.
const SPIN: Duration = Duration::from_micros(300);

pub(super) struct Watch<'a> {
    main: Pid,
    run: &'a Run,
    pub(super) desk: Desk,
    held: Vec<Held>,
    /// The most held processes seen waiting at one moment, and which.
    pub(super) most_held: usize,
    pub(super) held_together: Vec<Pid>,
    pub(super) release: Option<Release>,
    pub(super) saw_waits: bool,
    /// Whether the kernel showed what every held process was blocked in.
    pub(super) saw_rendezvous: bool,
    pub(super) most_threads: u32,
    /// Where each process of the run was at the timeout (none if the run
    /// did not time out).
    pub(super) stuck: Vec<Stuck>,
}

impl<'a> Watch<'a> {
    pub(super) fn new(main: Pid, run: &'a Run, listener: UnixListener) -> Watch<'a> {
        Watch {
            main,
            run,
            desk: Desk::new(listener),
            held: Vec::new(),
            most_held: 0,
            held_together: Vec::new(),
            release: None,
            saw_waits: true,
            saw_rendezvous: true,
            most_threads: 0,
            stuck: Vec::new(),
        }
    }

    /// Watches until the main process ends, the run creates too many
    /// processes, or `deadline` passes; stops the run in the last two
    /// cases. Each round handles a bounded slice of the kernel's events and
    /// looks at the clock; the check-ins and `/proc` are looked at once a
    /// tick. Between rounds it sleeps a tick, unless the kernel has just
    /// reported something (a writer is likely to stop again at once).
    pub(super) fn until_exit(
        &mut self,
        waiter: &mut Waiter,
        sandbox: &mut Sandbox,
        deadline: &Deadline,
    ) -> Result<Ending, Error> {
        let mut next_look = Instant::now();
        let mut last_event = Instant::now();
        loop {
            let ended = waiter.ended(sandbox);
            let bomb = waiter.over_limit(sandbox);
            if bomb || deadline.passed() {
                if !bomb {
                    self.stuck = self.where_stuck(waiter, sandbox);
                    // Killed meanwhile, or before: the watchdog looked
                    // before it killed.
                    if let Some(seen) = deadline.seen_by_watchdog() {
                        self.stuck = seen;
                    }
                }
                waiter.kill(sandbox, deadline.by(KILL_WAIT));
                self.let_go(Release::TimedOut);
                return Ok(if bomb {
                    Ending::TooManyProcesses(PROCESS_LIMIT)
                } else {
                    Ending::TimedOut(self.run.timeout)
                });
            }
            if let Some(ending) = ended {
                // Processes still held have outlived the main process: they
                // stay held, to be counted as leftovers and killed, so that
                // the verdict does not depend on how far they get meanwhile.
                if self.release.is_none() {
                    self.release = Some(Release::MainExited);
                }
                return Ok(ending);
            }
            let now = Instant::now();
            if now >= next_look {
                self.look(waiter);
                next_look = now + TICK;
            }
            if waiter.busy() {
                last_event = now;
            } else if now.duration_since(last_event) < SPIN {
                thread::yield_now();
            } else {
                thread::sleep(next_look.saturating_duration_since(Instant::now()));
            }
        }
    }

    /// Where each process of the run is now: those of its PID namespace,
    /// or else of its process group, and every one the tracer knows.
    fn where_stuck(&self, waiter: &Waiter, sandbox: &Sandbox) -> Vec<Stuck> {
        let mut pids = if sandbox.layers.pid_namespace {
            sandbox.members()
        } else {
            procfs::group_members(self.main)
                .into_iter()
                .map(|(pid, _)| pid)
                .collect()
        };
        if let Waiter::Traced(tracer) = waiter {
            pids.extend(tracer.alive());
        }
        let held: Vec<Pid> = self.held.iter().map(|h| h.pid).collect();
        stuck::snapshot(&pids, &held)
    }

    /// Once a tick: takes in check-ins, samples the main process's threads
    /// (untraced), and judges whether to let the held processes go.
    fn look(&mut self, waiter: &Waiter) {
        self.accept();
        // Traced, the kernel reports every thread; untraced, sample.
        if let Waiter::Plain(_) = waiter
            && let Some(stat) = procfs::stat(self.main)
        {
            self.most_threads = self.most_threads.max(stat.threads);
        }
        if self.release.is_none() {
            self.judge_release(waiter);
        }
    }

    /// Takes in every pending check-in; holds it unless already released.
    fn accept(&mut self) {
        for (pid, stream) in self.desk.accept() {
            // A thread of the main process is no child to hold.
            if self.release.is_some() || pid == self.main {
                checkin::answer(stream);
            } else if let Some(held) = Held::new(pid, stream) {
                self.held.push(held);
            }
        }
    }

    fn judge_release(&mut self, waiter: &Waiter) {
        // A process that is gone, or has closed its end, waits no more.
        self.held.retain(Held::may_wait);
        let blocked = procfs::blocked(self.main);
        let parent_ready =
            !self.run.parent_waits || matches!(blocked, Blocked::InWait | Blocked::Unknown);
        // Without a question of concurrency or order, nothing is held.
        let hold = self.run.concurrent || self.run.parent_waits;
        if !hold {
            self.let_go(Release::AllHeld);
            return;
        }
        let enough = self.held.len() >= self.run.children() && parent_ready;
        let main_waits = matches!(blocked, Blocked::InWait | Blocked::InPoll);
        if self.held.is_empty() || !(enough || main_waits || self.held.len() > self.most_held) {
            return;
        }
        let moment = at_one_moment(&self.held, |pid| waiter.wrote(pid));
        let waiting = moment.waiting.len();
        let release = enough && waiting >= self.run.children();
        if waiting > self.most_held || release {
            self.most_held = self.most_held.max(waiting);
            self.held_together = moment.waiting.clone();
            self.saw_rendezvous &= !moment.blind;
        }
        if release {
            // Only what the kernel showed at the release of a main process
            // still running counts: at a run's edges (before the program
            // has executed, once it has ended) an ordinary user may not be
            // shown what it is blocked in, and nothing is decided then.
            if blocked == Blocked::Unknown && self.run.parent_waits && procfs::alive(self.main) {
                self.saw_waits = false;
            }
            self.let_go(Release::AllHeld);
        } else if main_waits && self.stalled(&moment.waiting) {
            self.let_go(Release::Stalled);
        }
    }

    /// Whether every live child of the main process is held by us and
    /// `waiting` (seen waiting at the rendezvous) while the main process is
    /// blocked: then nothing can happen until we answer. A child that never
    /// checked in and waits in `poll` (a fork server, idle until the main
    /// process asks for a child) holds nothing up.
    fn stalled(&self, waiting: &[Pid]) -> bool {
        let children = procfs::children_of(self.main);
        let held = |pid: &Pid| waiting.contains(pid);
        let idle_helper = |pid: &Pid| {
            !self.desk.checkins.iter().any(|c| c.pid == *pid)
                && procfs::blocked(*pid) == Blocked::InPoll
        };
        // With no child held, the main process waits for none of ours.
        let all_held = children.iter().any(|(pid, _)| held(pid))
            && children
                .iter()
                .all(|(pid, _)| procfs::alive(*pid) && (held(pid) || idle_helper(pid)));
        // Read again: the main process must not have moved meanwhile.
        all_held
            && matches!(
                procfs::blocked(self.main),
                Blocked::InWait | Blocked::InPoll
            )
    }

    pub(super) fn let_go(&mut self, why: Release) {
        if self.release.is_none() {
            self.release = Some(why);
        }
        for held in self.held.drain(..) {
            held.answer();
        }
    }
}
