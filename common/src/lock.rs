//! [`Lock`], [`Semaphore`] and [`Event`]: synchronization that processes
//! share, like Python's `multiprocessing.Lock`, `Semaphore` and `Event`.
//!
//! Each is a pipe: a lock or a semaphore holds its free tokens as bytes in
//! it (taking a byte is acquiring, writing one back is releasing); an event
//! is set while a byte waits in it. A pipe's descriptors are inherited by a
//! forked child and sent to a spawned one (see
//! [`crossing`](crate::crossing)), and the kernel gives each byte to one
//! reader only.

use std::os::fd::{AsFd, OwnedFd};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::fcntl::{FcntlArg, OFlag, fcntl};
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
    tokens: Tokens,
}

/// Holds a [`Lock`] or a place in a [`Semaphore`] until dropped.
#[derive(Debug)]
#[must_use = "the token is given back as soon as the guard is dropped"]
pub struct LockGuard<'a> {
    tokens: &'a Tokens,
}

impl LockGuard<'_> {
    /// Keeps the lock or the place past the guard, as Python's bare
    /// `acquire()` does: it goes back only with an explicit `release`
    /// ([`Semaphore::release`], [`BoundedSemaphore::release`]).
    ///
    /// ```
    /// let signal = common::Semaphore::new(1)?;
    /// signal.acquire()?.keep();
    /// assert!(signal.acquire_timeout(std::time::Duration::ZERO)?.is_none());
    /// signal.release()?;
    /// assert!(signal.acquire_timeout(std::time::Duration::ZERO)?.is_some());
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn keep(self) {
        std::mem::forget(self);
    }
}

impl Drop for LockGuard<'_> {
    fn drop(&mut self) {
        // Writing one byte to a pipe that has room for 64 KiB cannot block
        // or fail while the pipe's own read end is open.
        let _ = self.tokens.give_back();
    }
}

/// A pipe holding tokens, one byte each.
#[derive(Debug, Serialize, Deserialize)]
struct Tokens {
    /// The read end, non-blocking: tokens are taken from here.
    #[serde(with = "crate::crossing")]
    take: OwnedFd,
    /// The write end: tokens are put back here.
    #[serde(with = "crate::crossing")]
    give: OwnedFd,
}

impl Tokens {
    fn new(count: usize) -> Result<Tokens> {
        let (take, give) =
            nix::unistd::pipe2(OFlag::O_CLOEXEC).map_err(|e| Error::os("pipe", e))?;
        fcntl(&take, FcntlArg::F_SETFL(OFlag::O_NONBLOCK)).map_err(|e| Error::os("fcntl", e))?;
        let tokens = Tokens { take, give };
        for _ in 0..count {
            tokens.give_back()?;
        }
        Ok(tokens)
    }

    fn try_clone(&self) -> Result<Tokens> {
        let dup = |fd: &OwnedFd| fd.try_clone().map_err(|e| Error::os("dup", e));
        Ok(Tokens {
            take: dup(&self.take)?,
            give: dup(&self.give)?,
        })
    }

    /// Takes a token if one comes within `timeout`.
    fn take(&self, timeout: Duration) -> Result<Option<LockGuard<'_>>> {
        let deadline = Instant::now() + timeout;
        loop {
            match nix::unistd::read(&self.take, &mut [0u8]) {
                Ok(1) => return Ok(Some(LockGuard { tokens: self })),
                Ok(_) => return Err(Error::os("take a token", Errno::EPIPE)),
                Err(Errno::EAGAIN | Errno::EINTR) => {}
                Err(e) => return Err(Error::os("take a token", e)),
            }
            // Another process may take the token first: then wait again.
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(None);
            }
            readable(&self.take, left)?;
        }
    }

    /// Waits as long as it takes for a token.
    fn take_waiting(&self) -> Result<LockGuard<'_>> {
        loop {
            if let Some(guard) = self.take(Duration::from_secs(60))? {
                return Ok(guard);
            }
        }
    }

    fn give_back(&self) -> Result<()> {
        nix::unistd::write(&self.give, &[1u8])
            .map(drop)
            .map_err(|e| Error::os("give a token back", e))
    }
}

