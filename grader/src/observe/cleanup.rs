//! After the main process: finding what of the run is still running,
//! killing it, and reaping what comes to the grader.

use std::thread;
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use nix::unistd::{Pid, getpid};

use super::deadline::Deadline;
use super::waiter::{KILL_WAIT, TICK, Waiter};
use crate::procfs;
use crate::sandbox::Sandbox;

/// How long processes of the run may take to finish dying after the main
/// process has ended. `common` asks the kernel to kill every child when its
/// parent dies (PR_SET_PDEATHSIG), so its processes are gone within
/// microseconds; this only bounds the wait for them.
const SETTLE: Duration = Duration::from_secs(1);

/// How long the output may take to close once the run is gone, before
/// the grader looks for a process elsewhere that holds it.
pub(super) const OUTPUT_GRACE: Duration = Duration::from_millis(50);

/// The run's processes still running, but the main process: the
/// sandbox's members and, without a PID namespace, the run's group. A
/// process is running while any of its threads is, whatever its main
/// thread's state.
fn running(main: Pid, sandbox: &Sandbox) -> Vec<Pid> {
    let mut pids = sandbox.members();
    pids.extend(procfs::group_members(main).into_iter().map(|(pid, _)| pid));
    pids.sort();
    pids.dedup();
    pids.into_iter()
        .filter(|&pid| pid != main && procfs::alive(pid))
        .collect()
}

/// Waits for the run's processes that are dying to be gone, then kills
/// every process of the run; returns those that were still running then.
/// Every wait ends by the time `deadline` gives the verdict.
pub(super) fn clear_run(
    main: Pid,
    waiter: &mut Waiter,
    sandbox: &mut Sandbox,
    deadline: &Deadline,
) -> Vec<Pid> {
    let settle = deadline.by(SETTLE);
    let leftovers = loop {
        waiter.pump();
        reap_ours(main, waiter);
        let running = running(main, sandbox);
        if running.is_empty() || Instant::now() >= settle {
            break running;
        }
        thread::sleep(TICK);
    };
    waiter.kill(sandbox, deadline.by(KILL_WAIT));
    // Without a PID namespace, orphans came to the grader: reap them.
    procfs::clear_group(main, |pid| waiter.reap_member(pid));
    leftovers
}

/// Reaps the members of group `main` that ended and are children of the
/// grader (orphans, without a PID namespace).
fn reap_ours(main: Pid, waiter: &mut Waiter) {
    for pid in procfs::our_zombies(main) {
        waiter.reap_member(pid);
    }
}

/// Kills and reaps every process but this one that holds the program's
/// end of an output stream open (by its name in `/proc/PID/fd`); returns
/// them.
pub(super) fn clear_output_holders(names: &[String]) -> Vec<Pid> {
    let me = getpid();
    let holders: Vec<(Pid, procfs::Stat)> = procfs::processes()
        .into_iter()
        .filter(|(pid, _)| *pid != me)
        .filter(|(pid, _)| {
            std::fs::read_dir(format!("/proc/{pid}/fd")).is_ok_and(|fds| {
                fds.flatten().any(|fd| {
                    std::fs::read_link(fd.path())
                        .is_ok_and(|target| names.iter().any(|n| target.as_os_str() == n.as_str()))
                })
            })
        })
        .collect();
    for (pid, stat) in &holders {
        let _ = nix::sys::signal::kill(*pid, Signal::SIGKILL);
        if stat.ppid == me {
            let _ = nix::sys::wait::waitpid(*pid, None);
        }
    }
    holders.into_iter().map(|(pid, _)| pid).collect()
}
