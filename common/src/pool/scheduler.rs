//! The parent's side of the pool, its state ([`Inner`]) and the loop that
//! drives it: calls queued as batches of jobs, waiting for a batch, a step
//! of the loop (hand out jobs, `poll` the workers, take what came), each
//! outcome filed with its batch, and closing or terminating the pool.
//! Handing jobs to workers and taking their answers, and what a worker's
//! death costs the work, are `dispatch.rs`; the workers' lives,
//! `registry.rs`; what crosses the pipes, `wire.rs` and `PROTOCOL.md`.

use super::answer::Answer;
use super::batch::Batch;
use super::job::{Job, make_jobs};
use super::registry::Registry;
use super::spare::Spare;
use super::worker::{KILL_GRACE, Worker};
use crate::error::{Error, Result};
use crate::sys::{self, ErasedFn, SigintGuard};
use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::unistd::Pid;
use serde::Serialize;
use std::collections::{HashMap, VecDeque};
use std::os::fd::{AsFd, BorrowedFd};
use std::time::{Duration, Instant};

/// How long [`Drop`] lets queued work finish and workers exit before it
/// kills them.
pub(super) const DROP_GRACE: Duration = Duration::from_secs(5);

/// How long [`Drop`] waits for the work left when no outcome comes at all:
/// workers that are stuck, stopped, or deaf to signals are killed then.
pub(super) const STALL: Duration = Duration::from_secs(1);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum State {
    Running,
    Closed,
    Terminated,
}

pub(super) struct Inner {
    /// The workers, and how they are started and replaced.
    pub(super) registry: Registry,
    /// Jobs waiting for an idle worker.
    pub(super) queue: VecDeque<Job>,
    /// The results of each call, by batch number.
    pub(super) batches: HashMap<u64, Batch>,
    pub(super) next_batch: u64,
    pub(super) state: State,
    /// Callbacks whose work finished, to run once the state is let go (see
    /// `state_lock::Locked`).
    pub(super) callbacks: Vec<Box<dyn FnOnce() + Send>>,
    /// Memory of answered jobs and decoded answers, for the next ones.
    pub(super) spare: Spare,
    /// How many outcomes (answers, failures) have been filed: whether the
    /// work moves (see [`STALL`]).
    filed: u64,
}

impl Inner {
    /// The state of a running pool of `registry`'s workers, with nothing
    /// queued.
    pub(super) fn new(registry: Registry) -> Inner {
        Inner {
            registry,
            queue: VecDeque::new(),
            batches: HashMap::new(),
            next_batch: 0,
            state: State::Running,
            callbacks: Vec::new(),
            spare: Spare::default(),
            filed: 0,
        }
    }

