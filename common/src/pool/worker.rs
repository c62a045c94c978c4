//! The parent's handle on one worker process: its pipes, the jobs sent to
//! it, and how it ended.

use super::job::Job;
use super::spare::Spare;
use super::wire::{self, LONE, Taken};
use crate::error::Ended;
use crate::log;
use crate::sys;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use std::collections::VecDeque;
use std::fs::File;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::time::{Duration, Instant};

/// What reading a worker's result pipe found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Pipe {
    /// Open, all read that was there.
    Open,
    /// Closed: the worker has ended.
    Closed,
    /// Bytes that cannot be answers (a task wrote into the pipe?): the
    /// worker is done for, not the parent (see `Inner::worker_garbled`).
    Garbled,
}

/// The least and most a read of a worker's answers asks for.
const READ_MIN: usize = 64 * 1024;
const READ_MAX: usize = 8 << 20;

/// The most jobs a worker may have been sent ahead of its answers: the
/// next job is already in its pipe when it finishes one, so it does not sit
/// idle while the parent reads the answer and sends more, and several
/// quick jobs are read at once (see `worker_loop`). How many it is
/// actually sent follows how fast it answers (see `Worker::paced`), so that
/// slow jobs do not pile up behind one worker while another is idle. The
/// parent never blocks writing a job (see `Worker::flush`), so a worker
/// blocked writing an answer the parent has not read yet cannot deadlock
/// it.
pub(super) const PIPELINE: usize = 64;

/// The fewest jobs a worker is sent ahead of its answers.
const AHEAD_MIN: usize = 2;

/// About how long the jobs sent ahead to a worker should take it (see
/// [`Worker::paced`]): enough to cover the parent's round trip many times
/// over, short enough that a worker does not hold much work another could
/// take.
const AHEAD_TIME: Duration = Duration::from_millis(1);

/// How long a worker may take to end after SIGTERM, or after its pipe
/// closed, before it is killed.
pub(super) const KILL_GRACE: Duration = Duration::from_secs(1);

pub(super) struct Worker {
    pub(super) pid: Pid,
    /// Readable once the worker has ended (a pidfd; `None` on a kernel
    /// without them): its death is seen from the kernel, whoever else holds
    /// its pipes (a child its task made).
    pub(super) sentinel: Option<OwnedFd>,
    /// Its slot, and so its progress word (see `Registry`).
    pub(super) slot: usize,
    /// `None` once closed, which tells the worker to exit.
    pub(super) tasks: Option<File>,
    pub(super) results: File,
    /// What has been read of its answers and not yet taken as whole frames.
    inbox: Vec<u8>,
    /// The bytes of a [`LONE`] answer being read into a buffer of their
    /// own, and how many it will have.
    lone: Option<(Vec<u8>, usize)>,
    /// Answers taken out of the inbox ahead of those still in it.
    ready: Vec<Taken>,
    /// The jobs sent to it and not answered yet, oldest (the one it is
    /// running) first; at most [`ahead`](Worker::ahead).
    pub(super) jobs: VecDeque<Job>,
    /// How many jobs it may be sent ahead now (see [`Worker::paced`]).
    ahead: usize,
    /// Since when it has had jobs without a pause, counting from its last
    /// answers.
    busy_since: Option<Instant>,
    /// Which of `jobs` is the first its task pipe has not taken whole, and
    /// how many of that job's bytes it has taken: the parent never blocks
    /// writing (see [`Worker::flush`]), and writes each job's header and
    /// payload where they lie, without copying them into one buffer.
    pub(super) unsent: usize,
    pub(super) unsent_offset: usize,
    /// Whether the task pipe takes pages (`vmsplice`): until it refuses.
    splicing: bool,
    /// Bytes its task pipe has taken in all, and the frames' bytes of the
    /// jobs it has answered: while they are equal, nothing it has been
    /// sent is in its hands.
    pub(super) delivered: usize,
    pub(super) settled: usize,
    pub(super) jobs_done: usize,
    /// Set once the worker has been reaped: its pid may then be reused by an
    /// unrelated process, so it must never be signalled or waited for again.
    pub(super) ended: Option<Ended>,
}

