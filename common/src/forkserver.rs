//! The forkserver start method: a small server process, started afresh
//! from this executable while it has one thread, forks every child on
//! request.
//!
//! # Why
//!
//! Fork is fast but unsafe from a process with threads (see `sys::fork`);
//! spawn is safe from anywhere but starts the whole executable again for
//! every child. The fork server is started once (by spawn, so it begins with
//! one thread, before `main`, and never makes another), and from then on
//! forks a copy of *itself* for each child, which is safe and as cheap as a
//! fork. Python's `forkserver` does the same (its default on Linux since
//! 3.14, gh-84559).
//!
//! # How
//!
//! 1. The first child asked for starts the server: `/proc/self/exe` with
//!    [`FORKSERVER_ENV`] set and one end of a Unix socket on its stdin
//!    (started from a thread that lasts, see `launcher`). The server asks
//!    to die with this process, and is sent first the word it shares with
//!    the parent (see below).
//! 2. For each child, the parent makes a socket pair and sends one end to
//!    the server (`SCM_RIGHTS`); the server forks with `CLONE_PARENT`, so
//!    that the new process is a child of the *parent*, not of the server:
//!    the parent waits for it, the kernel and the grader name the parent as
//!    its parent, and it dies with the parent. The server answers its pid.
//! 3. From there the child is exactly a spawned child: it reads what to do
//!    from its end of the pair (see `child::run_sent`), descriptors and all.
//! 4. When this process exits, the server reads end-of-file, exits, and is
//!    reaped (an exit handler); if it is killed, the kernel kills the server.
//!
//! # A server that dies
//!
//! A server found dead is replaced on the next request. One killed in the
//! middle of a request may have forked the child and not said so: the
//! kernel writes each child's pid, as it creates it, into a word the server
//! shares with the parent (`CLONE_PARENT_SETTID`, see
//! `sys::fork_sibling`), which the parent clears before each request. So a
//! request whose answer never comes is settled by that word: a pid there is
//! the child, which has its socket and goes on as any other (the parent
//! takes it); an empty word means no child was made, and nothing has read
//! the work, which a new server is asked to start. No child is ever left
//! unknown, to die a zombie.
//!
//! The server's children take the program's name (`ps`, `/proc/PID/comm`)
//! as they begin; only the server goes by [`FORKSERVER_NAME`]. The server
//! keeps the environment, working directory and standard streams it was
//! started with; children started from it have those, not the parent's of
//! the moment (Python's forkserver children too).

use std::io::{Read, Write};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::process::{Command, Stdio};
use std::sync::atomic::Ordering::SeqCst;
use std::sync::{Mutex, Once, PoisonError};
use std::time::Duration;

use nix::sys::socket::{ControlMessage, MsgFlags};
use nix::unistd::Pid;

use crate::error::{Error, Result};
use crate::launcher;
use crate::log;
use crate::sys::{self, Sibling, Slots};

/// Set in the fork server's environment, and removed before anything else
/// runs there.
pub(crate) const FORKSERVER_ENV: &str = "COMMON_FORKSERVER";

/// The name the fork server of the forkserver start method goes by in
/// `ps` and `/proc/PID/comm`: a child of the program that lasts until the
/// program exits, which a check for leftover children can recognise.
///
/// ```
/// assert_eq!(common::FORKSERVER_NAME.to_str(), Ok("common-forksrv"));
/// ```
pub const FORKSERVER_NAME: &std::ffi::CStr = c"common-forksrv";

/// This process's fork server, once started.
static SERVER: Mutex<Option<Server>> = Mutex::new(None);

/// The parent's side of a fork server.
struct Server {
    /// The process that started it: a forked child of that process
    /// inherits this value but not the server, and must not use it.
    owner: u32,
    pid: Pid,
    socket: UnixStream,
    /// The word the kernel writes each new child's pid into (see the
    /// module docs), shared with the server.
    record: Slots,
}

/// Why a request got no child.
enum Refused {
    /// The server answered that its fork failed, with this reason.
    Fork(Error),
    /// The server went (killed, or failed) before answering.
    Lost(Error),
}

