//! What a child started afresh (by spawn, or by the fork server) is sent
//! before anything else: a [`Boot`] frame saying who it is and what to do.
//!
//! The parent writes it into the child's socket (see `start::spawn`),
//! followed by the descriptors it names (`SCM_RIGHTS`); the child reads it
//! first thing (see `child::run_sent`). A forked child needs none: it is a
//! copy of its parent, work and all.

use serde::{Deserialize, Serialize};

use crate::identity::Identity;
use crate::sys::ErasedFn;

/// What a spawned child is to do.
#[derive(Serialize, Deserialize)]
pub(crate) enum Work {
    /// Call `func` with `args`, then exit. `fds` descriptors follow the
    /// frame (SCM_RIGHTS), for the connections in `args`.
    Process {
        func: ErasedFn,
        args: Vec<u8>,
        fds: usize,
    },
    /// Run a pool worker's loop over the socket. The pool's progress
    /// counters follow the frame, as a file descriptor (SCM_RIGHTS), then
    /// `fds` more, for the shared things in the initializer's argument.
    PoolWorker {
        /// What the worker runs first, with its encoded argument.
        initializer: Option<(ErasedFn, Vec<u8>)>,
        fds: usize,
        maxtasks: Option<usize>,
        slot: usize,
        slots: usize,
    },
}

/// The first frame a spawned child reads.
#[derive(Serialize, Deserialize)]
pub(crate) struct Boot {
    /// Who the child is.
    pub(crate) identity: Identity,
    /// The check-in socket, if a grader is watching.
    pub(crate) checkin: Option<Vec<u8>>,
    /// What it is to do.
    pub(crate) work: Work,
}
