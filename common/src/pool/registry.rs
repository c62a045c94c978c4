//! The pool's workers and their lives, apart from the work they do (see
//! `scheduler`): how a worker is started (fork, spawn or the fork server)
//! and given its slot of progress, how one that ended is replaced (by the
//! fork server where a fork is refused: in a process that now has threads,
//! or on the driver), where one that died was when it died, and how all
//! are stopped and reaped.
//!
//! A worker's end is learned from the kernel (its pidfd, polled while it
//! has work) or from its pipes (see `dispatch`: end-of-file on its
//! results, or a failed write of its tasks). What a death costs the work is
//! then the scheduler's to settle: it reaps the worker, files the answers
//! the worker sent before dying, then asks [`Registry::blame`] which job
//! and item the death falls on (by the worker's progress word, see
//! `wire::died_in`) and which jobs run again, and has the registry
//! [`replace`](Registry::replace) it. A place no worker can be started in
//! (the system refused a process) stays vacant, tried again at the
//! program's next call, and by the driver every [`RETRY_PAUSE`].

use std::fs::File;
use std::os::fd::{AsRawFd, OwnedFd};
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;

use super::initializer::Initializer;
use super::job::Job;
use super::wire::{BETWEEN_JOBS, DiedIn, died_in};
use super::worker::{KILL_GRACE, Worker};
use super::worker_loop::worker_loop;
use crate::boot::Work;
use crate::children::Unclaimed;
use crate::error::{Error, Result};
use crate::start::{self, StartMethod};
use crate::sys::{self, Slots};

/// How much a worker's pipes are asked to hold (see `sys::widen_pipe`).
const PIPE_BYTES: usize = 1 << 20;

/// The pool's workers, by slot, and what starting one takes.
pub(super) struct Registry {
    /// How workers are started.
    method: StartMethod,
    /// The workers; worker `i` has slot `i`.
    pub(super) workers: Vec<Worker>,
    /// What each worker runs first, with its encoded argument and the
    /// descriptors in it.
    initializer: Option<std::sync::Arc<Initializer>>,
    /// How many jobs a worker runs before it exits and is replaced.
    pub(super) maxtasksperchild: Option<usize>,
    /// How many workers have been started in all (they are named for it).
    spawned: usize,
    /// How far each worker (by slot) is into its current job: its progress
    /// word (see `wire`), in memory the workers share.
    progress: Slots,
    /// Places whose worker ended and no new one could be started (the
    /// system refused a process): tried again later (see `failed_at`).
    vacant: Vec<usize>,
    /// The process whose workers these are: a forked child holding a copy
    /// must leave them alone.
    owner: u32,
    /// When a worker last failed to start, for the driver's pace of trying
    /// again (see [`Registry::tried_lately`]).
    failed_at: Option<Instant>,
}

/// How long the driver lets pass after a worker failed to start before it
/// tries again (a call from the program tries at once).
const RETRY_PAUSE: Duration = Duration::from_millis(100);

/// What a worker that died leaves to the work (see [`Registry::blame`]).
pub(super) struct Blame {
    /// The jobs it held that run again whole, oldest first: those before
    /// the one it died in finished, but their answers died with it; those
    /// after never started.
    pub(super) again: Vec<Job>,
    /// The job it died in, if that job had reached it whole, and where in
    /// it.
    pub(super) fatal: Option<(Job, Fatal)>,
}

/// Where in its job a worker died.
pub(super) enum Fatal {
    /// Running the item after the first `done` (or after its last, if
    /// `done` is the job's length).
    At(usize),
    /// After running every item, unable to answer: one of them broke its
    /// channel to the pool (see `wire::UNANSWERABLE`).
    Unanswerable,
}

impl Registry {
    /// Starts `processes` workers by `method`.
    pub(super) fn start(
        processes: usize,
        method: StartMethod,
        initializer: Option<std::sync::Arc<Initializer>>,
        maxtasksperchild: Option<usize>,
    ) -> Result<Registry> {
        let mut registry = Registry {
            method,
            workers: Vec::with_capacity(processes),
            initializer,
            maxtasksperchild,
            spawned: 0,
            progress: Slots::new(processes)?,
            vacant: Vec::new(),
            owner: std::process::id(),
            failed_at: None,
        };
        for slot in 0..processes {
            let worker = registry.spawn_worker(slot, method, false)?;
            registry.workers.push(worker);
        }
        Ok(registry)
    }

    /// Whether these workers are this process's (not a forked child's copy
    /// of its parent's pool).
    pub(super) fn owned_here(&self) -> bool {
        self.owner == std::process::id()
    }

