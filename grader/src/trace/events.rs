//! What the kernel reported about a run: the processes and threads it
//! created, and every write to its output with the process that made it.

use nix::unistd::Pid;

use crate::ending::Ending;

/// A process the program created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Created {
    /// Its pid.
    pub pid: Pid,
    /// Its parent by the kernel's account when it was created: the process
    /// that created it, or that one's parent for a clone with
    /// `CLONE_PARENT` (children of a fork server).
    pub parent: Pid,
    /// Whether it replaced its program (`exec`), as a spawned child does.
    pub exec: bool,
    /// How it ended, if it has.
    pub exit: Option<Ending>,
}

/// Which output stream a write went to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    /// Standard output.
    Stdout,
    /// Standard error.
    Stderr,
}

/// Bytes one process wrote to an output stream, in one system call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    /// The process (thread group) that wrote them.
    pub pid: Pid,
    /// Where.
    pub stream: Stream,
    /// What, as the kernel took it.
    pub bytes: Vec<u8>,
}

/// What the kernel reported about a run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Events {
    /// Every process created, in the order the kernel reported them.
    pub processes: Vec<Created>,
    /// Every thread created: (thread id, its process).
    pub threads: Vec<(Pid, Pid)>,
    /// Whether the run tried to create more processes than its limit.
    pub over_limit: bool,
    /// Every write to the output pipes, in the order the calls returned.
    pub writes: Vec<Written>,
}

impl Events {
    /// The processes whose parent is `parent`.
    pub fn children_of(&self, parent: Pid) -> impl Iterator<Item = &Created> {
        self.processes.iter().filter(move |p| p.parent == parent)
    }

    /// How many threads process `pid` created.
    pub fn threads_of(&self, pid: Pid) -> usize {
        self.threads.iter().filter(|(_, tgid)| *tgid == pid).count()
    }

    /// The process `pid`, if the run created it.
    pub fn process(&self, pid: Pid) -> Option<&Created> {
        self.processes.iter().find(|p| p.pid == pid)
    }

    /// What each process wrote to `stream`, by process, in the order of
    /// their first write.
    pub fn written_by(&self, stream: Stream) -> Vec<(Pid, Vec<u8>)> {
        let mut by: Vec<(Pid, Vec<u8>)> = Vec::new();
        for write in self.writes.iter().filter(|w| w.stream == stream) {
            match by.iter_mut().find(|(pid, _)| *pid == write.pid) {
                Some((_, bytes)) => bytes.extend_from_slice(&write.bytes),
                None => by.push((write.pid, write.bytes.clone())),
            }
        }
        by
    }
}
