//! [`Queue`]: values passed between any number of processes, first in first
//! out, like Python's `multiprocessing.Queue`; [`SimpleQueue`], its plain
//! kin; and [`JoinableQueue`], which counts unfinished work.
//!
//! A queue is a ring of bytes in shared memory (see `sys::ring`: a value
//! arrives whole or not at all, and while writers and readers are both
//! busy, values pass with no system call), a write lock and a read lock
//! (robust: a process killed holding one does not keep it), and, when
//! bounded, a semaphore of free places.

mod joinable;
mod simple;

use std::cell::RefCell;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::sync::{Lock, Semaphore};
use crate::sys::{Ring, deadline_in};

pub use joinable::JoinableQueue;
pub use simple::SimpleQueue;

/// A first-in first-out queue of serde values shared by processes, like
/// `multiprocessing.Queue(maxsize)`: any process holding a handle can
/// [`put`](Queue::put) and [`get`](Queue::get).
///
/// Unlike Python's, `put` writes in the calling thread (Python hands it to
/// a feeder thread): it returns once the value is in the queue's shared
/// memory (64 KiB, as much as a pipe holds), and waits while that (or a
/// bounded queue) is full, so a child that puts many values must not be
/// joined before they are taken (Python has the same rule, for its feeder
/// must flush before the child can exit). A writer
/// killed in the middle of a `put` leaves no torn value: the queue drops it
/// and goes on. A handle reaches a child in a closure (fork) or as an
/// argument of [`Process::with_args`](crate::Process::with_args);
/// [`clone`](Clone::clone) makes another handle to give away (it cannot fail).
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
/// let mut process = Process::with_args(square_into, queue.clone());
/// process.start()?;
/// let squares: Vec<u64> = (0..3).map(|_| queue.get()).collect::<Result<_, _>>()?;
/// process.join()?;
/// assert_eq!(squares, [1, 4, 9]);
/// # Ok::<(), common::Error>(())
/// ```
#[derive(Debug, Serialize, Deserialize)]
#[serde(bound = "")]
pub struct Queue<T> {
    ring: Ring,
    read_lock: Lock,
    write_lock: Lock,
    /// The free places of a bounded queue, and how many there are.
    places: Option<(Semaphore, usize)>,
    /// Set by [`Queue::close`] on this handle.
    #[serde(skip)]
    closed: AtomicBool,
    #[serde(skip)]
    item: PhantomData<fn(T) -> T>,
}

impl<T> Clone for Queue<T> {
    /// Another handle to the same queue, open whether or not this one
    /// was closed (no system call, so it cannot fail).
    fn clone(&self) -> Queue<T> {
        Queue {
            ring: self.ring.clone(),
            read_lock: self.read_lock.clone(),
            write_lock: self.write_lock.clone(),
            places: self.places.clone(),
            closed: AtomicBool::new(false),
            item: PhantomData,
        }
    }
}

impl<T: Serialize + DeserializeOwned> Queue<T> {
    /// A new, empty queue with no bound, like `Queue()`.
    ///
    /// ```
    /// let queue = common::Queue::<String>::new()?;
    /// queue.put(&"hello".to_owned())?;
    /// assert_eq!(queue.get()?, "hello");
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn new() -> Result<Queue<T>> {
        Queue::make(None)
    }

    /// A new, empty queue that holds at most `maxsize` values, like
    /// `Queue(maxsize)`: a `put` waits while it is full (`maxsize` 0: no
    /// bound, as in Python).
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let queue = common::Queue::with_maxsize(1)?;
    /// queue.put(&1u8)?;
    /// assert!(queue.full());
    /// assert!(matches!(queue.put_nowait(&2), Err(common::Error::Full)));
    /// assert_eq!(queue.get()?, 1);
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn with_maxsize(maxsize: usize) -> Result<Queue<T>> {
        Queue::make((maxsize > 0).then_some(maxsize))
    }

    fn make(maxsize: Option<usize>) -> Result<Queue<T>> {
        Ok(Queue {
            ring: Ring::new()?,
            read_lock: Lock::new()?,
            write_lock: Lock::new()?,
            places: match maxsize {
                Some(maxsize) => Some((Semaphore::new(maxsize)?, maxsize)),
                None => None,
            },
            closed: AtomicBool::new(false),
            item: PhantomData,
        })
    }

    /// Another handle to the same queue: the same as [`Clone`], which
    /// cannot fail (kept for code written before it).
    pub fn try_clone(&self) -> Result<Queue<T>> {
        Ok(self.clone())
    }

    /// Adds `item` at the end, waiting for room if the queue is bounded and
    /// full, like `queue.put(item)`.
    ///
    /// ```
    /// let queue = common::Queue::new()?;
    /// queue.put(&(1, 'a'))?;
    /// assert_eq!(queue.get()?, (1, 'a'));
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn put(&self, item: &T) -> Result<()> {
        self.put_by(item, None)
    }

    /// As [`put`](Queue::put), waiting at most `timeout` for room:
    /// [`Error::Full`] if none came, like `queue.put(item, timeout=t)`.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let queue = common::Queue::with_maxsize(1)?;
    /// queue.put_timeout(&1u8, Duration::ZERO)?;
    /// assert!(matches!(
    ///     queue.put_timeout(&2, Duration::from_millis(5)),
    ///     Err(common::Error::Full)
    /// ));
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn put_timeout(&self, item: &T, timeout: Duration) -> Result<()> {
        self.put_by(item, deadline_in(timeout))
    }

