//! The one thing this experiment asks of the operating system below std:
//! a segmentation fault on demand.

use nix::sys::signal::{SigHandler, Signal, raise, signal};

/// Ends this process as an invalid memory access would: with SIGSEGV.
pub fn segfault() {
    // Rust's runtime handles SIGSEGV to report stack overflows; a signal that
    // did not come from a fault would return from that handler, so the
    // default action is restored first.
    // SAFETY: restoring the default action installs no handler of ours.
    let _ = unsafe { signal(Signal::SIGSEGV, SigHandler::SigDfl) };
    let _ = raise(Signal::SIGSEGV);
}
