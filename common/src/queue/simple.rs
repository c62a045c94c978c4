//! [`SimpleQueue`]: a plain queue, like `multiprocessing.SimpleQueue`.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::Queue;
use crate::error::Result;

/// A queue with no bound, no timeouts and no counts, like
/// `multiprocessing.SimpleQueue()`: [`put`](SimpleQueue::put),
/// [`get`](SimpleQueue::get), [`empty`](SimpleQueue::empty) and
/// [`close`](SimpleQueue::close). It is a [`Queue`] underneath, so values
/// are never torn either.
///
/// ```
/// let queue = common::SimpleQueue::new()?;
/// queue.put(&"hi".to_owned())?;
/// assert!(!queue.empty());
/// assert_eq!(queue.get()?, "hi");
/// # Ok::<(), common::Error>(())
/// ```
#[derive(Debug, Serialize, Deserialize)]
#[serde(bound = "")]
pub struct SimpleQueue<T> {
    queue: Queue<T>,
}

impl<T> Clone for SimpleQueue<T> {
    fn clone(&self) -> SimpleQueue<T> {
        SimpleQueue {
            queue: self.queue.clone(),
        }
    }
}

impl<T: Serialize + DeserializeOwned> SimpleQueue<T> {
    /// A new, empty queue.
    pub fn new() -> Result<SimpleQueue<T>> {
        Ok(SimpleQueue {
            queue: Queue::new()?,
        })
    }

    /// Another handle to the same queue: the same as [`Clone`], which
    /// cannot fail (kept for code written before it).
    pub fn try_clone(&self) -> Result<SimpleQueue<T>> {
        Ok(self.clone())
    }

    /// Adds `item` at the end, like `queue.put(item)`.
    pub fn put(&self, item: &T) -> Result<()> {
        self.queue.put(item)
    }

    /// Takes the first value, waiting for one, like `queue.get()`.
    pub fn get(&self) -> Result<T> {
        self.queue.get()
    }

    /// Whether the queue is empty now, like `queue.empty()`.
    pub fn empty(&self) -> bool {
        self.queue.empty()
    }

    /// Says this handle will put no more, like `queue.close()`.
    pub fn close(&self) {
        self.queue.close();
    }
}
