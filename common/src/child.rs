//! How every child process begins, whatever started it (fork, in
//! `sys::fork`, or spawn, in `entry`) and whatever it then runs (a
//! [`Process`](crate::Process)'s target or a pool worker's loop): the one
//! start-up path.
//!
//! 1. It asks the kernel to kill it when its parent dies (`PR_SET_PDEATHSIG`),
//!    so no child is ever orphaned, and exits at once if the parent is
//!    already gone.
//! 2. It takes on the identity its parent prepared (its name, its parent's).
//! 3. If a grader is watching, it checks in, telling its parent once the
//!    grader has seen it, and waits to be let go.

use std::ffi::OsStr;

use nix::unistd::Pid;

use crate::checkin;
use crate::identity::{self, Identity};
use crate::sys::exit::die_with;

/// Begins a child: see the module docs. `checkin` is the socket's path and
/// what to do once the grader has seen this process (tell the parent).
pub(crate) fn begin(
    parent: Option<Pid>,
    identity: Identity,
    label: &str,
    checkin: Option<(&OsStr, impl FnOnce())>,
) {
    if let Some(parent) = parent {
        die_with(parent);
    }
    identity::become_child(identity);
    if let Some((path, seen)) = checkin {
        checkin::check_in(path, label, seen);
    }
}