/// Whether `fd` is readable, or becomes so within `timeout`.
fn readable(fd: &OwnedFd, timeout: Duration) -> Result<bool> {
    crate::sys::readable(fd.as_fd(), timeout).map_err(|e| Error::os("poll", e))
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
        Ok(Lock {
            tokens: Tokens::new(1)?,
        })
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
        Ok(Lock {
            tokens: self.tokens.try_clone()?,
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
        self.tokens.take_waiting()
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
        self.tokens.take(timeout)
    }
}

/// A counter of free places that processes share, like
/// `multiprocessing.Semaphore(n)`: at most `n` holders at once. Like
/// [`Lock`], [`acquire`](Semaphore::acquire) returns a guard that gives the
/// place back when dropped.
///
/// ```
/// use std::time::Duration;
///
/// let places = common::Semaphore::new(2)?;
/// let first = places.acquire()?;
/// let second = places.acquire()?;
/// assert!(places.acquire_timeout(Duration::ZERO)?.is_none());
/// drop(first);
/// assert!(places.acquire_timeout(Duration::ZERO)?.is_some());
/// # drop(second);
/// # Ok::<(), common::Error>(())
/// ```
#[derive(Debug, Serialize, Deserialize)]
pub struct Semaphore {
    tokens: Tokens,
}

impl Semaphore {
    /// A semaphore with `places` free places (at most 65536, a pipe's
    /// room).
    ///
    /// ```
    /// let one = common::Semaphore::new(1)?;
    /// drop(one.acquire()?);
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn new(places: usize) -> Result<Semaphore> {
        Ok(Semaphore {
            tokens: Tokens::new(places)?,
        })
    }

    /// Another handle to the same semaphore, to give to another process.
    ///
    /// ```
    /// let s = common::Semaphore::new(1)?;
    /// let other = s.try_clone()?;
    /// let _held = other.acquire()?;
    /// assert!(s.acquire_timeout(std::time::Duration::ZERO)?.is_none());
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn try_clone(&self) -> Result<Semaphore> {
        Ok(Semaphore {
            tokens: self.tokens.try_clone()?,
        })
    }

    /// Waits for a free place and takes it, like `sem.acquire()`.
    ///
    /// ```
    /// let s = common::Semaphore::new(3)?;
    /// let _place = s.acquire()?;
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn acquire(&self) -> Result<LockGuard<'_>> {
        self.tokens.take_waiting()
    }

    /// Takes a place if one frees within `timeout`, like
    /// `sem.acquire(timeout=t)`; `None` when none did.
    ///
    /// ```
    /// let s = common::Semaphore::new(0)?;
    /// assert!(s.acquire_timeout(std::time::Duration::from_millis(1))?.is_none());
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn acquire_timeout(&self, timeout: Duration) -> Result<Option<LockGuard<'_>>> {
        self.tokens.take(timeout)
    }

    /// Frees a place, like `sem.release()`: one waiting process may take
    /// it. As in Python, nothing bounds the places (see
    /// [`BoundedSemaphore`]), so a `Semaphore::new(0)` is a signal one
    /// process gives and another waits for.
    ///
    /// ```
    /// let signal = common::Semaphore::new(0)?;
    /// signal.release()?;
    /// drop(signal.acquire()?);
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn release(&self) -> Result<()> {
        self.tokens.give_back()
    }
}

/// A [`Semaphore`] that refuses to be released more often than it was
/// acquired, like `multiprocessing.BoundedSemaphore(n)`: such a release is
/// [`Error::ReleasedTooOften`] (Python raises `ValueError`).
///
/// ```
/// let places = common::BoundedSemaphore::new(1)?;
/// places.acquire()?.keep();
/// places.release()?;
/// assert!(matches!(places.release(), Err(common::Error::ReleasedTooOften)));
/// # Ok::<(), common::Error>(())
/// ```
#[derive(Debug, Serialize, Deserialize)]
pub struct BoundedSemaphore {
    tokens: Tokens,
    /// Taken while a release checks that a place is held, and gives it
    /// back: two releases cannot both see room for one.
    releasing: Tokens,
    places: usize,
}

