//! [`JoinableQueue`]: a [`Queue`] that counts unfinished values, like
//! `multiprocessing.JoinableQueue`.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::Queue;
use crate::error::{Error, Result};
use crate::sync::Lock;

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
/// let mut process = Process::with_args(worker, queue.clone());
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

impl<T> Clone for JoinableQueue<T> {
    fn clone(&self) -> JoinableQueue<T> {
        JoinableQueue {
            queue: self.queue.clone(),
            unfinished: self.unfinished.clone(),
            lock: self.lock.clone(),
            all_done: self.all_done.clone(),
        }
    }
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

    /// Another handle to the same queue: the same as [`Clone`], which
    /// cannot fail (kept for code written before it).
    pub fn try_clone(&self) -> Result<JoinableQueue<T>> {
        Ok(self.clone())
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
        self.all_done.wait()
    }
}