impl Worker {
    /// The parent's handle on worker `pid`, which has slot `slot` and the
    /// other ends of these pipes.
    pub(super) fn new(pid: Pid, slot: usize, tasks: File, results: File) -> Worker {
        Worker {
            pid,
            sentinel: sys::pidfd_open(pid),
            slot,
            tasks: Some(tasks),
            results,
            inbox: Vec::new(),
            lone: None,
            ready: Vec::new(),
            jobs: VecDeque::new(),
            ahead: AHEAD_MIN,
            busy_since: None,
            unsent: 0,
            unsent_offset: 0,
            splicing: true,
            delivered: 0,
            settled: 0,
            jobs_done: 0,
            ended: None,
        }
    }

    pub(super) fn pid_u32(&self) -> u32 {
        self.pid.as_raw().unsigned_abs()
    }

    /// How many jobs it may be sent ahead of its answers now.
    pub(super) fn ahead(&self) -> usize {
        self.ahead
    }

    /// Gives it `job`, to be written by [`flush`](Worker::flush).
    pub(super) fn give(&mut self, job: Job) {
        if self.jobs.is_empty() {
            self.busy_since = Some(Instant::now());
        }
        self.jobs.push_back(job);
    }

    /// Notes that `answered` answers just came: it is sent ahead about as
    /// many jobs as it finishes in [`AHEAD_TIME`], between [`AHEAD_MIN`]
    /// and [`PIPELINE`]; the estimate moves halfway each time.
    pub(super) fn paced(&mut self, answered: usize) {
        self.paced_at(answered, Instant::now());
    }

    fn paced_at(&mut self, answered: usize, now: Instant) {
        if answered == 0 {
            return;
        }
        if let Some(since) = self.busy_since {
            let per_job = now.duration_since(since).as_nanos() / answered as u128;
            let fits = AHEAD_TIME.as_nanos() / per_job.max(1);
            let target = usize::try_from(fits)
                .unwrap_or(PIPELINE)
                .clamp(AHEAD_MIN, PIPELINE);
            self.ahead = self.ahead.midpoint(target);
        }
        // The answered jobs leave now (the caller takes them).
        self.busy_since = (self.jobs.len() > answered).then_some(now);
    }

    /// Reads what the worker has sent, without ever waiting for more (its
    /// pipe was just seen readable, or is read for what is left): a worker
    /// stopped in the middle of an answer cannot block the parent. Says
    /// whether the pipe is still open.
    ///
    /// One function of about 85 lines on purpose: it is the parent's path
    /// for every answer, and its three ways of reading (the rest of a lone
    /// byte vector into its own buffer, whole answers taken from the inbox,
    /// more read into the inbox) share the inbox and hand over to each
    /// other by `continue`; split, each part would return a verdict for the
    /// loop to match on every read.
    pub(super) fn read_available(&mut self, spare: &mut Spare) -> Pipe {
        use nix::errno::Errno;
        loop {
            if let Some((body, len)) = &mut self.lone {
                let want = *len - body.len();
                if want == 0 {
                    let (bytes, _) = self.lone.take().expect("looked at above");
                    self.ready.push(Taken {
                        tag: LONE,
                        bytes,
                        from: 0,
                    });
                    continue;
                }
                match sys::read_onto(self.results.as_fd(), body, want) {
                    Ok(0) => return Pipe::Closed,
                    Ok(n) if n < want => return Pipe::Open,
                    Ok(_) | Err(Errno::EINTR) => continue,
                    Err(Errno::EAGAIN) => return Pipe::Open,
                    Err(_) => return Pipe::Closed,
                }
            }
            // Room for the rest of an answer whose length is known (read
            // straight into place, in large reads), else for a pipe's worth.
            let Some((missing, whole)) = wire::missing(&self.inbox) else {
                // Not answers (a task wrote into the pipe?): the worker is
                // done for, not the parent.
                return Pipe::Garbled;
            };
            let complete = missing == 0 && self.inbox.len() >= wire::ANSWER_LEN;
            if complete || (whole >= wire::TAKE_WHOLE && self.inbox.len() + missing > whole) {
                // Whole answers go before more is read: a large one then
                // starts the inbox and ends it, and is taken with its memory
                // (see `wire::take_answers`), which kept memory replaces.
                self.ready.extend(wire::take_answers(&mut self.inbox));
                if self.inbox.capacity() == 0 {
                    self.inbox = spare.take_largest();
                }
                continue;
            }
            // Room for the whole answer at once: no copying as it grows.
            if self.inbox.try_reserve(missing).is_err() {
                // A length this process cannot hold: as above.
                return Pipe::Garbled;
            }
            // A large answer is read to its end and no further, so that it
            // is taken with the inbox's memory, not copied out of it (see
            // `wire::take_answers`); small ones many at a time.
            let want = if whole >= wire::TAKE_WHOLE {
                missing.min(READ_MAX)
            } else {
                missing.clamp(READ_MIN, READ_MAX)
            };
            // Non-blocking (see `Registry::spawn_worker`): no poll before
            // each read.
            let read = sys::read_onto(self.results.as_fd(), &mut self.inbox, want);
            if let Some((at, len)) = wire::lone_begins(&self.inbox) {
                // A large byte vector comes: the rest of it goes into its
                // own buffer, which becomes the result as it is.
                let started = self.inbox.split_off(at);
                self.ready.extend(wire::take_answers(&mut self.inbox));
                let mut body = Vec::new();
                if body.try_reserve_exact(len).is_err() {
                    return Pipe::Garbled;
                }
                sys::prefault(&mut body);
                body.extend_from_slice(&started[wire::LONE_HEAD..]);
                self.lone = Some((body, len));
            }
            match read {
                Ok(0) => return Pipe::Closed,
                // What came is looked at before the pipe is left: garbage
                // followed by nothing would otherwise wait forever.
                Ok(n) if n < want => {
                    if wire::missing(&self.inbox).is_none() {
                        return Pipe::Garbled;
                    }
                    return Pipe::Open;
                }
                Ok(_) => {}
                Err(Errno::EAGAIN) => return Pipe::Open,
                Err(Errno::EINTR) => {}
                Err(_) => return Pipe::Closed,
            }
        }
    }