impl BoundedSemaphore {
    /// A bounded semaphore with `places` free places (at most 65536).
    ///
    /// ```
    /// let s = common::BoundedSemaphore::new(2)?;
    /// drop(s.acquire()?);
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn new(places: usize) -> Result<BoundedSemaphore> {
        Ok(BoundedSemaphore {
            tokens: Tokens::new(places)?,
            releasing: Tokens::new(1)?,
            places,
        })
    }

    /// Another handle to the same semaphore, to give to another process.
    ///
    /// ```
    /// let s = common::BoundedSemaphore::new(1)?;
    /// let other = s.try_clone()?;
    /// other.acquire()?.keep();
    /// s.release()?;
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn try_clone(&self) -> Result<BoundedSemaphore> {
        Ok(BoundedSemaphore {
            tokens: self.tokens.try_clone()?,
            releasing: self.releasing.try_clone()?,
            places: self.places,
        })
    }

    /// Waits for a free place and takes it, like `sem.acquire()`.
    ///
    /// ```
    /// let s = common::BoundedSemaphore::new(1)?;
    /// let _place = s.acquire()?;
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn acquire(&self) -> Result<LockGuard<'_>> {
        self.tokens.take_waiting()
    }

    /// Takes a place if one frees within `timeout`; `None` when none did.
    ///
    /// ```
    /// let s = common::BoundedSemaphore::new(0)?;
    /// assert!(s.acquire_timeout(std::time::Duration::ZERO)?.is_none());
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn acquire_timeout(&self, timeout: Duration) -> Result<Option<LockGuard<'_>>> {
        self.tokens.take(timeout)
    }

    /// Frees a place, like `sem.release()`, unless every place is free
    /// already: [`Error::ReleasedTooOften`].
    ///
    /// ```
    /// let s = common::BoundedSemaphore::new(1)?;
    /// assert!(matches!(s.release(), Err(common::Error::ReleasedTooOften)));
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn release(&self) -> Result<()> {
        let releasing = self.releasing.take_waiting()?;
        let free = crate::sys::bytes_waiting(self.tokens.take.as_fd())?;
        let released = if free >= self.places {
            Err(Error::ReleasedTooOften)
        } else {
            self.tokens.give_back()
        };
        drop(releasing);
        released
    }
}

/// A flag that processes share and can wait on, like
/// `multiprocessing.Event()`: [`wait`](Event::wait) returns once another
/// process has [`set`](Event::set) it.
///
/// ```
/// use std::time::Duration;
///
/// let started = common::Event::new()?;
/// assert!(!started.wait(Duration::from_millis(1))?);
/// started.set()?;
/// assert!(started.is_set()?);
/// assert!(started.wait(Duration::ZERO)?);
/// started.clear()?;
/// assert!(!started.is_set()?);
/// # Ok::<(), common::Error>(())
/// ```
#[derive(Debug, Serialize, Deserialize)]
pub struct Event {
    /// Holds one byte while the event is set.
    flag: Tokens,
    /// Makes `set` and `clear` whole: a byte is written only if none is
    /// there, and taken only while no `set` is half done.
    whole: Tokens,
}

impl Event {
    /// A new event, not set.
    ///
    /// ```
    /// assert!(!common::Event::new()?.is_set()?);
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn new() -> Result<Event> {
        Ok(Event {
            flag: Tokens::new(0)?,
            whole: Tokens::new(1)?,
        })
    }

    /// Another handle to the same event, to give to another process.
    ///
    /// ```
    /// let e = common::Event::new()?;
    /// e.try_clone()?.set()?;
    /// assert!(e.is_set()?);
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn try_clone(&self) -> Result<Event> {
        Ok(Event {
            flag: self.flag.try_clone()?,
            whole: self.whole.try_clone()?,
        })
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
        readable(&self.flag.take, Duration::ZERO)
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
        let _whole = self.whole.take_waiting()?;
        if !self.is_set()? {
            self.flag.give_back()?;
        }
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
        let _whole = self.whole.take_waiting()?;
        while let Some(flag) = self.flag.take(Duration::ZERO)? {
            // The byte is the flag: keeping it taken unsets the event.
            std::mem::forget(flag);
        }
        Ok(())
    }

