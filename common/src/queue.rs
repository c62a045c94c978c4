//! [`Queue`]: values passed between any number of processes, first in first
//! out, like Python's `multiprocessing.Queue`.

use std::marker::PhantomData;
use std::os::fd::AsFd;
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::frame;
use crate::lock::Lock;

/// A first-in first-out queue of serde values shared by processes, like
/// `multiprocessing.Queue()`: any process holding a handle can
/// [`put`](Queue::put) and [`get`](Queue::get).
///
/// As in Python's (on Unix), it is a pipe with a lock for writers and a
/// lock for readers, so that values never interleave. Unlike Python's,
/// `put` writes in the calling thread (Python hands it to a feeder thread):
/// it returns once the value is in the pipe, and waits while the pipe is
/// full, so a child that puts a large value must not be joined before the
/// value is taken (Python has the same rule, for its feeder must flush
/// before the child can exit). A handle reaches a child in a closure (fork)
/// or as an argument of [`Process::with_args`](crate::Process::with_args);
/// [`try_clone`](Queue::try_clone) makes another handle to give away.
///
/// ```
/// use common::{Process, Queue};
///
/// fn square_into(q: Queue<u64>) {
///     for n in 1..=3 {
///         q.put(&(n * n)).expect("room in the queue");
///     }
/// }
///
/// let queue = Queue::new()?;
/// let mut process = Process::with_args(square_into, queue.try_clone()?);
/// process.start()?;
/// let squares: Vec<u64> = (0..3).map(|_| queue.get()).collect::<Result<_, _>>()?;
/// process.join()?;
/// assert_eq!(squares, [1, 4, 9]);
/// # Ok::<(), common::Error>(())
/// ```
#[derive(Debug, Serialize, Deserialize)]
#[serde(bound = "")]
pub struct Queue<T> {
    #[serde(with = "crate::crossing")]
    reader: UnixStream,
    #[serde(with = "crate::crossing")]
    writer: UnixStream,
    read_lock: Lock,
    write_lock: Lock,
    #[serde(skip)]
    item: PhantomData<fn(T) -> T>,
}

impl<T: Serialize + DeserializeOwned> Queue<T> {
    /// A new, empty queue.
    ///
    /// ```
    /// let queue = common::Queue::<String>::new()?;
    /// queue.put(&"hello".to_owned())?;
    /// assert_eq!(queue.get()?, "hello");
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn new() -> Result<Queue<T>> {
        let (reader, writer) = UnixStream::pair().map_err(|e| Error::os("socketpair", e))?;
        Ok(Queue {
            reader,
            writer,
            read_lock: Lock::new()?,
            write_lock: Lock::new()?,
            item: PhantomData,
        })
    }

    /// Another handle to the same queue, to give to another process.
    ///
    /// ```
    /// let queue = common::Queue::new()?;
    /// queue.try_clone()?.put(&7u8)?;
    /// assert_eq!(queue.get()?, 7);
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn try_clone(&self) -> Result<Queue<T>> {
        let dup = |s: &UnixStream| s.try_clone().map_err(|e| Error::os("dup", e));
        Ok(Queue {
            reader: dup(&self.reader)?,
            writer: dup(&self.writer)?,
            read_lock: self.read_lock.try_clone()?,
            write_lock: self.write_lock.try_clone()?,
            item: PhantomData,
        })
    }

    /// Adds `item` at the end, like `queue.put(item)`.
    ///
    /// ```
    /// let queue = common::Queue::new()?;
    /// queue.put(&(1, 'a'))?;
    /// assert_eq!(queue.get()?, (1, 'a'));
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn put(&self, item: &T) -> Result<()> {
        let encoded = frame::encode(item).map_err(|e| Error::os("encode a queued value", e))?;
        let _writing = self.write_lock.acquire()?;
        std::io::Write::write_all(&mut &self.writer, &encoded)
            .map_err(|e| Error::os("put on a queue", e))
    }

    /// Takes the first value, waiting for one, like `queue.get()`.
    ///
    /// ```
    /// let queue = common::Queue::new()?;
    /// queue.put(&1u8)?;
    /// queue.put(&2u8)?;
    /// assert_eq!((queue.get()?, queue.get()?), (1, 2));
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn get(&self) -> Result<T> {
        let _reading = self.read_lock.acquire()?;
        self.read_one()
    }

    /// Takes the first value if one comes within `timeout`, like
    /// `queue.get(timeout=t)`; else [`Error::Timeout`] (Python raises
    /// `queue.Empty`).
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let queue = common::Queue::<u8>::new()?;
    /// assert!(matches!(
    ///     queue.get_timeout(Duration::from_millis(10)),
    ///     Err(common::Error::Timeout(_))
    /// ));
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn get_timeout(&self, timeout: Duration) -> Result<T> {
        let deadline = Instant::now() + timeout;
        let Some(_reading) = self.read_lock.acquire_timeout(timeout)? else {
            return Err(Error::Timeout(timeout));
        };
        let left = deadline.saturating_duration_since(Instant::now());
        let ready = crate::sys::readable(self.reader.as_fd(), left)
            .map_err(|e| Error::os("poll a queue", e))?;
        if !ready {
            return Err(Error::Timeout(timeout));
        }
        self.read_one()
    }

