//! The parent's side of the pool: jobs queued and sent ahead to workers,
//! outcomes routed to the batch they belong to, deaths noticed and their
//! items failed or queued again. See the module docs of `pool` for the
//! protocol.

use super::answer::Answer;
use super::batch::Batch;
use super::job::{Job, make_jobs};
use super::registry::Registry;
use super::spare::Spare;
use super::wire::Taken;
use super::worker::{KILL_GRACE, PIPELINE, Pipe, Worker};
use crate::error::{Error, Result};
use crate::log;
use crate::sys::{self, ErasedFn, SigintGuard};
use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::signal::Signal;
use serde::Serialize;
use std::collections::{HashMap, VecDeque};
use std::os::fd::{AsFd, BorrowedFd};
use std::time::{Duration, Instant};

/// How long [`Drop`] lets queued work finish and workers exit before it
/// kills them.
pub(super) const DROP_GRACE: Duration = Duration::from_secs(5);

/// How many bytes of jobs a blocking `map` keeps sent ahead to a worker
/// beyond two jobs: large jobs are made as they are needed, into the memory
/// of those answered (see `spare`), however many quick ones came before.
const FEED_BYTES: usize = 1 << 20;

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
        let _ = self.step_waking(Some(Instant::now() + poll), None, Some(wake));
        !self.queue.is_empty() || self.registry.workers.iter().any(|w| !w.jobs.is_empty())
    }

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
        let mut fds: Vec<PollFd> = busy
            .iter()
            .map(|&i| PollFd::new(self.registry.workers[i].results.as_fd(), PollFlags::POLLIN))
            .collect();
        // Workers with job bytes still to write: their task pipes, for room.
        let sending: Vec<usize> = busy
            .iter()
            .copied()
            .filter(|&i| self.registry.workers[i].sending())
            .collect();
        for &i in &sending {
            if let Some(tasks) = &self.registry.workers[i].tasks {
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
        let ready: Vec<usize> = busy
            .iter()
            .zip(&fds)
            .filter(|(_, fd)| fd.revents().is_some_and(|r| !r.is_empty()))
            .map(|(&i, _)| i)
            .collect();
        for i in ready {
            self.receive(i)?;
        }
        for i in sending {
            if self.registry.workers[i].sending() {
                self.flush(i)?;
            }
        }
        Ok(true)
    }

    /// Whether worker `i` may be sent another job now.
    fn takes_more(&self, i: usize) -> bool {
        let worker = &self.registry.workers[i];
        worker.jobs.len() < worker.ahead()
            && worker.tasks.is_some()
            && self
                .registry
                .maxtasksperchild
                .is_none_or(|max| worker.jobs_done + worker.jobs.len() < max)
    }

    /// Whether a job made now would go to a worker at once and is needed
    /// there: none waits in the queue, and some worker takes more and has
    /// fewer than two jobs or under [`FEED_BYTES`] of them (see
    /// `blocking`, which makes a `map`'s jobs as they are needed).
    pub(super) fn wants_a_job(&self) -> bool {
        self.queue.is_empty()
            && (0..self.registry.workers.len()).any(|i| {
                let worker = &self.registry.workers[i];
                self.takes_more(i)
                    && (worker.jobs.len() < 2
                        || worker.jobs.iter().map(Job::payload_len).sum::<usize>() < FEED_BYTES)
            })
    }

    /// Sends queued jobs: first one to each idle worker, then a second to
    /// each, so that work spreads before it piles up. A job goes into the
    /// worker's outbox, which is written as far as its pipe takes it.
    pub(super) fn dispatch(&mut self) -> Result<()> {
        self.assign();
        self.flush_all()
    }

    /// [`dispatch`](Inner::dispatch)'s first half: queued jobs go into the
    /// workers' outboxes, not yet written.
    pub(super) fn assign(&mut self) {
        for depth in 0..PIPELINE {
            for i in 0..self.registry.workers.len() {
                if self.queue.is_empty() {
                    return;
                }
                let worker = &self.registry.workers[i];
                if worker.jobs.len() != depth || !self.takes_more(i) {
                    continue;
                }
                let mut job = self.queue.pop_front().expect("not empty");
                match job.frame_head() {
                    Ok(head) => job.head = head,
                    Err(error) => {
                        // Only a job over 4 GiB gets here: its items fail.
                        for index in job.indices() {
                            let message = error.to_string();
                            self.fail(job.batch, index, Error::Codec { index, message });
                        }
                        continue;
                    }
                }
                job.frame_len = job.head.len() + job.payload_len();
                let worker = &mut self.registry.workers[i];
                let range = job.indices();
                log::event(format_args!(
                    "dispatched items {}..{} to pool worker pid {}",
                    range.start, range.end, worker.pid
                ));
                worker.give(job);
            }
        }
    }

    /// Writes every worker's outbox as far as its pipe takes it.
    pub(super) fn flush_all(&mut self) -> Result<()> {
        for i in 0..self.registry.workers.len() {
            if self.registry.workers[i].sending() {
                self.flush(i)?;
            }
        }
        Ok(())
    }

    /// Writes worker `i`'s outbox as far as its pipe takes it; a pipe that
    /// broke means the worker died.
    fn flush(&mut self, i: usize) -> Result<()> {
        if self.registry.workers[i].flush().is_ok() {
            return Ok(());
        }
        if self.registry.workers[i].delivered == self.registry.workers[i].settled {
            // It died with nothing of ours in hand (killed while idle): its
            // jobs go back first, in order, to a new worker, and none of
            // their items fails.
            for job in self.registry.workers[i].take_all().into_iter().rev() {
                self.queue.push_front(job);
            }
            self.registry.workers[i].reap_within(KILL_GRACE);
            return self.registry.replace(i, Duration::ZERO);
        }
        self.worker_died(i)
    }

    /// Reads the answers of worker `i`'s jobs, or handles its death.
    pub(super) fn receive(&mut self, i: usize) -> Result<()> {
        let pipe = self.registry.workers[i].read_available(&mut self.spare);
        let answers = self.registry.workers[i].take_answers();
        self.registry.workers[i].paced(answers.len());
        for answer in answers {
            if !self.answered(i, answer) {
                return self.worker_garbled(i);
            }
            let worker = &self.registry.workers[i];
            if self
                .registry
                .maxtasksperchild
                .is_some_and(|max| worker.jobs_done >= max)
            {
                // The worker exits by itself after its last job; reap and
                // replace it.
                return self.registry.replace(i, KILL_GRACE);
            }
        }
        match pipe {
            Pipe::Open => Ok(()),
            Pipe::Closed => self.worker_died(i),
            Pipe::Garbled => self.worker_garbled(i),
        }
    }

    /// Replaces the workers that ended under the driver, unless the pool
    /// was terminated (see `Registry::fill_vacancies`).
    pub(super) fn fill_vacancies(&mut self) -> Result<()> {
        if self.state == State::Terminated {
            return Ok(());
        }
        self.registry.fill_vacancies()
    }

    /// Worker `i` sent what cannot be an answer (a task wrote into its
    /// result pipe?): it is killed, and the job whose answer that was fails
    /// whole, rather than running again to the same end forever; its other
    /// jobs go back to the queue.
    pub(super) fn worker_garbled(&mut self, i: usize) -> Result<()> {
        let worker = &mut self.registry.workers[i];
        worker.signal(Signal::SIGKILL);
        worker.reap_within(KILL_GRACE);
        let pid = worker.pid_u32();
        let mut jobs = worker.take_all().into_iter();
        let garbled = jobs.next();
        for job in jobs.rev() {
            self.queue.push_front(job);
        }
        if let Some(job) = garbled {
            for index in job.indices() {
                let message =
                    format!("pool worker pid {pid} answered with bytes that are no answer");
                self.fail(job.batch, index, Error::Codec { index, message });
            }
        }
        if self.state == State::Terminated {
            return Ok(());
        }
        self.registry.replace(i, Duration::ZERO)
    }

    /// Records worker `i`'s answer to its oldest job; `false` if the answer
    /// makes no sense (see `worker_garbled`).
    pub(super) fn answered(&mut self, i: usize, taken: Taken) -> bool {
        let worker = &mut self.registry.workers[i];
        let pid = worker.pid_u32();
        let Some(job) = worker.jobs.front() else {
            return false;
        };
        let Some(answer) = Answer::read(taken, job.start, job.len(), pid) else {
            return false;
        };
        let job = worker.take_answered().expect("looked at above");
        worker.jobs_done += 1;
        worker.settled += job.frame_len;
        let (batch, start) = (job.batch, job.start);
        self.spare.put(job.into_buffer());
        self.complete(batch, start, answer);
        true
    }

    /// Files `answer`, whose first item is `start`, with its batch (if
    /// anyone still wants it).
    pub(super) fn complete(&mut self, batch: u64, start: usize, answer: Answer) {
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

    /// Worker `i`'s pipe broke: reap it, fail the item it died on, queue the
    /// rest of its job again, and replace it.
    pub(super) fn worker_died(&mut self, i: usize) -> Result<()> {
        let worker = &mut self.registry.workers[i];
        let how = worker.reap_within(KILL_GRACE);
        let pid = worker.pid_u32();
        // Answers it sent before dying may still wait in the pipe (the death
        // may have been noticed on a write): take them first, without waiting
        // for more, so that the death is blamed on the job it really died in.
        worker.read_available(&mut self.spare);
        for answer in self.registry.workers[i].take_answers() {
            if !self.answered(i, answer) {
                break;
            }
        }
        // Where it was: its other jobs go back whole, first in the queue.
        let blame = self.registry.blame(i);
        for job in blame.again.into_iter().rev() {
            self.queue.push_front(job);
        }
        if let Some((job, done)) = blame.fatal {
            // Items before it finished, but their results died with the
            // worker: they run again, with those after it.
            let fatal = done.min(job.len() - 1);
            let index = job.start + fatal;
            let (before, after) = job.around(fatal);
            for part in [after, before].into_iter().flatten() {
                self.queue.push_front(part);
            }
            self.fail(job.batch, index, Error::WorkerDied { index, pid, how });
        }
        if self.state == State::Terminated {
            return Ok(());
        }
        self.registry.replace(i, Duration::ZERO)
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

    /// Runs queued work to the end (until `deadline`), then closes the
    /// workers' pipes and reaps them.
    pub(super) fn finish(&mut self, deadline: Option<Instant>) -> Result<()> {
        if self.state != State::Terminated {
            self.fill_vacancies()?;
            let sigint = SigintGuard::install()?;
            while self.step(deadline, Some(&sigint))? {
                if deadline.is_some_and(|d| Instant::now() >= d) {
                    break;
                }
            }
        }
        let grace = deadline.map_or(Duration::MAX, |d| {
            d.saturating_duration_since(Instant::now())
        });
        self.registry.close(grace.min(DROP_GRACE));
        Ok(())
    }
}