/// In the parent: has the fork server start a child that reads its work
/// from `theirs`; returns its pid.
///
/// A server found dead is replaced. One that dies during the request is
/// settled by its record (see the module docs): the child it made is
/// returned all the same, or, if it made none, a new server is asked (up to
/// [`LOST_TRIES`] servers in all).
pub(crate) fn start_child(theirs: UnixStream) -> Result<Pid> {
    let mut server = SERVER.lock().unwrap_or_else(PoisonError::into_inner);
    if server
        .as_ref()
        .is_some_and(|s| s.owner != std::process::id())
    {
        // Inherited from the parent by fork: its descriptor was closed at
        // the fork (see `sys::fork`), and the server is not ours.
        std::mem::forget(server.take());
    }
    let mut lost = None;
    for _ in 0..LOST_TRIES {
        if server.as_ref().is_some_and(|s| !s.alive())
            && let Some(dead) = server.take()
        {
            dead.stop();
        }
        if server.is_none() {
            *server = Some(Server::start()?);
        }
        let running = server.as_mut().expect("started above");
        match running.request(theirs.as_fd()) {
            Ok(pid) => return Ok(pid),
            Err(Refused::Fork(error)) => return Err(error),
            Err(Refused::Lost(error)) => {
                let made = running.recorded();
                if let Some(dead) = server.take() {
                    dead.stop();
                }
                if let Some(pid) = made {
                    log::event(format_args!(
                        "fork server died after forking pid {pid}, which is kept"
                    ));
                    return Ok(pid);
                }
                lost = Some(error);
            }
        }
    }
    Err(lost.expect("a request was lost"))
}

impl Server {
    fn start() -> Result<Server> {
        let (ours, theirs) = UnixStream::pair().map_err(|e| Error::os("socketpair", e))?;
        let record = Slots::new(1)?;
        sys::flush_stdio();
        let child = launcher::on_lasting_thread(move || {
            Command::new("/proc/self/exe")
                .env(FORKSERVER_ENV, std::process::id().to_string())
                .stdin(Stdio::from(OwnedFd::from(theirs)))
                .spawn()
        })
        .map_err(|e| Error::os("spawn the fork server", e))?;
        let pid = Pid::from_raw(i32::try_from(child.id()).expect("pids fit in i32"));
        log::event(format_args!(
            "fork server started: pid {pid}, parent {}",
            std::process::id()
        ));
        // Forked children must not hold the server's socket open.
        sys::register_parent_fd(ours.as_raw_fd());
        static AT_EXIT: Once = Once::new();
        AT_EXIT.call_once(|| sys::at_exit(stop_at_exit));
        let server = Server {
            owner: std::process::id(),
            pid,
            socket: ours,
            record,
        };
        // The server's first message: the record, which it maps.
        if let Err(errno) = send_fd(&server.socket, server.record.memory()) {
            server.stop();
            return Err(Error::os("send to the fork server", errno));
        }
        Ok(server)
    }

    /// Whether the server is still running (not yet ended, or ended and
    /// not reaped), by a look that does not wait.
    fn alive(&self) -> bool {
        matches!(
            nix::sys::wait::waitid(
                nix::sys::wait::Id::Pid(self.pid),
                nix::sys::wait::WaitPidFlag::WEXITED
                    | nix::sys::wait::WaitPidFlag::WNOHANG
                    | nix::sys::wait::WaitPidFlag::WNOWAIT,
            ),
            Ok(nix::sys::wait::WaitStatus::StillAlive)
        )
    }

    /// Sends `child_socket` to the server, which forks a child that reads
    /// from it; returns the child's pid.
    fn request(&mut self, child_socket: std::os::fd::BorrowedFd<'_>) -> Result<Pid, Refused> {
        self.record.word(0).store(0, SeqCst);
        send_fd(&self.socket, child_socket)
            .map_err(|errno| Refused::Lost(Error::os("send to the fork server", errno)))?;
        let mut answer = [0u8; 4];
        self.socket
            .read_exact(&mut answer)
            .map_err(|e| Refused::Lost(Error::os("read from the fork server", e)))?;
        match i32::from_le_bytes(answer) {
            pid if pid > 0 => Ok(Pid::from_raw(pid)),
            errno => Err(Refused::Fork(Error::os(
                "start a child in the fork server",
                std::io::Error::from_raw_os_error(-errno),
            ))),
        }
    }