    /// Reads one whole value; the caller holds the read lock.
    fn read_one(&self) -> Result<T> {
        match frame::read(&mut &self.reader) {
            Ok(Some(item)) => Ok(item),
            // Every handle has the write end, this one too: no end-of-file.
            Ok(None) => Err(Error::PipeClosed),
            Err(e) => Err(Error::os("get from a queue", e)),
        }
    }
}

/// A [`Queue`] that also counts unfinished values, like
/// `multiprocessing.JoinableQueue`: each [`get`](Queue::get) is answered by
/// a [`task_done`](JoinableQueue::task_done) once its work is done, and
/// [`join`](JoinableQueue::join) waits until every value put has been.
///
/// It derefs to its [`Queue`] for `get` and the rest; its own
/// [`put`](JoinableQueue::put) counts.
///
/// ```
/// use common::{JoinableQueue, Process};
///
/// fn worker(q: JoinableQueue<u32>) {
///     loop {
///         let n = q.get().expect("a value");
///         println!("done {n}");
///         q.task_done().expect("one per get");
///     }
/// }
///
/// let queue = JoinableQueue::new()?;
/// let mut process = Process::with_args(worker, queue.try_clone()?);
/// process.set_daemon(true); // ended when its handle is dropped
/// process.start()?;
/// for n in 0..3 {
///     queue.put(&n)?;
/// }
/// queue.join()?; // every value taken and done
/// # Ok::<(), common::Error>(())
/// ```
#[derive(Debug, Serialize, Deserialize)]
#[serde(bound = "")]
pub struct JoinableQueue<T> {
    queue: Queue<T>,
    unfinished: crate::Value,
    /// Taken while `unfinished` and `all_done` change together.
    lock: Lock,
    /// Set whenever nothing is unfinished.
    all_done: crate::Event,
}

impl<T> std::ops::Deref for JoinableQueue<T> {
    type Target = Queue<T>;

    fn deref(&self) -> &Queue<T> {
        &self.queue
    }
}

impl<T: Serialize + DeserializeOwned> JoinableQueue<T> {
    /// A new, empty queue, with nothing unfinished.
    ///
    /// ```
    /// let q = common::JoinableQueue::<u8>::new()?;
    /// q.join()?; // nothing to wait for
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn new() -> Result<JoinableQueue<T>> {
        let all_done = crate::Event::new()?;
        all_done.set()?;
        Ok(JoinableQueue {
            queue: Queue::new()?,
            unfinished: crate::Value::new(0)?,
            lock: Lock::new()?,
            all_done,
        })
    }

    /// Another handle to the same queue, to give to another process.
    ///
    /// ```
    /// let q = common::JoinableQueue::new()?;
    /// q.try_clone()?.put(&1u8)?;
    /// assert_eq!(q.get()?, 1);
    /// q.task_done()?;
    /// q.join()?;
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn try_clone(&self) -> Result<JoinableQueue<T>> {
        Ok(JoinableQueue {
            queue: self.queue.try_clone()?,
            unfinished: self.unfinished.try_clone()?,
            lock: self.lock.try_clone()?,
            all_done: self.all_done.try_clone()?,
        })
    }

    /// Adds `item` at the end and counts it unfinished, like `q.put(item)`.
    ///
    /// ```
    /// let q = common::JoinableQueue::new()?;
    /// q.put(&"work".to_owned())?;
    /// assert_eq!(q.get()?, "work");
    /// q.task_done()?;
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn put(&self, item: &T) -> Result<()> {
        {
            let _counting = self.lock.acquire()?;
            self.unfinished.add(1);
            self.all_done.clear()?;
        }
        self.queue.put(item)
    }

    /// Says that the work on a value taken with `get` is done, like
    /// `q.task_done()`. More `task_done`s than values put is
    /// [`Error::TaskDoneTooOften`] (Python raises `ValueError`).
    ///
    /// ```
    /// let q = common::JoinableQueue::<u8>::new()?;
    /// assert!(matches!(q.task_done(), Err(common::Error::TaskDoneTooOften)));
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn task_done(&self) -> Result<()> {
        let _counting = self.lock.acquire()?;
        if self.unfinished.get() <= 0 {
            return Err(Error::TaskDoneTooOften);
        }
        if self.unfinished.add(-1) == 1 {
            self.all_done.set()?;
        }
        Ok(())
    }

    /// Waits until every value put has been marked done, like `q.join()`.
    ///
    /// ```
    /// let q = common::JoinableQueue::new()?;
    /// q.put(&1u8)?;
    /// q.get()?;
    /// q.task_done()?;
    /// q.join()?;
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn join(&self) -> Result<()> {
        while !self.all_done.wait(Duration::from_secs(60))? {}
        Ok(())
    }
}
