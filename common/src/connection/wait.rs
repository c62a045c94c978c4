//! [`wait`]: the first of several connections and processes to be ready,
//! like `multiprocessing.connection.wait`.

use std::os::fd::BorrowedFd;
use std::time::Duration;

use nix::poll::{PollFd, PollFlags};

use crate::error::{Error, Result};

/// Waits until at least one of `objects` is ready, at most `timeout`
/// (`None`: however long it takes), like
/// `multiprocessing.connection.wait(objects, timeout)`; returns the
/// positions of those ready (none when the time ran out). An object is a
/// descriptor: a [`Connection`](crate::Connection)'s (`as_fd()`, ready when
/// a message or the end of the pipe waits) or a
/// [`Process::sentinel`](crate::Process::sentinel) (ready when the process
/// has ended).
///
/// ```
/// use std::os::fd::AsFd;
/// use std::time::Duration;
///
/// let (a, b) = common::pipe::<u8>()?;
/// let (c, d) = common::pipe::<u8>()?;
/// c.send(&1)?;
/// let ready = common::wait(&[b.as_fd(), d.as_fd()], Some(Duration::from_secs(1)))?;
/// assert_eq!(ready, [1]);
/// # drop(a);
/// # Ok::<(), common::Error>(())
/// ```
pub fn wait(objects: &[BorrowedFd<'_>], timeout: Option<Duration>) -> Result<Vec<usize>> {
    let deadline = timeout.and_then(crate::sys::deadline_in);
    let mut fds: Vec<PollFd<'_>> = objects
        .iter()
        .map(|fd| PollFd::new(*fd, PollFlags::POLLIN))
        .collect();
    crate::sys::poll_until_spinning(&mut fds, deadline).map_err(|e| Error::os("poll", e))?;
    Ok(fds
        .iter()
        .enumerate()
        .filter(|(_, fd)| fd.revents().is_some_and(|r| !r.is_empty()))
        .map(|(i, _)| i)
        .collect())
}
