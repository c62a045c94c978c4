//! [`Queue`]: values passed between any number of processes, first in first
//! out, like Python's `multiprocessing.Queue`.

use std::marker::PhantomData;
use std::os::fd::AsFd;
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

use nix::poll::{PollFd, PollFlags, PollTimeout};
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
        let millis = u16::try_from(left.as_millis()).unwrap_or(u16::MAX);
        let mut fds = [PollFd::new(self.reader.as_fd(), PollFlags::POLLIN)];
        let ready = nix::poll::poll(&mut fds, PollTimeout::from(millis))
            .map_err(|e| Error::os("poll a queue", e))?;
        if ready == 0 {
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
