//! How a child ends, and how it ends with its parent: `_exit`, and
//! `PR_SET_PDEATHSIG`.

use nix::sys::signal::Signal;
use nix::unistd::Pid;

/// In a new child: asks the kernel for SIGKILL when `parent` dies, so that
/// no child outlives a parent killed with SIGKILL, and exits at once if the
/// parent died before the request took effect.
#[inline(always)]
pub(crate) fn die_with(parent: Pid) {
    if nix::sys::prctl::set_pdeathsig(Signal::SIGKILL).is_ok() && nix::unistd::getppid() != parent {
        exit_now(1);
    }
}

/// Ends this process at once with `code`: no destructor, no exit handler,
/// so a child never runs the parent's a second time.
#[inline(always)]
pub(crate) fn exit_now(code: i32) -> ! {
    // SAFETY: `_exit` ends the process at once; nothing of ours runs after
    // it, which is the point.
    unsafe { libc::_exit(code) }
}

/// Runs `handler` when this process exits normally (`exit`, or a return
/// from `main`), not when it is killed or ends with `_exit`.
pub(crate) fn at_exit(handler: extern "C" fn()) {
    // SAFETY: `atexit` only records the pointer; `handler` is a plain
    // function with the C ABI and no arguments, as it requires.
    unsafe { libc::atexit(handler) };
}