    /// Takes every whole answer read so far, oldest first.
    pub(super) fn take_answers(&mut self) -> Vec<Taken> {
        let mut taken = std::mem::take(&mut self.ready);
        taken.extend(wire::take_answers(&mut self.inbox));
        taken
    }

    /// Writes the jobs not yet written, as far as the task pipe takes them
    /// without waiting: one `writev` gathers the headers and payloads of
    /// several jobs where they lie (see `job`). `Ok(true)` once all are
    /// written.
    pub(super) fn flush(&mut self) -> std::io::Result<bool> {
        use nix::errno::Errno;
        use std::io::IoSlice;
        /// The most pieces one `writev` gathers (the kernel's limit).
        const GATHER: usize = 1024;
        /// The least piece worth handing over as pages.
        const SPLICE_MIN: usize = 16 * 1024;
        let Some(tasks) = &self.tasks else {
            return Err(std::io::ErrorKind::BrokenPipe.into());
        };
        while self.unsent < self.jobs.len() {
            let mut slices = Vec::new();
            let mut skip = self.unsent_offset;
            'gather: for job in self.jobs.iter().skip(self.unsent) {
                for piece in job.pieces() {
                    if skip >= piece.len() {
                        skip -= piece.len();
                        continue;
                    }
                    slices.push(IoSlice::new(&piece[skip..]));
                    skip = 0;
                    if slices.len() == GATHER {
                        break 'gather;
                    }
                }
            }
            // Large pieces are handed over as pages rather than copied:
            // a job's bytes stay as they are until it is answered, which
            // the worker does only after reading all of it (see
            // `sys::splice_pages`).
            let splice = self.splicing && slices.iter().any(|s| s.len() >= SPLICE_MIN);
            let sent = if splice {
                sys::splice_pages(tasks.as_fd(), &slices, false)
            } else {
                nix::sys::uio::writev(tasks, &slices)
            };
            let mut written = match sent {
                Ok(n) => n,
                Err(Errno::EAGAIN) => return Ok(false),
                Err(Errno::EINTR) => continue,
                Err(Errno::EINVAL | Errno::EBADF | Errno::ENOSYS | Errno::EPERM) if splice => {
                    // Not a pipe (a spawned worker's socket), or no
                    // `vmsplice` here (a seccomp filter refuses it, as the
                    // grader's sandbox does): copy.
                    self.splicing = false;
                    continue;
                }
                Err(errno) => return Err(errno.into()),
            };
            self.delivered += written;
            // Move the cursor over what went: whole jobs, then part of one.
            while written > 0 {
                let left = self.jobs[self.unsent].frame_len - self.unsent_offset;
                if written >= left {
                    written -= left;
                    self.unsent += 1;
                    self.unsent_offset = 0;
                } else {
                    self.unsent_offset += written;
                    written = 0;
                }
            }
        }
        Ok(true)
    }

    /// Whether some job is not yet written whole.
    pub(super) fn sending(&self) -> bool {
        self.unsent < self.jobs.len()
    }

    /// Takes the oldest job, answered: it was written whole.
    pub(super) fn take_answered(&mut self) -> Option<Job> {
        let job = self.jobs.pop_front()?;
        self.unsent = self.unsent.saturating_sub(1);
        Some(job)
    }

    /// Takes every job back (the worker is gone), oldest first.
    pub(super) fn take_all(&mut self) -> Vec<Job> {
        self.unsent = 0;
        self.unsent_offset = 0;
        self.jobs.drain(..).collect()
    }

    /// Sends `signal` unless the worker has been reaped already.
    pub(super) fn signal(&self, signal: Signal) {
        if self.ended.is_none() {
            let _ = kill(self.pid, signal);
        }
    }

    /// Reaps the worker, killing it if it has not ended within `grace`.
    pub(super) fn reap_within(&mut self, grace: Duration) -> Ended {
        if let Some(ended) = self.ended {
            return ended;
        }
        let ended = match sys::reap_timeout(self.pid, grace) {
            Ok(Some(ended)) => ended,
            _ => {
                self.signal(Signal::SIGKILL);
                // If even this fails the child is not ours to wait for.
                sys::reap(self.pid, true)
                    .ok()
                    .flatten()
                    .unwrap_or(Ended::Signaled(Signal::SIGKILL))
            }
        };
        log::event(format_args!("pool worker pid {} {ended}", self.pid));
        crate::children::ended(self.pid);
        self.ended = Some(ended);
        ended
    }

    /// Closes the task pipe, the worker's cue to exit, without waiting.
    pub(super) fn close_tasks(&mut self) {
        if let Some(tasks) = self.tasks.take() {
            sys::forget_parent_fd(tasks.as_raw_fd());
            // A spawned worker's tasks and results share one socket: closing
            // this copy alone would not tell it that no more work comes.
            let _ =
                nix::sys::socket::shutdown(tasks.as_raw_fd(), nix::sys::socket::Shutdown::Write);
        }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        // Forgotten before the fields are closed, so that no later child
        // closes an unrelated file that reuses the number.
        self.close_tasks();
        sys::forget_parent_fd(self.results.as_raw_fd());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A handle on no process, for its bookkeeping alone.
    fn idle_worker() -> Worker {
        let null = || File::open("/dev/null").expect("/dev/null");
        Worker::new(Pid::from_raw(0), 0, null(), null())
    }

    #[test]
    fn quick_answers_deepen_the_pipeline_and_slow_ones_shallow_it() {
        let mut worker = idle_worker();
        assert_eq!(worker.ahead(), AHEAD_MIN, "a new worker starts shallow");
        // A hundred answers in a millisecond: 10 us a job, a hundred fit
        // in AHEAD_TIME; it goes halfway there, then all the way to the
        // most.
        let now = Instant::now();
        for expected in [33, 48, 56, 60, 62, 63, 63] {
            worker.busy_since = Some(now - Duration::from_millis(1));
            worker.paced_at(100, now);
            assert_eq!(worker.ahead(), expected);
        }
        // Jobs of 10 ms each: back down to the fewest.
        for _ in 0..8 {
            worker.busy_since = Some(now - Duration::from_millis(10));
            worker.paced_at(1, now);
        }
        assert_eq!(worker.ahead(), AHEAD_MIN);
        // Time spent idle does not count: no job, no estimate.
        worker.busy_since = None;
        worker.paced_at(5, now);
        assert_eq!(worker.ahead(), AHEAD_MIN);
    }
}
