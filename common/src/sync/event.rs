//! [`Event`]: a flag that processes share and wait on, like
//! `multiprocessing.Event()`.

use std::sync::atomic::Ordering::SeqCst;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::sys::{Slots, deadline_in, futex};

/// A flag that processes share and can wait on, like
/// `multiprocessing.Event()`: [`wait`](Event::wait) returns once another
/// process has [`set`](Event::set) it, and
/// [`wait_timeout`](Event::wait_timeout) gives up after a while.
///
/// It is two words of shared memory: the flag, and a generation that
/// waiters sleep on (a futex) and `set` bumps.
///
/// ```
/// use std::time::Duration;
///
/// let started = common::Event::new()?;
/// assert!(!started.wait_timeout(Duration::from_millis(1))?);
/// started.set()?;
/// assert!(started.is_set()?);
/// started.wait()?;
/// assert!(started.wait_timeout(Duration::ZERO)?);
/// started.clear()?;
/// assert!(!started.is_set()?);
/// # Ok::<(), common::Error>(())
/// ```
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Event {
    /// The flag, then the generation.
    words: Slots,
}

const FLAG: usize = 0;
const GENERATION: usize = 1;

impl Event {
    /// A new event, not set.
    ///
    /// ```
    /// assert!(!common::Event::new()?.is_set()?);
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn new() -> Result<Event> {
        Ok(Event {
            words: Slots::new(2)?,
        })
    }

    /// Another handle to the same event: the same as [`Clone`], which
    /// cannot fail (kept for code written before it).
    pub fn try_clone(&self) -> Result<Event> {
        Ok(self.clone())
    }

    /// Whether it is set, like `event.is_set()`.
    ///
    /// ```
    /// let e = common::Event::new()?;
    /// e.set()?;
    /// assert!(e.is_set()?);
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn is_set(&self) -> Result<bool> {
        Ok(self.words.slot(FLAG).load(SeqCst) != 0)
    }

    /// Sets it, waking every process waiting on it, like `event.set()`.
    ///
    /// ```
    /// let e = common::Event::new()?;
    /// e.set()?;
    /// e.set()?; // setting twice is setting once
    /// e.clear()?;
    /// assert!(!e.is_set()?);
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn set(&self) -> Result<()> {
        self.words.slot(FLAG).store(1, SeqCst);
        self.words.word(GENERATION).fetch_add(1, SeqCst);
        futex::wake_all(self.words.word(GENERATION));
        Ok(())
    }

    /// Unsets it, like `event.clear()`.
    ///
    /// ```
    /// let e = common::Event::new()?;
    /// e.clear()?; // clearing an unset event does nothing
    /// assert!(!e.is_set()?);
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn clear(&self) -> Result<()> {
        self.words.slot(FLAG).store(0, SeqCst);
        Ok(())
    }

    /// Waits until it is set, however long that takes, like
    /// `event.wait()` (which then returns `True`).
    ///
    /// ```
    /// use common::{Event, Process};
    ///
    /// fn go(ready: Event) {
    ///     ready.set().expect("shared memory");
    /// }
    ///
    /// let ready = Event::new()?;
    /// let mut child = Process::with_args(go, ready.clone());
    /// child.start()?;
    /// ready.wait()?;
    /// assert!(ready.is_set()?);
    /// child.join()?;
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn wait(&self) -> Result<()> {
        self.wait_until(None).map(drop)
    }

    /// Waits until it is set or `timeout` passes, like
    /// `event.wait(timeout)`; returns whether it is set. Any `timeout` will
    /// do: one too long for the clock (`Duration::MAX`) waits without end.
    ///
    /// ```
    /// let e = common::Event::new()?;
    /// assert!(!e.wait_timeout(std::time::Duration::from_millis(1))?);
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn wait_timeout(&self, timeout: Duration) -> Result<bool> {
        self.wait_until(deadline_in(timeout))
    }

    /// Waits until it is set or `deadline` passes (`None`: no deadline).
    fn wait_until(&self, deadline: Option<Instant>) -> Result<bool> {
        loop {
            let seen = self.words.word(GENERATION).load(SeqCst);
            if self.is_set()? {
                return Ok(true);
            }
            let left = deadline.map_or(Duration::MAX, |deadline| {
                deadline.saturating_duration_since(Instant::now())
            });
            if left.is_zero() {
                return Ok(false);
            }
            futex::wait(self.words.word(GENERATION), seen, left);
        }
    }
}
