//! The rendezvous: the check-ins the grader holds, and the proof that a set
//! of them was alive and waiting there at one instant.
//!
//! A process that checked in has been answered once (its parent may go
//! on) and waits for the second answer before it does anything else. But a
//! check-in being held proves nothing by itself: a program that checks in
//! by hand can read the first answer and go on at once, print, and exit,
//! or linger, and the next one after it. So a held process counts only
//! when the grader has seen it, at a moment it can name, alive and still
//! waiting:
//!
//! - the same process that checked in (its pid and start time), with a
//!   thread alive, and its end of the connection still open;
//! - nothing of it written to stdout yet (by the tracer's record);
//! - every thread of it blocked in a system call other than a write,
//!   and not run at all between two looks (`/proc/PID/task/TID/syscall`
//!   the same, and the count of times it left the CPU the same, in
//!   `status`);
//! - one of its threads blocked reading a socket other than its output's,
//!   as a check-in waits for its answer: a process that hung up and waits
//!   on a pipe is waiting, but not at the rendezvous (the hang-up alone
//!   was seen to go unnoticed under load).
//!
//! Both looks are taken at every held process in turn: the first at all,
//! then the second at all. A thread that did not run between its two
//! looks was blocked through the moment between the last first look and
//! the first second look; the processes that pass were all waiting, alive,
//! at that moment. Those are the processes "held together".

use std::os::fd::AsFd;
use std::os::unix::net::UnixStream;

use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::unistd::Pid;

use crate::procfs::{self, Task};
use crate::sandbox::seccomp::TRACED;

/// A process held at the rendezvous: not answered the second time yet.
#[derive(Debug)]
pub(super) struct Held {
    pub(super) pid: Pid,
    stream: UnixStream,
    /// Its start time, which with the pid names the process.
    start: u64,
}

impl Held {
    /// Holds `pid`, connected on `stream`; `None` if it is already gone.
    pub(super) fn new(pid: Pid, stream: UnixStream) -> Option<Held> {
        let start = procfs::stat(pid)?.start;
        Some(Held { pid, stream, start })
    }

    /// Whether it may still be waiting: the same process, with a thread
    /// alive, its end of the connection open.
    pub(super) fn may_wait(&self) -> bool {
        let same = procfs::stat(self.pid).is_some_and(|s| s.start == self.start);
        same && procfs::alive(self.pid) && !self.hung_up()
    }

    /// Whether its end of the connection is closed (or shut).
    fn hung_up(&self) -> bool {
        // The peer's close shows as POLLRDHUP on a Unix stream socket
        // (nix has no name for it).
        let flags = PollFlags::from_bits_retain(libc::POLLRDHUP) | PollFlags::POLLHUP;
        let mut fds = [PollFd::new(self.stream.as_fd(), flags)];
        match poll(&mut fds, PollTimeout::ZERO) {
            Ok(0) => false,
            Ok(_) => fds[0]
                .revents()
                .is_some_and(|r| r.intersects(flags | PollFlags::POLLERR)),
            Err(_) => true,
        }
    }

    /// Lets it go on.
    pub(super) fn answer(self) {
        super::checkin::answer(self.stream);
    }
}

/// What one look at the rendezvous showed.
#[derive(Debug, Default)]
pub(super) struct Moment {
    /// The held processes alive and waiting at one moment.
    pub(super) waiting: Vec<Pid>,
    /// Whether the kernel hid what some thread was blocked in; those were
    /// judged only by being alive, connected and asleep in the kernel.
    pub(super) blind: bool,
}

/// A look at every thread of a held process.
type Look = Option<Vec<Task>>;

/// Which of `held` were alive and waiting at one moment, each process
/// once (a process may have checked in more than once); `wrote` says
/// whether a process has written to stdout.
pub(super) fn at_one_moment(held: &[Held], wrote: impl Fn(Pid) -> bool) -> Moment {
    let mut pids: Vec<Pid> = held.iter().map(|h| h.pid).collect();
    pids.sort();
    pids.dedup();
    let first: Vec<Look> = pids.iter().map(|&pid| procfs::tasks(pid)).collect();
    let second: Vec<Look> = pids.iter().map(|&pid| procfs::tasks(pid)).collect();
    let mut moment = Moment::default();
    for ((&pid, first), second) in pids.iter().zip(first).zip(second) {
        let (Some(first), Some(second)) = (first, second) else {
            continue;
        };
        let blind = second.iter().any(|t| t.syscall.is_none());
        let still = first == second && second.iter().all(waits) && reads_a_socket(pid, &second);
        // Every connection it holds must still be open.
        let connected = held.iter().filter(|h| h.pid == pid).all(Held::may_wait);
        // Where the kernel hides the calls, a thread counts as waiting only
        // if it sleeps in the kernel (or has ended): not running, and not
        // stopped at the tracer (a write waiting its turn is no wait).
        let asleep = second
            .iter()
            .all(|t| matches!(t.state, 'S' | 'D' | 'Z' | 'X'));
        if connected && !wrote(pid) && (still || blind && asleep && first.len() == second.len()) {
            moment.blind |= blind;
            moment.waiting.push(pid);
        }
    }
    moment
}

/// Whether a thread of `pid` is blocked reading a socket that is not its
/// stdout or stderr: where a check-in waits for its second answer.
fn reads_a_socket(pid: Pid, tasks: &[Task]) -> bool {
    let link = |fd: u64| procfs::descriptor(pid, fd);
    let outputs = [link(1), link(2)];
    tasks.iter().any(|task| {
        let reads = matches!(
            task.blocked_in(),
            Some(libc::SYS_read | libc::SYS_recvfrom | libc::SYS_recvmsg)
        );
        reads
            && task.argument(0).and_then(link).is_some_and(|target| {
                target
                    .as_os_str()
                    .as_encoded_bytes()
                    .starts_with(b"socket:")
                    && !outputs.contains(&Some(target.clone()))
            })
    })
}

/// Whether a thread is waiting: ended (a main thread whose process lives
/// on in other threads), or blocked in a system call that is not a write.
fn waits(task: &Task) -> bool {
    if matches!(task.state, 'Z' | 'X') {
        return true;
    }
    task.blocked_in()
        .is_some_and(|call| !TRACED.contains(&call) && call != libc::SYS_sendmmsg)
}