    /// The child the kernel recorded for the last request, if it made one.
    fn recorded(&self) -> Option<Pid> {
        let pid = self.record.word(0).load(SeqCst);
        (pid != 0).then(|| Pid::from_raw(pid.cast_signed()))
    }

    /// Closes the server's socket, which ends it, and reaps it.
    fn stop(self) {
        sys::forget_parent_fd(self.socket.as_raw_fd());
        drop(self.socket);
        if !matches!(sys::reap_timeout(self.pid, STOP_GRACE), Ok(Some(_))) {
            let _ = nix::sys::signal::kill(self.pid, nix::sys::signal::Signal::SIGKILL);
            let _ = sys::reap(self.pid, true);
        }
    }
}

/// Sends descriptor `fd` over `socket`, with one byte.
fn send_fd(socket: &UnixStream, fd: std::os::fd::BorrowedFd<'_>) -> nix::Result<usize> {
    nix::sys::socket::sendmsg::<()>(
        socket.as_raw_fd(),
        &[std::io::IoSlice::new(b"f")],
        &[ControlMessage::ScmRights(&[fd.as_raw_fd()])],
        MsgFlags::MSG_NOSIGNAL,
        None,
    )
}

/// How many servers a request may see die under it, none having made the
/// child, before it fails (each try is safe: no child read the work).
const LOST_TRIES: usize = 5;

/// How long the server's `poll` lasts before it is called again.
const IDLE_POLL: Duration = Duration::from_secs(3600);

/// How long an exiting program waits for its fork server to end.
const STOP_GRACE: Duration = Duration::from_secs(1);

/// At exit: stops this process's fork server, so that none is left behind.
extern "C" fn stop_at_exit() {
    // Another thread may hold the lock as the process exits: then the
    // server is left to die with this process (its PR_SET_PDEATHSIG).
    let Ok(mut server) = SERVER.try_lock() else {
        return;
    };
    match server.take() {
        Some(server) if server.owner == std::process::id() => server.stop(),
        // A forked child exiting: its copy of the socket was closed at the
        // fork, and the server is its parent's.
        inherited => std::mem::forget(inherited),
    }
}

/// In the fork server, before `main`: forks a child for every socket the
/// parent sends, until the parent closes its end. Never returns.
pub(crate) fn serve(mut socket: UnixStream, parent: Pid) -> ! {
    sys::die_with(parent);
    // Named in `ps` and /proc/PID/comm for what it is; its children take
    // the program's name (its parent's, as the kernel shows it).
    let name = std::fs::read(format!("/proc/{parent}/comm"))
        .ok()
        .and_then(|comm| std::ffi::CString::new(comm.trim_ascii_end()).ok());
    let _ = nix::sys::prctl::set_name(FORKSERVER_NAME);
    let record = match sys::receive_fd(&socket).map(|fd| fd.map(|fd| Slots::map(fd, 1))) {
        Ok(Some(Ok(record))) => record,
        _ => sys::exit_now(1),
    };
    loop {
        // Waiting in `poll` shows a grader that the server is idle.
        loop {
            match sys::readable(socket.as_fd(), IDLE_POLL) {
                Ok(true) => break,
                Ok(false) => {}
                Err(_) => sys::exit_now(1),
            }
        }
        let answer = match sys::receive_fd(&socket) {
            // End-of-file: the parent is done.
            Ok(None) => sys::exit_now(0),
            Ok(Some(child_socket)) => {
                // The child is born with the program's name: no process but
                // the server ever goes by FORKSERVER_NAME, not for a moment.
                if let Some(name) = &name {
                    let _ = nix::sys::prctl::set_name(name);
                }
                let forked = sys::fork_sibling(record.word(0));
                if !matches!(forked, Ok(Sibling::Child)) {
                    let _ = nix::sys::prctl::set_name(FORKSERVER_NAME);
                }
                match forked {
                    Ok(Sibling::Child) => {
                        drop(socket);
                        drop(record);
                        crate::child::run_sent(UnixStream::from(child_socket))
                    }
                    Ok(Sibling::Caller(pid)) => pid.as_raw(),
                    Err(errno) => -(errno as i32),
                }
            }
            // A request whose descriptor could not be taken (this
            // server's table is full): refused, with the reason.
            Err(errno) => -(errno as i32),
        };
        if socket.write_all(&answer.to_le_bytes()).is_err() {
            sys::exit_now(1);
        }
    }
}
