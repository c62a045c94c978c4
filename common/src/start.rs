//! Start methods, as in Python: `fork` copies the parent; `spawn` starts the
//! same executable afresh and sends it what to run; `forkserver` has a
//! server started afresh once fork a child that then goes on as a spawned
//! one (see `forkserver`).
//!
//! # How spawn works
//!
//! The parent runs `/proc/self/exe` (the very file it runs, even if the path
//! has been replaced since) with [`SPAWNED_ENV`] set and one end of a Unix
//! socket pair as its stdin. Before `main` runs, a constructor of this crate
//! (see `entry`) sees the variable and hands the socket to `child::run_sent`,
//! which reads a [`Boot`] frame from it (see `boot`) and does the child's
//! work: a [`Process`](crate::Process)'s function with its arguments, or a
//! pool worker's loop over the same socket. Then it exits,
//! so the program's `main` never runs in the child. That is the part Python's
//! `if __name__ == "__main__":` plays: code at the start of `main` runs in
//! the parent only.
//!
//! Functions cross as offsets in the executable (see `ErasedFn`), so they
//! must be plain `fn`s, and their arguments serde data. A closure cannot
//! cross: [`Process::from_closure`](crate::Process::from_closure) needs fork.
//!
//! Spawn and forkserver are safe from a multi-threaded process, since the
//! child starts with nothing of the parent's memory; fork is refused there.

use std::fmt;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;
use std::process::{Command, Stdio};
use std::str::FromStr;
use std::sync::{Mutex, PoisonError};

use nix::sys::socket::{ControlMessage, MsgFlags};
use nix::unistd::Pid;
use serde::{Deserialize, Serialize};

use crate::boot::{Boot, Work};
use crate::checkin;
use crate::children::Unclaimed;
use crate::error::{Error, Result};
use crate::forkserver;
use crate::frame;
use crate::identity;
use crate::launcher;
use crate::log;
use crate::sys;

/// How new processes are started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum StartMethod {
    /// A copy of the parent (`fork`): fast, runs closures, needs a
    /// single-threaded parent.
    Fork,
    /// A fresh run of the same executable: runs `fn`s with serde arguments,
    /// from any parent.
    Spawn,
    /// A fork of a server process started afresh once (see `forkserver`):
    /// runs what spawn runs, from any parent, nearly as fast as fork.
    Forkserver,
}

impl fmt::Display for StartMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            StartMethod::Fork => "fork",
            StartMethod::Spawn => "spawn",
            StartMethod::Forkserver => "forkserver",
        })
    }
}

impl FromStr for StartMethod {
    type Err = Error;

    fn from_str(name: &str) -> Result<StartMethod> {
        match name {
            "fork" => Ok(StartMethod::Fork),
            "spawn" => Ok(StartMethod::Spawn),
            "forkserver" => Ok(StartMethod::Forkserver),
            other => Err(Error::UnknownStartMethod(other.to_owned())),
        }
    }
}

/// Every start method this crate has, like
/// `multiprocessing.get_all_start_methods()` on Linux.
///
/// ```
/// use common::StartMethod;
///
/// assert_eq!(
///     common::get_all_start_methods(),
///     [StartMethod::Fork, StartMethod::Spawn, StartMethod::Forkserver]
/// );
/// ```
pub fn get_all_start_methods() -> [StartMethod; 3] {
    [
        StartMethod::Fork,
        StartMethod::Spawn,
        StartMethod::Forkserver,
    ]
}

/// The environment variable that chooses the start method for a whole
/// program (`fork`, `spawn` or `forkserver`), unless it calls [`set_start_method`].
pub const START_METHOD_ENV: &str = "COMMON_START_METHOD";

/// Set in a spawned child's environment, and removed before its `main`.
pub(crate) const SPAWNED_ENV: &str = "COMMON_SPAWNED";

static CHOSEN: Mutex<Option<StartMethod>> = Mutex::new(None);

/// Chooses the start method for every process and pool created from now on
/// without one of their own, like `multiprocessing.set_start_method`.
///
/// ```
/// common::set_start_method(common::StartMethod::Spawn);
/// assert_eq!(common::get_start_method()?, common::StartMethod::Spawn);
/// # Ok::<(), common::Error>(())
/// ```
pub fn set_start_method(method: StartMethod) {
    *CHOSEN.lock().unwrap_or_else(PoisonError::into_inner) = Some(method);
}

