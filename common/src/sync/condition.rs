//! [`Condition`]: wait until another process says something changed, like
//! `multiprocessing.Condition()`.

use std::marker::PhantomData;
use std::sync::atomic::Ordering::SeqCst;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::rlock::RLock;
use crate::error::{Error, Result};
use crate::sys::{Slots, deadline_in, futex};

/// A condition variable that processes share, like
/// `multiprocessing.Condition()` (whose lock is an [`RLock`], as here).
///
/// [`acquire`](Condition::acquire) takes the lock and returns a guard; the
/// guard [`wait`](ConditionGuard::wait)s (releasing the lock meanwhile and
/// taking it back after), and [`notify`](ConditionGuard::notify)s. Holding
/// the guard to notify is what Python checks at run time.
///
/// A wait may return without a notify meant for it (two waiters woken by
/// one `notify`, when one was just going to sleep): wait in a loop on what
/// you wait for, or use [`wait_for`](ConditionGuard::wait_for), as in
/// Python.
///
/// ```
/// use common::{Condition, Process, Value};
///
/// fn hand_over((cond, ready): (Condition, Value)) {
///     let guard = cond.acquire().expect("the lock");
///     ready.set(1);
///     guard.notify_all();
/// }
///
/// let cond = Condition::new()?;
/// let ready = Value::new(0)?;
/// let mut guard = cond.acquire()?;
/// let mut child = Process::with_args(hand_over, (cond.clone(), ready.clone()));
/// child.start()?;
/// assert!(guard.wait_for(|| ready.get() == 1, None)?);
/// drop(guard);
/// child.join()?;
/// # Ok::<(), common::Error>(())
/// ```
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Condition {
    lock: RLock,
    /// Bumped by every notify; waiters sleep on it (a futex).
    sequence: Slots,
}

/// Holds a [`Condition`]'s lock until dropped; waits and notifies. Not
/// `Send`, as the lock belongs to the thread that took it.
#[derive(Debug)]
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct ConditionGuard<'a> {
    condition: &'a Condition,
    inherited: bool,
    _thread: PhantomData<*const ()>,
}

impl Condition {
    /// A new condition with a lock of its own.
    ///
    /// ```
    /// let cond = common::Condition::new()?;
    /// cond.acquire()?.notify_all();
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn new() -> Result<Condition> {
        Ok(Condition {
            lock: RLock::new()?,
            sequence: Slots::new(1)?,
        })
    }

    /// Another handle to the same condition: the same as [`Clone`], which
    /// cannot fail (kept for code written before it).
    pub fn try_clone(&self) -> Result<Condition> {
        Ok(self.clone())
    }

    /// Takes the condition's lock, like `with cond:`.
    ///
    /// ```
    /// let cond = common::Condition::new()?;
    /// let _guard = cond.acquire()?;
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn acquire(&self) -> Result<ConditionGuard<'_>> {
        let guard = self.lock.acquire()?;
        let inherited = guard.previous_holder_died();
        guard.keep();
        Ok(ConditionGuard {
            condition: self,
            inherited,
            _thread: PhantomData,
        })
    }
}

/// Python's way, for code ported line by line: `cond.wait()` and
/// `cond.notify()` while this thread holds the lock (through a guard from
/// [`acquire`](Condition::acquire), kept or not); [`Error::NotOwner`]
/// otherwise, where Python raises `RuntimeError`.
///
/// ```
/// let cond = common::Condition::new()?;
/// assert!(matches!(cond.notify_all(), Err(common::Error::NotOwner)));
/// let _guard = cond.acquire()?;
/// cond.notify_all()?;
/// assert!(!cond.wait(Some(std::time::Duration::from_millis(1)))?);
/// # Ok::<(), common::Error>(())
/// ```
impl Condition {
    /// Releases the lock, waits for a notify (at most `timeout`), and takes
    /// the lock back, like `cond.wait(timeout)`; `false` when the time ran
    /// out.
    pub fn wait(&self, timeout: Option<Duration>) -> Result<bool> {
        self.owned()?;
        Ok(self.wait_until(timeout.and_then(deadline_in))?.notified)
    }

    /// Waits until `ready` holds, like `cond.wait_for(predicate, timeout)`.
    pub fn wait_for(
        &self,
        mut ready: impl FnMut() -> bool,
        timeout: Option<Duration>,
    ) -> Result<bool> {
        self.owned()?;
        let deadline = timeout.and_then(deadline_in);
        loop {
            if ready() {
                return Ok(true);
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return Ok(false);
            }
            self.wait_until(deadline)?;
        }
    }

