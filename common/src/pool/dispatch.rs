//! The parent's traffic with its workers: which worker takes which queued
//! job and how far ahead ([`Inner::dispatch`]), writing jobs without ever
//! waiting, reading answers and filing each with its batch
//! ([`Inner::receive`]), and what a worker's death or garbage costs the
//! work: its jobs queued again, the item it died on failed (the registry
//! says which, see `Registry::blame`), the worker replaced.

use std::time::Duration;

use nix::sys::signal::Signal;

use super::answer::Answer;
use super::job::Job;
use super::registry::Fatal;
use super::scheduler::{Inner, State};
use super::wire::Taken;
use super::worker::{KILL_GRACE, PIPELINE, Pipe};
use crate::error::{Error, Result};
use crate::log;

/// How many bytes of jobs a blocking `map` keeps sent ahead to a worker
/// beyond two jobs: large jobs are made as they are needed, into the memory
/// of those answered (see `spare`), however many quick ones came before.
const FEED_BYTES: usize = 1 << 20;

impl Inner {
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
    pub(super) fn flush(&mut self, i: usize) -> Result<()> {
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
        match blame.fatal {
            Some((job, Fatal::At(done))) => {
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
            Some((job, Fatal::Unanswerable)) if job.len() == 1 => {
                let index = job.start;
                self.fail(job.batch, index, Error::WorkerDied { index, pid, how });
            }
            Some((job, Fatal::Unanswerable)) => {
                // Which of its items broke the worker is not known: each
                // runs again alone, and the one that breaks its worker
                // again fails then.
                for single in job.singles().into_iter().rev() {
                    self.queue.push_front(single);
                }
            }
            None => {}
        }
        if self.state == State::Terminated {
            return Ok(());
        }
        self.registry.replace(i, Duration::ZERO)
    }
}