    /// Adds `item` only if there is room now, like `queue.put_nowait(item)`;
    /// [`Error::Full`] if not.
    pub fn put_nowait(&self, item: &T) -> Result<()> {
        self.put_timeout(item, Duration::ZERO)
    }

    fn put_by(&self, item: &T, deadline: Option<Instant>) -> Result<()> {
        if self.closed.load(Ordering::Relaxed) {
            return Err(Error::QueueClosed);
        }
        encoded(item, |encoded| {
            let left = || deadline.map(|d| d.saturating_duration_since(Instant::now()));
            let place = match &self.places {
                Some((places, _)) => match left() {
                    None => Some(places.acquire()?),
                    Some(left) => Some(places.acquire_timeout(left)?.ok_or(Error::Full)?),
                },
                None => None,
            };
            let writing = match left() {
                None => self.write_lock.acquire()?,
                Some(left) => self.write_lock.acquire_timeout(left)?.ok_or(Error::Full)?,
            };
            if !self.ring.write(encoded, deadline) {
                return Err(Error::Full);
            }
            drop(writing);
            if let Some(place) = place {
                // The place now belongs to the value in the queue: a `get`
                // frees it, not this process's end.
                place.spend()?;
            }
            Ok(())
        })
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
        self.get_by(None, Duration::MAX)
    }

    /// Takes the first value if one comes within `timeout`, like
    /// `queue.get(timeout=t)`; else [`Error::Timeout`] (Python raises
    /// `queue.Empty`). It returns by then even if a writer stopped in the
    /// middle of a value (the value is then dropped).
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
        self.get_by(deadline_in(timeout), timeout)
    }

    /// Takes the first value if there is one now, like
    /// `queue.get_nowait()`; else [`Error::Timeout`].
    ///
    /// ```
    /// let queue = common::Queue::<u8>::new()?;
    /// assert!(queue.get_nowait().is_err());
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn get_nowait(&self) -> Result<T> {
        self.get_timeout(Duration::ZERO)
    }

    fn get_by(&self, deadline: Option<Instant>, timeout: Duration) -> Result<T> {
        let reading = match deadline {
            None => self.read_lock.acquire()?,
            Some(deadline) => self
                .read_lock
                .acquire_timeout(deadline.saturating_duration_since(Instant::now()))?
                .ok_or(Error::Timeout(timeout))?,
        };
        let decoded = self
            .ring
            .read(deadline, |bytes| postcard::from_bytes::<T>(bytes))
            .ok_or(Error::Timeout(timeout))?;
        drop(reading);
        if let Some((places, _)) = &self.places {
            places.release()?;
        }
        decoded.map_err(|e| Error::os("decode a queued value", std::io::Error::other(e)))
    }

    /// How many values are in the queue now, like `queue.qsize()` (as in
    /// Python, others may change it at once).
    ///
    /// ```
    /// let queue = common::Queue::new()?;
    /// queue.put(&1u8)?;
    /// assert_eq!(queue.qsize(), 1);
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn qsize(&self) -> usize {
        self.ring.values()
    }

    /// Whether the queue is empty now, like `queue.empty()`.
    ///
    /// ```
    /// assert!(common::Queue::<u8>::new()?.empty());
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn empty(&self) -> bool {
        self.qsize() == 0
    }

    /// Whether a bounded queue is full now, like `queue.full()`.
    ///
    /// ```
    /// assert!(!common::Queue::<u8>::new()?.full());
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn full(&self) -> bool {
        self.places
            .as_ref()
            .is_some_and(|(_, maxsize)| self.qsize() >= *maxsize)
    }

    /// Says this handle will put no more, like `queue.close()`: a later
    /// `put` through it is [`Error::QueueClosed`]. Values already put stay
    /// for the readers; other handles are not affected.
    ///
    /// ```
    /// let queue = common::Queue::new()?;
    /// queue.put(&1u8)?;
    /// queue.close();
    /// assert!(matches!(queue.put(&2), Err(common::Error::QueueClosed)));
    /// assert_eq!(queue.get()?, 1);
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn close(&self) {
        self.closed.store(true, Ordering::Relaxed);
    }
}

/// Encodes `item` into this thread's buffer, kept from one `put` to the
/// next, and gives the bytes to `write`.
fn encoded<T: Serialize, R>(item: &T, write: impl FnOnce(&[u8]) -> Result<R>) -> Result<R> {
    thread_local! {
        static BUFFER: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
    }
    // Taken out of the cell while in use, so that a `put` inside another
    // (from a value's `Serialize`) finds it empty rather than borrowed.
    let mut buffer = BUFFER.take();
    buffer.clear();
    let buffer = postcard::to_extend(item, buffer)
        .map_err(|e| Error::os("encode a queued value", std::io::Error::other(e)))?;
    let written = write(&buffer);
    // Not kept if one large value made it large.
    if buffer.capacity() <= 1 << 20 {
        BUFFER.set(buffer);
    }
    written
}