    /// Queues `items` as jobs of a new batch and returns its number.
    pub(super) fn submit<A: Serialize + 'static>(
        &mut self,
        func: ErasedFn,
        items: impl Iterator<Item = A>,
        len: usize,
        chunksize: Option<usize>,
    ) -> Result<u64> {
        if self.state != State::Running {
            return Err(Error::PoolNotRunning);
        }
        // A worker that died idle is found by the first job written to it
        // (its pipe has no reader), and replaced there with no blame (see
        // `flush`).
        self.fill_vacancies()?;
        let chunksize = self.chunksize(chunksize, len);
        let batch = self.next_batch;
        self.next_batch += 1;
        self.batches.insert(batch, Batch::new(len));
        // Each job goes out as soon as it is encoded, so the workers start
        // while the rest is encoded.
        let (mut count, mut expected) = (0, len);
        let made = make_jobs(batch, func, items, chunksize, |job| {
            count += job.len();
            if count > expected {
                // An iterator that yields more than its exact length said.
                self.resize(batch, expected, count);
                expected = count;
            }
            self.queue.push_back(job);
            self.dispatch()
        });
        if let Err(error) = made {
            self.forget(batch);
            return Err(error);
        }
        if count < expected {
            // Or fewer.
            self.resize(batch, expected, count);
        }
        Ok(batch)
    }

    /// `chunksize`, or for `len` items Python's default:
    /// `ceil(len / (4 * processes))`.
    pub(super) fn chunksize(&self, chunksize: Option<usize>, len: usize) -> usize {
        chunksize.unwrap_or_else(|| len.div_ceil(4 * self.registry.workers.len()))
    }

    /// Makes `batch`, given `was` items, have `now`.
    fn resize(&mut self, batch: u64, was: usize, now: usize) {
        let batch = self.batches.get_mut(&batch).expect("a batch being made");
        batch.len = batch.len + now - was;
        batch.outstanding = batch.outstanding + now - was;
    }

    /// Adds `job` to its batch (an `imap`'s, which grows as its input is
    /// read) and queues it; [`dispatch`](Inner::dispatch) sends it.
    pub(super) fn enqueue(&mut self, job: Job) -> Result<()> {
        if self.state != State::Running {
            return Err(Error::PoolNotRunning);
        }
        let Some(batch) = self.batches.get_mut(&job.batch) else {
            return Ok(());
        };
        batch.len += job.len();
        batch.outstanding += job.len();
        self.queue.push_back(job);
        Ok(())
    }

    /// Drops a batch nobody will read: its queued jobs are withdrawn, and
    /// outcomes still to come for it are discarded.
    pub(super) fn forget(&mut self, batch: u64) {
        self.batches.remove(&batch);
        self.queue.retain(|job| job.batch != batch);
    }

    /// Drops a batch's results but not its work: its jobs still run (a
    /// fire-and-forget `apply_async`), and their outcomes are discarded.
    pub(super) fn discard(&mut self, batch: u64) {
        match self.batches.get_mut(&batch) {
            // Its callback still runs when its work is done.
            Some(b) if b.on_done.is_some() => b.discarded = true,
            _ => {
                self.batches.remove(&batch);
            }
        }
    }

    /// Drives the pool until `done` holds for `batch` (or the batch is gone),
    /// or `deadline` passes. Catches SIGINT meanwhile.
    pub(super) fn wait(
        &mut self,
        batch: u64,
        deadline: Option<Instant>,
        done: impl Fn(&Batch) -> bool,
    ) -> Result<()> {
        self.fill_vacancies()?;
        // Already done (often, when the driver moved it): no SIGINT handler
        // to install and remove.
        if self.batches.get(&batch).is_none_or(&done) {
            return Ok(());
        }
        let sigint = SigintGuard::install()?;
        loop {
            match self.batches.get(&batch) {
                Some(b) if !done(b) => {}
                _ => return Ok(()),
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return Ok(());
            }
            if !self.step(deadline, Some(&sigint))? && deadline.is_none() {
                // Nothing running and nothing to run, yet not done: only a
                // terminated pool gets here.
                return Err(Error::PoolNotRunning);
            }
        }
    }

    /// How many jobs the workers may be sent ahead of their answers now,
    /// all told.
    pub(super) fn sent_ahead(&self) -> usize {
        self.registry.workers.iter().map(Worker::ahead).sum()
    }

    /// Hands queued jobs to idle workers, then waits until `deadline` for
    /// outcomes and handles those that came. Returns whether any worker was
    /// busy.
    pub(super) fn step(
        &mut self,
        deadline: Option<Instant>,
        sigint: Option<&SigintGuard>,
    ) -> Result<bool> {
        self.step_waking(deadline, sigint, None)
    }

    /// The driver's step: at most `poll` long, or until `wake` is readable
    /// (another thread wants the state). Returns whether the pool still has
    /// work (queued, or in a worker's hands).
    pub(super) fn step_for_driver(&mut self, poll: Duration, wake: BorrowedFd<'_>) -> bool {
        let deadline = Instant::now() + poll;
        // A place no worker could be started in is tried again, now and
        // then.
        if !self.registry.tried_lately() {
            let _ = self.fill_vacancies();
        }
        let _ = self.step_waking(Some(deadline), None, Some(wake));
        let queued = !self.queue.is_empty();
        let held = self.registry.workers.iter().any(|w| !w.jobs.is_empty());
        if queued && !held {
            // Work no worker can take (none could be started): look again
            // in a while, or once another thread wants the state.
            let _ = sys::readable(wake, deadline.saturating_duration_since(Instant::now()));
        }
        queued || held
    }

    /// One step: dispatch, then one `poll` over the busy workers' results,
    /// their sentinels, the task pipes with bytes to write, Ctrl-C and
    /// `wake`, and what fired handled. One function of about 90 lines on
    /// purpose: the poll set is built and read back by position in one
    /// place, so that what is polled and what is handled cannot drift
    /// apart.
    fn step_waking(
        &mut self,
        deadline: Option<Instant>,
        sigint: Option<&SigintGuard>,
        wake: Option<BorrowedFd<'_>>,
    ) -> Result<bool> {
        self.dispatch()?;
        let busy: Vec<usize> = (0..self.registry.workers.len())
            .filter(|&i| !self.registry.workers[i].jobs.is_empty())
            .collect();
        if busy.is_empty() {
            return Ok(false);
        }
        let timeout = match deadline {
            None => PollTimeout::NONE,
            Some(d) => sys::poll_timeout(d.saturating_duration_since(Instant::now())),
        };
        // Each busy worker's results, then its sentinel (its end, seen from
        // the kernel: a child its task left may hold its pipes open).
        let workers = &self.registry.workers;
        let mut fds: Vec<PollFd> = busy
            .iter()
            .map(|&i| PollFd::new(workers[i].results.as_fd(), PollFlags::POLLIN))
            .collect();
        let sentinels: Vec<usize> = busy
            .iter()
            .copied()
            .filter(|&i| workers[i].sentinel.is_some())
            .collect();
        for &i in &sentinels {
            if let Some(sentinel) = &workers[i].sentinel {
                fds.push(PollFd::new(sentinel.as_fd(), PollFlags::POLLIN));
            }
        }
        // Workers with job bytes still to write: their task pipes, for room.
        let sending: Vec<usize> = busy
            .iter()
            .copied()
            .filter(|&i| workers[i].sending())
            .collect();
        for &i in &sending {
            if let Some(tasks) = &workers[i].tasks {
                fds.push(PollFd::new(tasks.as_fd(), PollFlags::POLLOUT));
            }
        }
        if let Some(guard) = sigint {
            fds.push(PollFd::new(guard.fd(), PollFlags::POLLIN));
        }
        if let Some(wake) = wake {
            fds.push(PollFd::new(wake, PollFlags::POLLIN));
        }
        match poll(&mut fds, timeout) {
            Ok(_) | Err(Errno::EINTR) => {}
            Err(errno) => return Err(Error::os("poll", errno)),
        }
        if sigint.is_some_and(SigintGuard::fired) {
            self.terminate();
            return Err(Error::Interrupted);
        }
        let fired = |fd: &PollFd| fd.revents().is_some_and(|r| !r.is_empty());
        let ready: Vec<usize> = busy
            .iter()
            .zip(&fds)
            .filter(|(_, fd)| fired(fd))
            .map(|(&i, _)| i)
            .collect();
        let ended: Vec<(usize, Pid)> = sentinels
            .iter()
            .zip(&fds[busy.len()..])
            .filter(|(_, fd)| fired(fd))
            .map(|(&i, _)| (i, self.registry.workers[i].pid))
            .collect();
        for i in ready {
            self.receive(i)?;
        }
        for (i, pid) in ended {
            // Unless reading its pipe already settled its end (and put
            // another worker in its place).
            if self.registry.workers[i].pid == pid && self.registry.workers[i].ended.is_none() {
                self.worker_died(i)?;
            }
        }
        for i in sending {
            if self.registry.workers[i].sending() {
                self.flush(i)?;
            }
        }
        Ok(true)
    }

    /// Starts workers in the places left vacant, unless the pool was
    /// terminated (see `Registry::fill_vacancies`).
    pub(super) fn fill_vacancies(&mut self) -> Result<()> {
        if self.state == State::Terminated {
            return Ok(());
        }
        self.registry.fill_vacancies()
    }

    /// Files `answer`, whose first item is `start`, with its batch (if
    /// anyone still wants it).
    pub(super) fn complete(&mut self, batch: u64, start: usize, answer: Answer) {
        self.filed += 1;
        let Some(b) = self.batches.get_mut(&batch) else {
            return;
        };
        if let Some(callback) = b.file(start, answer) {
            self.callbacks.push(callback);
            if b.discarded {
                self.batches.remove(&batch);
            }
        }
    }

    /// Fails item `index` of `batch` alone.
    pub(super) fn fail(&mut self, batch: u64, index: usize, error: Error) {
        self.complete(batch, index, Answer::Each(vec![Err(error)]));
    }

    /// Stops the workers now (see `Registry::terminate`) and fails every
    /// unfinished item.
    pub(super) fn terminate(&mut self) {
        self.state = State::Terminated;
        let held = self.registry.terminate();
        // Whatever was unfinished fails now, so no waiter waits forever.
        let unfinished: Vec<(u64, usize)> = held
            .into_iter()
            .chain(self.queue.drain(..))
            .flat_map(|job| job.indices().map(move |i| (job.batch, i)))
            .collect();
        for (batch, index) in unfinished {
            self.fail(batch, index, Error::Terminated { index });
        }
    }

    /// Runs queued work to the end, then closes the workers' task channels
    /// and reaps them. With a `deadline` (a dropped pool), the work has
    /// until then, and is given up sooner when no outcome has come for
    /// [`STALL`]; workers still holding work then are killed, and the
    /// others have until the deadline, at most [`KILL_GRACE`], to exit.
    pub(super) fn finish(&mut self, deadline: Option<Instant>) -> Result<()> {
        if self.state != State::Terminated {
            self.fill_vacancies()?;
            let sigint = SigintGuard::install()?;
            let mut stall = Instant::now() + STALL;
            loop {
                let until = deadline.map(|d| d.min(stall));
                let filed = self.filed;
                if !self.step(until, Some(&sigint))? {
                    break;
                }
                let now = Instant::now();
                if self.filed != filed {
                    stall = now + STALL;
                }
                if deadline.is_some_and(|d| now >= d.min(stall)) {
                    break;
                }
            }
        }
        let grace = deadline.map_or(DROP_GRACE, |d| {
            d.saturating_duration_since(Instant::now()).min(KILL_GRACE)
        });
        self.registry.close(grace);
        Ok(())
    }
}