    /// The workers' process ids.
    pub(super) fn pids(&self) -> Vec<u32> {
        self.workers.iter().map(Worker::pid_u32).collect()
    }

    /// Worker `i` died (it has been reaped, and the answers it sent filed):
    /// takes back the jobs it held and says which one, if any, the death
    /// falls on, by its progress word (see `wire::died_in`).
    pub(super) fn blame(&mut self, i: usize) -> Blame {
        let worker = &mut self.workers[i];
        let (current, fatal) = match died_in(self.progress.get(worker.slot), worker.jobs_done) {
            DiedIn::Between => {
                return Blame {
                    again: worker.take_all(),
                    fatal: None,
                };
            }
            DiedIn::Job { job, done } => (job, Fatal::At(done)),
            DiedIn::Unanswerable { job } => (job, Fatal::Unanswerable),
        };
        let mut jobs: Vec<Job> = worker.take_all();
        // The job it died in reached it whole (else it never started).
        let whole = current < jobs.len() && {
            let sent: usize = jobs[..=current].iter().map(|job| job.frame_len).sum();
            worker.delivered >= worker.settled + sent
        };
        let fatal = whole.then(|| (jobs.remove(current), fatal));
        Blame { again: jobs, fatal }
    }

    /// Whether a worker failed to start less than [`RETRY_PAUSE`] ago: the
    /// driver then waits before it tries again, rather than try at every
    /// step.
    pub(super) fn tried_lately(&self) -> bool {
        self.failed_at.is_some_and(|at| at.elapsed() < RETRY_PAUSE)
    }

    /// Starts a worker in each place left without one (see `vacant`); the
    /// first failure, the place kept vacant.
    pub(super) fn fill_vacancies(&mut self) -> Result<()> {
        while let Some(i) = self.vacant.pop() {
            // A failure puts `i` back (see `replace`).
            self.replace(i, Duration::ZERO)?;
        }
        Ok(())
    }

    /// Replaces worker `i` by a new one, reaping the old (killed if it has
    /// not ended within `grace`). If no new one can be started, the place
    /// is left vacant for [`fill_vacancies`](Registry::fill_vacancies), and
    /// the error says why.
    pub(super) fn replace(&mut self, i: usize, grace: Duration) -> Result<()> {
        let method = self.replacement_method();
        let started = self.spawn_worker(self.workers[i].slot, method, true);
        let old = match started {
            Ok(fresh) => std::mem::replace(&mut self.workers[i], fresh),
            Err(error) => {
                self.failed_at = Some(Instant::now());
                let old = &mut self.workers[i];
                old.close_tasks();
                old.reap_within(grace);
                if !self.vacant.contains(&i) {
                    self.vacant.push(i);
                }
                return Err(error);
            }
        };
        let mut old = old;
        old.close_tasks();
        old.reap_within(grace);
        Ok(())
    }

    /// Stops every worker now: closes its task pipe, sends SIGTERM (and
    /// SIGCONT, so that a stopped one takes it), and reaps it (SIGKILL for
    /// any still alive after [`KILL_GRACE`], all told). Returns the jobs
    /// they held, each worker's oldest first.
    pub(super) fn terminate(&mut self) -> Vec<Job> {
        for worker in &mut self.workers {
            worker.close_tasks();
            worker.signal(Signal::SIGTERM);
            worker.signal(Signal::SIGCONT);
        }
        self.reap_all(KILL_GRACE);
        self.workers.iter_mut().flat_map(Worker::take_all).collect()
    }

    /// Closes every worker's task pipe, its cue to exit (with SIGCONT, so
    /// that a stopped one sees it), and reaps each, killing any that has
    /// not ended within `grace`, all told. A worker still holding work (it
    /// was given up, see `Inner::finish`) is killed at once.
    pub(super) fn close(&mut self, grace: Duration) {
        for worker in &mut self.workers {
            worker.close_tasks();
            if !worker.jobs.is_empty() {
                worker.signal(Signal::SIGKILL);
            }
            worker.signal(Signal::SIGCONT);
        }
        self.reap_all(grace);
    }

    /// Reaps every worker, killing those still alive once `grace` has
    /// passed for all of them together.
    fn reap_all(&mut self, grace: Duration) {
        let deadline = Instant::now() + grace;
        for worker in &mut self.workers {
            worker.reap_within(deadline.saturating_duration_since(Instant::now()));
        }
    }

    /// How a worker that replaces another can be started now: by the
    /// pool's start method, unless that is fork and this process cannot
    /// fork now (it has threads, or this is the pool's driver): then by the
    /// fork server, which starts the same worker afresh. (A pool's first
    /// workers keep the method asked for: fork refused is an error then.)
    fn replacement_method(&self) -> StartMethod {
        match self.method {
            StartMethod::Fork if !start::fork_possible() => StartMethod::Forkserver,
            method => method,
        }
    }

