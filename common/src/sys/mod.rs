//! Everything that talks to the operating system below std, and the only
//! module of this crate allowed to use `unsafe` (with `entry`, the spawned
//! child's constructor), one file per concern:
//!
//! - `sibling.rs`: forking a child of this process's parent, as the fork
//!   server does;
//! - `fork.rs`: `fork`, refused in a multi-threaded process, with the
//!   streams flushed and the parent's pipe ends closed in the child;
//! - `pause.rs`: the crate's own threads that stop around every fork (a
//!   pool's driver), registered so that `fork` stops them, and the lasting
//!   one that idles behind a gate every fork closes (the launcher);
//! - `exit.rs`: `_exit`, exit handlers, and dying with the parent;
//! - `signals.rs`: SIGPIPE, SIGINT, and SIGINT as something to `poll`;
//! - `slots.rs`: atomics in shared memory;
//! - `mapping.rs`: a shared memory block, by copies and atomic words;
//! - `futex.rs`: sleeping on a shared word until another process changes
//!   it;
//! - `spin.rs`: spinning a little before sleeping, yielding the CPU;
//! - `wiped.rs`: words every child of a fork finds zeroed, for what this
//!   process knows about itself;
//! - `this_process.rs`: this process's pid without a system call, and
//!   whether it has never had a second thread;
//! - `holder.rs`: this process as the holder of a lock, known without a
//!   system call, and whether a recorded holder still lives;
//! - `lock_word.rs`: a lock in one shared word that survives the death of
//!   its holder;
//! - `places/`: a counting semaphore in shared memory that survives the
//!   death of a holder (a robust `pthread` mutex, a journal and a table of
//!   holders);
//! - `wait.rs`: reaping children and waiting on descriptors, with deadlines;
//! - `pipes.rs`: pipes, and descriptors received over a socket;
//! - `prefault.rs`: a large buffer's pages faulted in before it is filled;
//! - `recv.rs`: a socket's record received straight into place;
//! - `ring.rs`: values through a ring of bytes in shared memory (a
//!   queue's);
//! - `erased.rs`: functions sent to another process of this binary;
//! - `function.rs`: functions of several parameters given one tuple, made
//!   into a `fn` of it that can be sent so (a function item made again
//!   from its type).

pub(crate) mod erased;
pub(crate) mod exit;
pub(crate) mod fork;
pub(crate) mod function;
pub(crate) mod futex;
pub(crate) mod holder;
pub(crate) mod lock_word;
pub(crate) mod mapping;
pub(crate) mod memory;
pub(crate) mod pause;
pub(crate) mod pipes;
pub(crate) mod places;
pub(crate) mod prefault;
pub(crate) mod recv;
pub(crate) mod ring;
pub(crate) mod sibling;
pub(crate) mod signals;
pub(crate) mod slots;
pub(crate) mod spin;
pub(crate) mod this_process;
pub(crate) mod wait;
pub(crate) mod wiped;

pub(crate) use erased::{Chunk, ErasedFn, Failure, RunChunk};
pub(crate) use exit::{at_exit, die_with, exit_now};
pub(crate) use fork::{flush_stdio, forget_parent_fd, fork, register_parent_fd, threads_at_most};
pub(crate) use function::{ErasedOutcome, reporting, sendable};
pub use function::{Function, Outcome};
pub(crate) use lock_word::LockWord;
pub(crate) use mapping::Mapping;
pub(crate) use pipes::{
    fill_vectors, own_fd, pipe, read_onto, receive_fd, receive_fds, splice_pages, unread,
    widen_pipe,
};
pub(crate) use places::{Places, Taken};
pub(crate) use prefault::prefault;
pub(crate) use ring::Ring;
pub(crate) use sibling::{Sibling, fork_sibling};
pub(crate) use signals::{SigintGuard, ignore_sigint, ignore_sigpipe};
pub(crate) use slots::Slots;
pub(crate) use wait::{
    deadline_in, has_ended, pidfd_open, pidfd_signal, poll_timeout, poll_until,
    poll_until_spinning, readable, ready_fd, reap, reap_timeout,
};