    /// Wakes at most `n` waiters, like `cond.notify(n)`.
    pub fn notify(&self, n: usize) -> Result<()> {
        self.owned()?;
        self.wake(Some(n));
        Ok(())
    }

    /// Wakes every waiter, like `cond.notify_all()`.
    pub fn notify_all(&self) -> Result<()> {
        self.owned()?;
        self.wake(None);
        Ok(())
    }

    fn owned(&self) -> Result<()> {
        if self.lock.is_mine() {
            Ok(())
        } else {
            Err(Error::NotOwner)
        }
    }

    /// Bumps the sequence and wakes `n` sleepers (`None`: all).
    fn wake(&self, n: Option<usize>) {
        let sequence = self.sequence.word(0);
        sequence.fetch_add(1, SeqCst);
        match n {
            Some(n) => futex::wake(sequence, i32::try_from(n).unwrap_or(i32::MAX)),
            None => futex::wake_all(sequence),
        }
    }

    /// One wait, until a notify or `deadline`: whether a notify came, and
    /// whether the lock, taken back, came from a holder that died. The
    /// caller holds the lock.
    fn wait_until(&self, deadline: Option<Instant>) -> Result<Woken> {
        let sequence = self.sequence.word(0);
        // Read before the lock goes: a notify after this point is seen.
        let seen = sequence.load(SeqCst);
        let depth = self.lock.release_all()?;
        let notified = loop {
            if sequence.load(SeqCst) != seen {
                break true;
            }
            let nap = match deadline {
                Some(deadline) => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        break false;
                    }
                    left
                }
                None => Duration::from_secs(3600),
            };
            futex::wait(sequence, seen, nap);
        };
        let inherited = self.lock.restore(depth);
        Ok(Woken {
            notified,
            inherited,
        })
    }
}

/// How a wait of a [`Condition`] ended.
struct Woken {
    notified: bool,
    /// The lock, taken back, came from a holder that died.
    inherited: bool,
}

impl ConditionGuard<'_> {
    /// Whether the lock came from a holder that died holding it (when it
    /// was taken, or taken back by the last wait).
    pub fn previous_holder_died(&self) -> bool {
        self.inherited
    }

    /// Releases the lock, waits for a notify, and takes the lock back, like
    /// `cond.wait()`.
    ///
    /// ```
    /// let cond = common::Condition::new()?;
    /// let mut guard = cond.acquire()?;
    /// // Nobody notifies: a timed wait says so.
    /// assert!(!guard.wait_timeout(std::time::Duration::from_millis(5))?);
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn wait(&mut self) -> Result<()> {
        self.wait_until(None).map(drop)
    }

    /// As [`wait`](ConditionGuard::wait), for at most `timeout`; returns
    /// `false` when the time ran out, like `cond.wait(timeout)`.
    pub fn wait_timeout(&mut self, timeout: Duration) -> Result<bool> {
        self.wait_until(deadline_in(timeout))
    }

    /// Waits until `ready` holds (checked first, then after each wake-up),
    /// for at most `timeout` if given; returns what `ready` last said, like
    /// `cond.wait_for(predicate, timeout)`.
    pub fn wait_for(
        &mut self,
        ready: impl FnMut() -> bool,
        timeout: Option<Duration>,
    ) -> Result<bool> {
        self.condition.wait_for(ready, timeout)
    }

    /// Wakes at most `n` waiters (one wait just starting may also return),
    /// like `cond.notify(n)`.
    pub fn notify(&self, n: usize) {
        self.condition.wake(Some(n));
    }

    /// Wakes every waiter, like `cond.notify_all()`.
    pub fn notify_all(&self) {
        self.condition.wake(None);
    }

    fn wait_until(&mut self, deadline: Option<Instant>) -> Result<bool> {
        let woken = self.condition.wait_until(deadline)?;
        // What the guard holds now is the lock taken back.
        self.inherited = woken.inherited;
        Ok(woken.notified)
    }
}

impl Drop for ConditionGuard<'_> {
    fn drop(&mut self) {
        // This thread holds the lock (the guard cannot leave it).
        let _ = self.condition.lock.release();
    }
}