    /// Waits until it is set or `timeout` passes, like
    /// `event.wait(timeout)`; returns whether it is set.
    ///
    /// ```
    /// let e = common::Event::new()?;
    /// assert!(!e.wait(std::time::Duration::from_millis(1))?);
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn wait(&self, timeout: Duration) -> Result<bool> {
        readable(&self.flag.take, timeout)
    }
}

/// A meeting point for a fixed number of processes, like
/// `multiprocessing.Barrier(parties)`: each [`wait`](Barrier::wait) returns
/// once `parties` processes are waiting, and the barrier can be used again.
///
/// It counts arrivals in shared memory under a lock; the last to arrive
/// lets the others through a turnstile (a [`Semaphore`]), and a second
/// turnstile keeps a fast process from lapping the slow ones on the next
/// round.
///
/// ```
/// use common::{Barrier, Process};
///
/// fn meet(barrier: Barrier) {
///     barrier.wait().expect("the others come");
/// }
///
/// let barrier = Barrier::new(3)?;
/// let mut others = Vec::new();
/// for _ in 0..2 {
///     let mut process = Process::with_args(meet, barrier.try_clone()?);
///     process.start()?;
///     others.push(process);
/// }
/// barrier.wait()?; // returns once both children wait too
/// for process in &others {
///     process.join()?;
/// }
/// # Ok::<(), common::Error>(())
/// ```
#[derive(Debug, Serialize, Deserialize)]
pub struct Barrier {
    parties: usize,
    /// How many are waiting at the current stage.
    count: crate::Value,
    lock: Lock,
    /// Opened by the last to arrive, one place per party.
    arrive: Semaphore,
    /// Opened by the last to leave, so that the next round starts clean.
    leave: Semaphore,
}

impl Barrier {
    /// A barrier for `parties` processes (at least one).
    ///
    /// ```
    /// let alone = common::Barrier::new(1)?;
    /// alone.wait()?; // one party: returns at once
    /// alone.wait()?; // and again
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn new(parties: usize) -> Result<Barrier> {
        Ok(Barrier {
            parties: parties.max(1),
            count: crate::Value::new(0)?,
            lock: Lock::new()?,
            arrive: Semaphore::new(0)?,
            leave: Semaphore::new(0)?,
        })
    }

    /// Another handle to the same barrier, to give to another process.
    ///
    /// ```
    /// let b = common::Barrier::new(1)?;
    /// b.try_clone()?.wait()?;
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn try_clone(&self) -> Result<Barrier> {
        Ok(Barrier {
            parties: self.parties,
            count: self.count.try_clone()?,
            lock: self.lock.try_clone()?,
            arrive: self.arrive.try_clone()?,
            leave: self.leave.try_clone()?,
        })
    }

    /// How many processes must wait for the barrier to open, like
    /// `barrier.parties`.
    ///
    /// ```
    /// assert_eq!(common::Barrier::new(4)?.parties(), 4);
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn parties(&self) -> usize {
        self.parties
    }

    /// Waits until `parties` processes are waiting, like `barrier.wait()`.
    /// Python's also has a timeout and `abort`; this one waits as long as it
    /// takes.
    ///
    /// ```
    /// let b = common::Barrier::new(1)?;
    /// b.wait()?;
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn wait(&self) -> Result<()> {
        self.stage(&self.arrive, 1, self.parties)?;
        self.stage(&self.leave, -1, 0)
    }

    /// One turnstile: counts this process in (`step`), opens `gate` for
    /// every party when the count reaches `last`, then goes through.
    fn stage(&self, gate: &Semaphore, step: i64, last: usize) -> Result<()> {
        {
            let _counting = self.lock.acquire()?;
            let now = self.count.add(step) + step;
            if usize::try_from(now).is_ok_and(|n| n == last) {
                for _ in 0..self.parties {
                    gate.tokens.give_back()?;
                }
            }
        }
        // The place taken is the one the last arrival made for us.
        std::mem::forget(gate.acquire()?);
        Ok(())
    }
}
