//! [`Lock`]: a lock that processes share, like Python's
//! `multiprocessing.Lock`.

use std::os::fd::{AsFd, OwnedFd};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::fcntl::{FcntlArg, OFlag, fcntl};
use nix::poll::{PollFd, PollFlags, PollTimeout};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// A lock that any process holding a copy can take, one at a time, like
/// `multiprocessing.Lock()`; [`acquire`](Lock::acquire) returns a guard
/// that releases it when dropped, as `with lock:` does.
///
/// It is a pipe holding one token byte: taking the byte is acquiring,
/// putting it back is releasing. It reaches a child in a closure (fork) or
/// as an argument of [`Process::with_args`](crate::Process::with_args)
/// (either start method); [`try_clone`](Lock::try_clone) makes another
/// handle to give away. Like Python's, a lock held by a process that dies
/// stays held.
///
/// ```
/// use common::{Lock, Process};
///
/// fn print_alone((lock, n): (Lock, u32)) {
///     let _held = lock.acquire().expect("the lock");
///     println!("process {n} holds the lock");
/// }
///
/// let lock = Lock::new()?;
/// let mut processes = Vec::new();
/// for n in 1..=3 {
///     let mut process = Process::with_args(print_alone, (lock.try_clone()?, n));
///     process.start()?;
///     processes.push(process);
/// }
/// for process in &processes {
///     process.join()?;
/// }
/// # Ok::<(), common::Error>(())
/// ```
#[derive(Debug, Serialize, Deserialize)]
pub struct Lock {
    /// The read end, non-blocking: the token is taken from here.
    #[serde(with = "crate::crossing")]
    take: OwnedFd,
    /// The write end: the token is put back here.
    #[serde(with = "crate::crossing")]
    give: OwnedFd,
}

/// Holds a [`Lock`] until dropped.
#[derive(Debug)]
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct LockGuard<'a> {
    lock: &'a Lock,
}

impl Lock {
    /// A new lock, not held.
    ///
    /// ```
    /// let lock = common::Lock::new()?;
    /// drop(lock.acquire()?);
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn new() -> Result<Lock> {
        let (take, give) =
            nix::unistd::pipe2(OFlag::O_CLOEXEC).map_err(|e| Error::os("pipe", e))?;
        fcntl(&take, FcntlArg::F_SETFL(OFlag::O_NONBLOCK)).map_err(|e| Error::os("fcntl", e))?;
        let lock = Lock { take, give };
        lock.release()?;
        Ok(lock)
    }

    /// Another handle to the same lock, to give to another process.
    ///
    /// ```
    /// let lock = common::Lock::new()?;
    /// let other = lock.try_clone()?;
    /// let _held = lock.acquire()?;
    /// assert!(other.acquire_timeout(std::time::Duration::ZERO)?.is_none());
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn try_clone(&self) -> Result<Lock> {
        let dup = |fd: &OwnedFd| fd.try_clone().map_err(|e| Error::os("dup", e));
        Ok(Lock {
            take: dup(&self.take)?,
            give: dup(&self.give)?,
        })
    }

    /// Waits until the lock is free and takes it, like `lock.acquire()`.
    ///
    /// ```
    /// let lock = common::Lock::new()?;
    /// {
    ///     let _held = lock.acquire()?;
    ///     // ... only one process at a time runs this ...
    /// }
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn acquire(&self) -> Result<LockGuard<'_>> {
        loop {
            if let Some(guard) = self.acquire_timeout(Duration::from_secs(60))? {
                return Ok(guard);
            }
        }
    }

    /// Takes the lock if it becomes free within `timeout`, like
    /// `lock.acquire(timeout=t)`; `None` when it did not.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let lock = common::Lock::new()?;
    /// let held = lock.acquire_timeout(Duration::ZERO)?;
    /// assert!(held.is_some());
    /// assert!(lock.acquire_timeout(Duration::from_millis(10))?.is_none());
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn acquire_timeout(&self, timeout: Duration) -> Result<Option<LockGuard<'_>>> {
        let deadline = Instant::now() + timeout;
        loop {
            match nix::unistd::read(&self.take, &mut [0u8]) {
                Ok(1) => return Ok(Some(LockGuard { lock: self })),
                Ok(_) => return Err(Error::os("acquire a lock", Errno::EPIPE)),
                Err(Errno::EAGAIN | Errno::EINTR) => {}
                Err(e) => return Err(Error::os("acquire a lock", e)),
            }
            // Another process may take the token first: then wait again.
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(None);
            }
            let millis = u16::try_from(left.as_millis().max(1)).unwrap_or(u16::MAX);
            let mut fds = [PollFd::new(self.take.as_fd(), PollFlags::POLLIN)];
            match nix::poll::poll(&mut fds, PollTimeout::from(millis)) {
                Ok(_) | Err(Errno::EINTR) => {}
                Err(e) => return Err(Error::os("acquire a lock", e)),
            }
        }
    }

    fn release(&self) -> Result<()> {
        nix::unistd::write(&self.give, &[1u8])
            .map(drop)
            .map_err(|e| Error::os("release a lock", e))
    }
}

impl Drop for LockGuard<'_> {
    fn drop(&mut self) {
        // Writing one byte to a pipe that has room for 64 KiB cannot block
        // or fail while the lock's own read end is open.
        let _ = self.lock.release();
    }
}