    /// Starts the worker of `slot` by `method`; a fork refused for a thread
    /// that came meanwhile falls back to the fork server when `replacing`.
    /// A start that fails part-way leaves no process behind (see
    /// `children::Unclaimed`).
    fn spawn_worker(
        &mut self,
        slot: usize,
        method: StartMethod,
        replacing: bool,
    ) -> Result<Worker> {
        self.spawned += 1;
        // Not yet in a job; the slot's last worker's figures must not count.
        self.progress.set(slot, BETWEEN_JOBS);
        let label = format!("PoolWorker-{}", self.spawned);
        let started = match method {
            StartMethod::Fork => match self.fork_worker(&label, slot) {
                Err(Error::MultiThreaded { .. }) if replacing => {
                    self.start_afresh(StartMethod::Forkserver, &label, slot)
                }
                forked => forked,
            },
            method => self.start_afresh(method, &label, slot),
        };
        let (child, tasks, results) = started?;
        // The parent never waits to write a job (see `Worker::flush`), nor
        // to read an answer (see `Worker::read_available`).
        for end in [&tasks, &results] {
            nix::fcntl::fcntl(
                end,
                nix::fcntl::FcntlArg::F_SETFL(nix::fcntl::OFlag::O_NONBLOCK),
            )
            .map_err(|e| Error::os("fcntl", e))?;
        }
        sys::register_parent_fd(tasks.as_raw_fd());
        sys::register_parent_fd(results.as_raw_fd());
        let pid = child.claim();
        crate::children::started(pid, &label);
        Ok(Worker::new(pid, slot, tasks, results))
    }

    /// Starts a worker afresh by `method` (spawn or the fork server); returns
    /// it and the parent's ends of its channel (one socket both ways).
    fn start_afresh(
        &self,
        method: StartMethod,
        label: &str,
        slot: usize,
    ) -> Result<(Unclaimed, File, File)> {
        let initializer = self.initializer.as_deref();
        let work = Work::PoolWorker {
            initializer: initializer.map(|i| (i.func, i.args.clone())),
            fds: initializer.map_or(0, |i| i.fds.len()),
            maxtasks: self.maxtasksperchild,
            slot,
            slots: self.progress.len(),
        };
        // The progress memory, then the initializer's descriptors.
        let fds: Vec<_> = std::iter::once(self.progress.memory())
            .chain(initializer.into_iter().flat_map(Initializer::borrowed_fds))
            .collect();
        let (child, socket) = start::spawn(method, label, work, &fds)?;
        let tasks = socket.try_clone().map_err(|e| Error::os("dup", e))?;
        Ok((
            child,
            File::from(OwnedFd::from(tasks)),
            File::from(OwnedFd::from(socket)),
        ))
    }

    /// Forks a worker; returns it and the parent's ends of its pipes.
    fn fork_worker(&mut self, label: &str, slot: usize) -> Result<(Unclaimed, File, File)> {
        let (task_rx, task_tx) = sys::pipe()?;
        let (result_rx, result_tx) = sys::pipe()?;
        sys::widen_pipe(&task_tx, PIPE_BYTES);
        sys::widen_pipe(&result_tx, PIPE_BYTES);
        // The new worker must not keep its own parent-side ends open.
        sys::register_parent_fd(task_tx.as_raw_fd());
        sys::register_parent_fd(result_rx.as_raw_fd());
        let initializer = self.initializer.clone();
        let maxtasks = self.maxtasksperchild;
        let progress = &self.progress;
        let forked = sys::fork(label, || {
            sys::ignore_sigint();
            if let Some(initializer) = &initializer
                && !initializer.run_forked()
            {
                return 1;
            }
            let tasks = File::from(task_rx);
            worker_loop(tasks, File::from(result_tx), maxtasks, |done| {
                progress.set(slot, done);
            })
        });
        sys::forget_parent_fd(task_tx.as_raw_fd());
        sys::forget_parent_fd(result_rx.as_raw_fd());
        Ok((
            Unclaimed::new(forked?),
            File::from(task_tx),
            File::from(result_rx),
        ))
    }
}

impl Drop for Registry {
    /// Workers still running when the registry goes (a pool whose start
    /// failed part-way, or that could not be made once its workers were):
    /// killed and reaped, so that no error leaves a process behind.
    fn drop(&mut self) {
        if !self.owned_here() {
            return;
        }
        for worker in &mut self.workers {
            worker.close_tasks();
            worker.signal(Signal::SIGKILL);
        }
        self.reap_all(Duration::ZERO);
    }
}