/// The start method in force: the one set with [`set_start_method`], else
/// the one [`START_METHOD_ENV`] names, else the default: fork while this
/// process has one thread (Python's default on Linux before 3.14),
/// forkserver once it has more, since a forked copy of a multi-threaded
/// process can deadlock (Python 3.14 moved its default to forkserver for
/// the same reason, gh-84559). So a program with threads (an async runtime,
/// a thread pool, libtest's harness) gets working processes and pools by
/// default, at nearly the cost of a fork; a method chosen explicitly is
/// kept, and fork is then refused with [`Error::MultiThreaded`] where it is
/// unsafe. A closure ([`Process::from_closure`](crate::Process::from_closure))
/// is always forked: no other method can carry it.
///
/// # Errors
///
/// [`Error::UnknownStartMethod`] when the environment variable names none.
///
/// ```
/// let method = common::get_start_method()?;
/// assert!(common::get_all_start_methods().contains(&method));
/// # Ok::<(), common::Error>(())
/// ```
pub fn get_start_method() -> Result<StartMethod> {
    if let Some(method) = *CHOSEN.lock().unwrap_or_else(PoisonError::into_inner) {
        return Ok(method);
    }
    match std::env::var(START_METHOD_ENV) {
        Ok(name) if !name.is_empty() => name.parse(),
        _ => Ok(default_method()),
    }
}

/// The default: fork with one thread, forkserver with more.
fn default_method() -> StartMethod {
    if fork_possible() {
        StartMethod::Fork
    } else {
        StartMethod::Forkserver
    }
}

/// Whether a fork from this thread would be allowed now: it is not one of
/// this crate's pausable threads, and the process has no thread but it and
/// this crate's own, which a fork stops or finds idle (see `sys::pause`).
/// One look, without `sys::fork`'s second looks at a thread just ended.
pub(crate) fn fork_possible() -> bool {
    !sys::pause::on_pausable_thread()
        && (sys::this_process::never_threaded() || sys::threads_at_most(1 + sys::pause::running()))
}

/// In the parent: starts a child running `work` as `name`, by `method`
/// (spawn, or the fork server; fork runs closures, in `sys::fork`). Returns
/// the child, for the caller to claim, and the socket to it, once a grader
/// watching has seen it. A child whose work could not be sent is killed
/// and reaped.
pub(crate) fn spawn(
    method: StartMethod,
    name: &str,
    work: Work,
    fds: &[BorrowedFd<'_>],
) -> Result<(Unclaimed, UnixStream)> {
    use std::os::unix::ffi::OsStrExt;
    let checkin = checkin::socket().map(|path| path.as_bytes().to_vec());
    let watched = checkin.is_some();
    let boot = Boot {
        identity: identity::for_child(name),
        checkin,
        work,
    };
    let frame = frame::encode(&boot).map_err(|e| Error::os("encode a child's work", e))?;
    let (mut ours, theirs) = UnixStream::pair().map_err(|e| Error::os("socketpair", e))?;
    // A small frame goes into the socket before the child exists, so that
    // the child finds its work waiting; a large one could fill the socket
    // and block before there is a reader, so it goes after.
    let early = frame.len() <= EARLY_FRAME;
    if early {
        send_work(&mut ours, &frame, fds)?;
    }
    let child = Unclaimed::new(match method {
        StartMethod::Forkserver => forkserver::start_child(theirs)?,
        _ => exec_child(theirs)?,
    });
    log::event(format_args!(
        "{name} started: pid {}, parent {} ({method})",
        child.pid(),
        std::process::id()
    ));
    if !early {
        send_work(&mut ours, &frame, fds)?;
    }
    if watched {
        // One byte once the grader has looked at the child (or end-of-file
        // if it died first).
        let _ = ours.read(&mut [0u8; 1]);
    }
    Ok((child, ours))
}

/// The largest frame of work sent before the child exists: well inside a
/// Unix socket's buffer (over 200 KiB by default).
const EARLY_FRAME: usize = 32 * 1024;

/// Sends a child its work: the frame, then the descriptors it names.
fn send_work(to: &mut UnixStream, frame: &[u8], fds: &[BorrowedFd<'_>]) -> Result<()> {
    to.write_all(frame)
        .map_err(|e| Error::os("send to the spawned child", e))?;
    if !fds.is_empty() {
        let fds: Vec<RawFd> = fds.iter().map(AsRawFd::as_raw_fd).collect();
        nix::sys::socket::sendmsg::<()>(
            to.as_raw_fd(),
            &[std::io::IoSlice::new(b"f")],
            &[ControlMessage::ScmRights(&fds)],
            MsgFlags::empty(),
            None,
        )
        .map_err(|e| Error::os("send a descriptor to the spawned child", e))?;
    }
    Ok(())
}

/// Runs this executable afresh as a child that reads its work from
/// `theirs` (spawn), from a thread that lasts (see `launcher`).
fn exec_child(theirs: UnixStream) -> Result<Pid> {
    sys::flush_stdio();
    let child = launcher::on_lasting_thread(move || {
        Command::new("/proc/self/exe")
            .env(SPAWNED_ENV, "1")
            .stdin(Stdio::from(OwnedFd::from(theirs)))
            .spawn()
    })
    .map_err(|e| Error::os("spawn", e))?;
    Ok(Pid::from_raw(
        i32::try_from(child.id()).expect("pids fit in i32"),
    ))
}
