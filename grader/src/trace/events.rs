//! What the kernel reported about a run: the processes and threads it
//! created, and every write to its standard output with the process that
//! made it.

use std::collections::{BTreeMap, BTreeSet};

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
    /// Whether it was created sharing its creator's memory (`CLONE_VM`,
    /// or `vfork`): until it executes another program, it is a thread in
    /// all but name.
    pub shares_memory: bool,
    /// How it ended, if it has.
    pub exit: Option<Ending>,
    /// How many processes the run had created when it ended (itself
    /// among them), if it has: those created later never ran beside it.
    pub ended_after: Option<usize>,
}

/// Bytes one process wrote to the run's standard output, in one system
/// call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    /// The process (thread group) that wrote them.
    pub pid: Pid,
    /// What, as the kernel took it.
    pub bytes: Vec<u8>,
    /// For a write of the main process: its children that had not been
    /// reaped when it made the call.
    pub unjoined: Vec<Unjoined>,
    /// When the run's queues are followed: for each queue the writer
    /// mapped when it made the call, what had been taken out of it by then.
    pub taken: Vec<Taken>,
}

/// A value put into a queue: who moved the ring's tail past it, and its
/// bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Put {
    /// The process that published it.
    pub pid: Pid,
    /// The value, as the ring holds it.
    pub value: Vec<u8>,
}

/// What had been taken out of one queue when a process wrote to stdout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Taken {
    /// The queue: its ring's inode (a key of [`Events::taken`]).
    pub ring: u64,
    /// How many of its values had been taken (the first this many of
    /// [`Events::taken`]).
    pub values: usize,
    /// The other processes of the run that mapped the queue then.
    pub shared_with: Vec<Pid>,
}

/// A child of the main process not yet reaped when the main process wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unjoined {
    /// The child.
    pub pid: Pid,
    /// Whether it was still running (else it had ended, unreaped).
    pub running: bool,
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
    /// Every write to stdout, in the order its bytes entered the stream.
    pub writes: Vec<Written>,
    /// Whether stdout's writes went past what the tracer copies
    /// ([`WRITTEN_CAP`](super::WRITTEN_CAP)); the later ones are not
    /// recorded.
    pub over_copy_cap: bool,
    /// When the run's queues are followed: the values taken out of each
    /// queue (by its ring's inode), each as its bytes, in the order taken.
    pub taken: BTreeMap<u64, Vec<Vec<u8>>>,
    /// When the run's values or queues' writers are watched: whether a
    /// task that maps one could not be (the processor's debug registers
    /// could not be set).
    pub values_unwatched: bool,
    /// When the run's queues' writers are watched: the values put into
    /// each queue (by its ring's inode), in the order put, each with the
    /// process that put it (see `trace/puts.rs`).
    pub puts: BTreeMap<u64, Vec<Put>>,
    /// The rings a process mapped with no debug register left to watch
    /// them: who put their values is unknown.
    pub rings_unwatched: BTreeSet<u64>,
    /// How many times each process updated each shared value (by its
    /// inode): wrote it one more than the tracer had seen it hold.
    pub value_updates: BTreeMap<(u64, Pid), usize>,
    /// Writes of a shared value while another process was held between
    /// its read and its write of it.
    pub races: Vec<Race>,
    /// When the run's messages are recorded: the `SOCK_SEQPACKET` socket
    /// pairs it made, each as its two ends' inodes.
    pub pairs: Vec<(u64, u64)>,
    /// Every message sent or received on an end of those pairs, in the
    /// order the calls returned.
    pub messages: Vec<Message>,
    /// The ends whose sends (`true`) or receives (`false`) were not all
    /// recorded: several messages in one call, or past the copy cap.
    pub messages_lost: BTreeSet<(u64, bool)>,
    /// When the run's pipes are followed: every read and write on a pipe
    /// (`pipe2`; its `end` is the pipe's inode, both ends sharing it) or
    /// on an end of a stream socket pair (its `end` that socket's inode),
    /// in the order the calls returned. A write's bytes are not kept (who
    /// wrote is what is asked of it); a read's are, the latest
    /// [`MESSAGES_CAP`](super::MESSAGES_CAP) bytes of them (an older
    /// read's are emptied to hold newer ones).
    pub piped: Vec<Message>,
    /// When the run's pipes are followed: the `SOCK_STREAM` socket pairs
    /// it made, each as its two ends' inodes.
    pub streams: Vec<(u64, u64)>,
    /// Whether some bytes received through the pipes are not in
    /// [`Events::piped`]: let go to hold later ones, past the copy cap.
    pub piped_lost: bool,
    /// When a child's first line is held: which, and the writes made
    /// meanwhile.
    pub held_line: Option<HeldLine>,
}

/// A message one process sent or received on an end of a socket pair, in
/// one system call (see `trace/messages.rs`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// The process (thread group) that made the call.
    pub pid: Pid,
    /// The end it used: its socket's inode.
    pub end: u64,
    /// Whether it sent the bytes (else it received them).
    pub sent: bool,
    /// What moved, as the kernel took or gave it.
    pub bytes: Vec<u8>,
    /// How many writes to stdout ([`Events::writes`]) had been recorded
    /// when the call returned: a line written by the same task afterwards
    /// is at this index or later.
    pub writes_before: usize,
}

/// The first line of a child held at its write (see `trace/holds.rs`):
/// the writes of [`Events::writes`] from `from` to `to` were made while it
/// was held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeldLine {
    /// The process held.
    pub pid: Pid,
    /// How many writes had been made when it was held.
    pub from: usize,
    /// How many when it was let go (`None`: it never was, or the run
    /// ended first).
    pub to: Option<usize>,
}

/// A write of a shared value by `writer` while `held` was held between its
/// read of the value and its write (see `trace/values.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Race {
    /// The process held after reading the value.
    pub held: Pid,
    /// The process that wrote the value meanwhile.
    pub writer: Pid,
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

    /// What each process wrote to stdout, by process, in the order of
    /// their first write.
    pub fn written_by(&self) -> Vec<(Pid, Vec<u8>)> {
        let mut by: Vec<(Pid, Vec<u8>)> = Vec::new();
        for write in &self.writes {
            match by.iter_mut().find(|(pid, _)| *pid == write.pid) {
                Some((_, bytes)) => bytes.extend_from_slice(&write.bytes),
                None => by.push((write.pid, write.bytes.clone())),
            }
        }
        by
    }
}
