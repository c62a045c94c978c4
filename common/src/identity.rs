//! Who this process is: [`current_process`] and [`parent_process`], like
//! Python's `multiprocessing.current_process()` and `parent_process()`.

use std::sync::{Mutex, MutexGuard, PoisonError};

/// A process's name and pid, as `current_process()` describes it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ProcessInfo {
    /// `MainProcess`, `Process-N` or `PoolWorker-N`.
    pub name: String,
    /// Its process id.
    pub pid: u32,
}

/// Who a child is, prepared by the parent before the fork, so that the child
/// allocates nothing to learn it (or sent to a spawned child).
#[derive(serde::Serialize, serde::Deserialize)]
pub(crate) struct Identity {
    name: String,
    parent: Option<ProcessInfo>,
}

static IDENTITY: Mutex<Option<Identity>> = Mutex::new(None);

fn identity() -> MutexGuard<'static, Option<Identity>> {
    IDENTITY.lock().unwrap_or_else(PoisonError::into_inner)
}

/// This process: its name (`MainProcess` unless this crate created it) and
/// pid.
///
/// ```
/// assert_eq!(common::current_process().name, "MainProcess");
/// ```
pub fn current_process() -> ProcessInfo {
    let name = identity()
        .as_ref()
        .map_or_else(|| "MainProcess".to_owned(), |id| id.name.clone());
    ProcessInfo {
        name,
        pid: crate::sys::this_process::pid(),
    }
}

/// The process that created this one, or `None` in a process this crate
/// did not create (such as the main process).
///
/// ```
/// assert_eq!(common::parent_process(), None);
/// ```
pub fn parent_process() -> Option<ProcessInfo> {
    identity().as_ref().and_then(|id| id.parent.clone())
}

/// In the parent: the identity of a child about to be created as `name`.
pub(crate) fn for_child(name: &str) -> Identity {
    Identity {
        name: name.to_owned(),
        parent: Some(current_process()),
    }
}

impl Identity {
    /// The name the child will have.
    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    /// The pid of the child's parent.
    pub(crate) fn parent_pid(&self) -> Option<u32> {
        self.parent.as_ref().map(|p| p.pid)
    }
}

/// In a new child: takes on the identity its parent prepared.
#[inline(always)]
pub(crate) fn become_child(identity_of_child: Identity) {
    *identity() = Some(identity_of_child);
}
