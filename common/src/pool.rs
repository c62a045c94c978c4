//! [`Pool`]: long-lived worker processes that map a function over items,
//! like Python's `multiprocessing.Pool`.

use std::collections::VecDeque;
use std::fs::File;
use std::ops::Range;
use std::os::fd::{AsFd, AsRawFd};
use std::panic::{self, AssertUnwindSafe};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::error::{Ended, Error, Result};
use crate::frame;
use crate::sys::{self, ErasedFn};

/// How long [`Drop`] waits for workers to exit after their task pipes close,
/// before it kills them.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// How long a worker whose result pipe closed may take to be reaped before it
/// is killed (it may have closed the pipe without exiting).
const DEATH_GRACE: Duration = Duration::from_secs(1);

/// A chunk of items for a worker: the function and the encoded arguments.
/// The parent remembers which items they are (`Worker::pending`).
#[derive(Serialize, Deserialize)]
struct Job {
    func: ErasedFn,
    items: Vec<Vec<u8>>,
}

/// What a worker sends back for each item of a job, in order.
#[derive(Serialize, Deserialize)]
enum Outcome {
    Done(Vec<u8>),
    Panicked(String),
    Codec(String),
}

/// A pool of worker processes, like `multiprocessing.Pool`.
///
/// The workers are forked when the pool is created and live until it is
/// dropped, running task after task and `map` after `map`. Arguments and
/// results cross the pipes between them as serde data; the function crosses
/// as an address, which is why it must be a plain `fn` (a closure that
/// captures nothing coerces to one), just as Python's pool needs a function it
/// can pickle by name.
///
/// ```
/// use common::Pool;
///
/// fn square(n: u64) -> u64 {
///     n * n
/// }
///
/// let mut pool = Pool::new(2)?;
/// assert_eq!(pool.map(square, 1..=4)?, [1, 4, 9, 16]);
/// # Ok::<(), common::Error>(())
/// ```
///
/// # Failures
///
/// - A task that panics fails `map` with [`Error::TaskPanicked`], naming the
///   item; the worker lives on, as Python's does after an exception.
/// - A worker that dies mid-task (killed, aborted, `exit`) fails `map` with
///   [`Error::WorkerDied`], naming the item, the pid and the exit code or
///   signal. It never hangs, where Python's pool waits forever
///   (cpython gh-66587).
/// - After a failure, `map` returns at once: workers still busy with items of
///   that call are killed, and every lost worker is replaced, so the pool is
///   ready for the next call.
/// - Dropping the pool closes the workers' task pipes, waits up to five
///   seconds for them to exit, kills those that did not, and reaps them all.
pub struct Pool {
    workers: Vec<Worker>,
    spawned: usize,
}

struct Worker {
    pid: Pid,
    /// `None` once closed, which tells the worker to exit.
    tasks: Option<File>,
    results: File,
    /// Items of the current job that have not been answered yet.
    pending: Range<usize>,
    /// Set once the worker has been reaped: its pid may then be reused by an
    /// unrelated process, so it must never be signalled or waited for again.
    ended: Option<Ended>,
}

impl Pool {
    /// A pool of `processes` workers, like `Pool(processes=n)`.
    ///
    /// # Errors
    ///
    /// [`Error::NoWorkers`] for 0, [`Error::MultiThreaded`] when the caller has
    /// other threads, [`Error::Os`] when a pipe or fork fails.
    pub fn new(processes: usize) -> Result<Pool> {
        if processes == 0 {
            return Err(Error::NoWorkers(processes));
        }
        let mut pool = Pool {
            workers: Vec::with_capacity(processes),
            spawned: 0,
        };
        for _ in 0..processes {
            let worker = pool.spawn_worker()?;
            pool.workers.push(worker);
        }
        Ok(pool)
    }

    /// A pool with one worker per CPU, like `Pool()`.
    pub fn with_cpus() -> Result<Pool> {
        Pool::new(num_cpus::get())
    }

    /// How many workers the pool has.
    pub fn processes(&self) -> usize {
        self.workers.len()
    }

    /// The workers' process ids.
    pub fn pids(&self) -> Vec<u32> {
        self.workers
            .iter()
            .map(|w| w.pid.as_raw().unsigned_abs())
            .collect()
    }

