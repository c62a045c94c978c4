//! A hostile submission: the main process dies of a segmentation fault
//! after printing part of the output.

#![expect(
    unsafe_code,
    reason = "a submission may do what it likes; this one forks by hand"
)]

use nix::sys::signal::{SigHandler, Signal, raise, signal};

fn main() {
    println!("Process 1: Printing 1");
    // Rust's runtime handles SIGSEGV for stack overflows; restore the default
    // so that the signal ends the process, as a real invalid access would.
    // SAFETY: restoring the default action installs no handler.
    let _ = unsafe { signal(Signal::SIGSEGV, SigHandler::SigDfl) };
    let _ = raise(Signal::SIGSEGV);
}
