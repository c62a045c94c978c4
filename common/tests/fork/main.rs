//! Tests of `common` that fork, grouped by concept in the modules below.
//!
//! libtest runs every test on a thread of its own, and `common` refuses to
//! fork a multi-threaded process (see the crate docs), so this file has its
//! own harness: libtest-mimic with one test thread, which runs each test on
//! the main thread. After every test, passed or failed, the harness kills and
//! reaps any child the test left behind, and fails the test if there was one
//! (except the fork server, which lasts until the process exits).
//!
//! Tests that need to see this process's own stdout re-run this binary with
//! `ROLE_ENV` set, and read its output through a pipe or a file.

/// Defines test functions and this module's `TESTS`, the list the harness
/// runs: a test defined inside cannot be left out of it.
macro_rules! fork_tests {
    ($($(#[$meta:meta])* fn $name:ident() $body:block)*) => {
        $($(#[$meta])* fn $name() $body)*

        /// Every test of this module, by name.
        pub const TESTS: &[(&str, fn())] = &[$((stringify!($name), $name)),*];
    };
}

mod arguments;
mod barrier;
mod exhaustion;
mod manager;
mod output;
mod pipe;
mod pool;
mod pool_calls;
mod pool_faults;
mod process;
mod queue;
mod robust;
mod shared;
mod support;
mod sync;
mod tcp;
mod timeouts;

use std::panic::{self, AssertUnwindSafe};

use libtest_mimic::{Arguments, Failed, Trial};
use nix::sys::signal::{Signal, kill};
use nix::sys::wait::waitpid;
use nix::unistd::getpid;

use support::{ROLE_ENV, children_of};

fn main() {
    if let Ok(role) = std::env::var(ROLE_ENV) {
        support::play(&role);
        return;
    }
    // Orphans of the processes a test starts (its roles' workers, once the
    // role is killed) come to this process, so that no zombie is left to
    // init and `run_leaving_nothing` sees every one.
    nix::sys::prctl::set_child_subreaper(true).expect("become a subreaper");
    let mut args = Arguments::from_args();
    args.test_threads = Some(1);
    let tests = [
        process::TESTS,
        output::TESTS,
        pool::TESTS,
        pool_faults::TESTS,
        exhaustion::TESTS,
        pool_calls::TESTS,
        arguments::TESTS,
        pipe::TESTS,
        tcp::TESTS,
        sync::TESTS,
        barrier::TESTS,
        timeouts::TESTS,
        queue::TESTS,
        robust::TESTS,
        shared::TESTS,
        manager::TESTS,
    ]
    .concat();
    let trials = tests
        .iter()
        .map(|&(name, test)| Trial::test(name, move || run_leaving_nothing(test)))
        .collect();
    libtest_mimic::run(&args, trials).exit();
}

/// Runs `test`, then kills and reaps every child it left; a leftover fails it.
/// A test still running after two minutes kills the whole binary.
fn run_leaving_nothing(test: fn()) -> Result<(), Failed> {
    // A test that hangs is killed by SIGALRM rather than holding up CI.
    nix::unistd::alarm::set(120);
    let outcome = panic::catch_unwind(AssertUnwindSafe(test));
    nix::unistd::alarm::cancel();
    // This process's fork server (under the forkserver start method) is
    // meant to stay until the process exits.
    let leftovers: Vec<_> = children_of(getpid())
        .into_iter()
        .filter(|&pid| !support::is_fork_server(pid))
        .collect();
    for &pid in &leftovers {
        let _ = kill(pid, Signal::SIGKILL);
        let _ = waitpid(pid, None);
    }
    if let Err(payload) = outcome {
        panic::resume_unwind(payload);
    }
    if leftovers.is_empty() {
        Ok(())
    } else {
        Err(format!("left child processes behind: {leftovers:?}").into())
    }
}