    /// Applies `func` to every item in worker processes and returns the
    /// results in input order, like `Pool.map`.
    ///
    /// Items are sent in chunks of `ceil(len / (4 * processes))`, Python's
    /// default, each to the next idle worker.
    ///
    /// # Errors
    ///
    /// The first item that failed: [`Error::TaskPanicked`],
    /// [`Error::WorkerDied`] or [`Error::Codec`]; see [`Pool`] for what
    /// happens to the workers then.
    pub fn map<A, R>(
        &mut self,
        func: fn(A) -> R,
        items: impl IntoIterator<Item = A>,
    ) -> Result<Vec<R>>
    where
        A: Serialize + DeserializeOwned,
        R: Serialize + DeserializeOwned,
    {
        self.map_chunked(func, items, None)
    }

    /// [`map`](Pool::map) with Python's `chunksize`: how many items a worker
    /// is sent at a time (`None`: Python's default). Small chunks balance
    /// uneven tasks across workers; large ones cost fewer messages.
    pub fn map_chunked<A, R>(
        &mut self,
        func: fn(A) -> R,
        items: impl IntoIterator<Item = A>,
        chunksize: Option<usize>,
    ) -> Result<Vec<R>>
    where
        A: Serialize + DeserializeOwned,
        R: Serialize + DeserializeOwned,
    {
        let args = items
            .into_iter()
            .enumerate()
            .map(|(index, item)| {
                postcard::to_stdvec(&item).map_err(|e| Error::Codec {
                    index,
                    message: e.to_string(),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let chunksize = chunksize
            .unwrap_or_else(|| args.len().div_ceil(4 * self.workers.len()))
            .max(1);
        let mut chunks: VecDeque<Range<usize>> = (0..args.len())
            .step_by(chunksize)
            .map(|start| start..args.len().min(start + chunksize))
            .collect();
        let mut results: Vec<Option<R>> = args.iter().map(|_| None).collect();
        let func = ErasedFn::new(func);
        let outcome = self.run(
            &mut chunks,
            |index, bytes| {
                let value = postcard::from_bytes(&bytes).map_err(|e| Error::Codec {
                    index,
                    message: e.to_string(),
                })?;
                results[index] = Some(value);
                Ok(())
            },
            |range| Job {
                func,
                items: args[range].to_vec(),
            },
        );
        if let Err(error) = outcome {
            self.recover()?;
            return Err(error);
        }
        Ok(results.into_iter().flatten().collect())
    }

    /// Hands chunks to idle workers and feeds each answer to `accept` until
    /// every chunk is answered or an item fails.
    fn run(
        &mut self,
        chunks: &mut VecDeque<Range<usize>>,
        mut accept: impl FnMut(usize, Vec<u8>) -> Result<()>,
        job: impl Fn(Range<usize>) -> Job,
    ) -> Result<()> {
        loop {
            for worker in self.workers.iter_mut().filter(|w| w.pending.is_empty()) {
                let Some(range) = chunks.pop_front() else {
                    break;
                };
                worker.pending = range.clone();
                let sent = match &mut worker.tasks {
                    Some(tasks) => frame::write(tasks, &job(range)),
                    None => Err(std::io::ErrorKind::BrokenPipe.into()),
                };
                if sent.is_err() {
                    return Err(worker.died());
                }
            }
            let busy: Vec<usize> = (0..self.workers.len())
                .filter(|&i| !self.workers[i].pending.is_empty())
                .collect();
            if busy.is_empty() {
                return Ok(());
            }
            let mut fds: Vec<PollFd> = busy
                .iter()
                .map(|&i| PollFd::new(self.workers[i].results.as_fd(), PollFlags::POLLIN))
                .collect();
            match poll(&mut fds, PollTimeout::NONE) {
                Ok(_) | Err(Errno::EINTR) => {}
                Err(errno) => return Err(Error::os("poll", errno)),
            }
            let ready: Vec<usize> = busy
                .iter()
                .zip(&fds)
                .filter(|(_, fd)| fd.revents().is_some_and(|r| !r.is_empty()))
                .map(|(&i, _)| i)
                .collect();
            for i in ready {
                let worker = &mut self.workers[i];
                let index = worker.pending.start;
                match frame::read::<Outcome>(&mut worker.results) {
                    Ok(Some(Outcome::Done(bytes))) => {
                        worker.pending.start += 1;
                        accept(index, bytes)?;
                    }
                    Ok(Some(Outcome::Panicked(message))) => {
                        return Err(Error::TaskPanicked {
                            index,
                            pid: worker.pid_u32(),
                            message,
                        });
                    }
                    Ok(Some(Outcome::Codec(message))) => {
                        return Err(Error::Codec { index, message });
                    }
                    Ok(None) | Err(_) => return Err(worker.died()),
                }
            }
        }
    }

    /// After a failed `map`: kills the workers still busy, and replaces them
    /// and any that died, so that every worker is idle and alive.
    fn recover(&mut self) -> Result<()> {
        for i in 0..self.workers.len() {
            let worker = &mut self.workers[i];
            if worker.ended.is_none() && worker.pending.is_empty() {
                continue;
            }
            worker.kill();
            let fresh = self.spawn_worker()?;
            std::mem::replace(&mut self.workers[i], fresh).close_and_reap(Duration::ZERO);
        }
        Ok(())
    }

    fn spawn_worker(&mut self) -> Result<Worker> {
        let (task_rx, task_tx) = sys::pipe()?;
        let (result_rx, result_tx) = sys::pipe()?;
        sys::register_parent_fd(task_tx.as_raw_fd());
        sys::register_parent_fd(result_rx.as_raw_fd());
        self.spawned += 1;
        let label = format!("PoolWorker-{}", self.spawned);
        let forked = sys::fork(&label, || {
            worker_loop(File::from(task_rx), File::from(result_tx))
        });
        match forked {
            Ok(pid) => Ok(Worker {
                pid,
                tasks: Some(File::from(task_tx)),
                results: File::from(result_rx),
                pending: 0..0,
                ended: None,
            }),
            Err(error) => {
                sys::forget_parent_fd(task_tx.as_raw_fd());
                sys::forget_parent_fd(result_rx.as_raw_fd());
                Err(error)
            }
        }
    }
}

impl Worker {
    fn pid_u32(&self) -> u32 {
        self.pid.as_raw().unsigned_abs()
    }

    /// Sends SIGKILL unless the worker has been reaped already.
    fn kill(&self) {
        if self.ended.is_none() {
            let _ = kill(self.pid, Signal::SIGKILL);
        }
    }

    /// Reaps the worker, killing it if it has not ended within `grace`.
    fn reap_within(&mut self, grace: Duration) -> Ended {
        if let Some(ended) = self.ended {
            return ended;
        }
        let ended = match sys::reap_timeout(self.pid, grace) {
            Ok(Some(ended)) => ended,
            _ => {
                self.kill();
                // If even this fails the child is not ours to wait for.
                sys::reap(self.pid, true)
                    .ok()
                    .flatten()
                    .unwrap_or(Ended::Signaled(Signal::SIGKILL))
            }
        };
        self.ended = Some(ended);
        ended
    }

    /// The error for a worker whose pipe broke while it ran `pending.start`.
    /// Reaps it, killing it first if it does not end within a second (it
    /// may have closed the pipe without exiting).
    fn died(&mut self) -> Error {
        Error::WorkerDied {
            index: self.pending.start,
            pid: self.pid_u32(),
            how: self.reap_within(DEATH_GRACE),
        }
    }

    /// Closes the task pipe, the worker's cue to exit, without waiting.
    fn close_tasks(&mut self) {
        if let Some(tasks) = self.tasks.take() {
            sys::forget_parent_fd(tasks.as_raw_fd());
        }
    }

    fn close_and_reap(mut self, grace: Duration) {
        self.close_tasks();
        self.reap_within(grace);
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

impl Drop for Pool {
    fn drop(&mut self) {
        // Close every task pipe first, so that the workers exit side by side.
        for worker in &mut self.workers {
            worker.close_tasks();
        }
        let deadline = Instant::now() + SHUTDOWN_GRACE;
        for worker in &mut self.workers {
            worker.reap_within(deadline.saturating_duration_since(Instant::now()));
        }
    }
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool").field("pids", &self.pids()).finish()
    }
}

/// A worker's life: run jobs until the task pipe closes.
fn worker_loop(mut tasks: File, mut results: File) -> i32 {
    loop {
        let job: Job = match frame::read(&mut tasks) {
            Ok(Some(job)) => job,
            Ok(None) => return 0,
            Err(_) => return 1,
        };
        for item in &job.items {
            let outcome = match panic::catch_unwind(AssertUnwindSafe(|| job.func.call(item))) {
                Ok(Ok(bytes)) => Outcome::Done(bytes),
                Ok(Err(message)) => Outcome::Codec(message),
                Err(payload) => Outcome::Panicked(panic_message(payload.as_ref())),
            };
            // What the task printed goes out before its result, so a parent
            // that prints after `map` returns cannot overtake it.
            sys::flush_stdio();
            if frame::write(&mut results, &outcome).is_err() {
                return 1;
            }
        }
    }
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic with a non-string payload".to_owned())
}
