//! Runs one exercise binary and records what it did, as the kernel saw it.
//!
//! # How processes are observed
//!
//! The binary runs in a sandbox of its own (the `sandbox` module), with stdin
//! closed and stdout and stderr captured (from sockets, which it can write
//! to and not read back: `capture.rs`). `common` makes every process it
//! creates check in on a Unix socket named by [`common::CHECKIN_ENV`] before
//! running anything; the grader learns each one's pid from the kernel
//! (`SO_PEERCRED`) and its parent from `/proc`, so a program that only
//! prints, or runs threads, cannot pass for one that creates processes.
//! `start` returns in the parent only after the grader has looked the child
//! up, so even a parent that exits at once cannot orphan a child before its
//! parentage is recorded. The socket is served without ever blocking
//! ([`checkin`]), so no use of it can stretch a run past its timeout.
//!
//! Where the kernel permits it, the program also runs under `ptrace`
//! (the `trace` module): every process and thread it creates, at any
//! depth, is reported by the kernel as it is created, with its parent and
//! how it ended; and every write to its stdout, with the process that made
//! it, in the order the bytes entered the stream. That is the evidence
//! that it made processes, not threads, even for processes that never check
//! in, that each line came from the process meant to print it (and that
//! every byte read came from such a write), and it bounds how many
//! processes a run may create
//! ([`PROCESS_LIMIT`]): a fork bomb is stopped at the limit. Where tracing
//! is not permitted the report says so, and the check-ins and `/proc` are
//! the evidence (the limit is then enforced by counting the run's processes
//! every tick, and by the kernel's process cap).
//!
//! # How concurrency and ordering are shown without a stopwatch
//!
//! The grader holds every checked-in process at the socket (it answers
//! later). When as many as the run expects are seen alive and waiting
//! there at one moment (`rendezvous.rs` says how that moment is named),
//! they were alive at the same time, none of them having done its work
//! yet: that is the proof of concurrency, and the set seen is kept so that
//! it can be compared with the processes that wrote the output. When the
//! run says the main process must wait for its children, the grader also
//! keeps holding them until `/proc/PID/syscall` shows the main process
//! blocked in `wait4` or `waitid`, so that what it printed before joining
//! comes first in the output. The proof that the final line came after the
//! children is the kernel's, though: when the main process writes, the
//! tracer notes which of its children were not yet reaped (see the
//! `trace` module), and the judge requires every child the run needs to
//! have ended, and been joined, by then.
//!
//! When the main process is blocked waiting while every child it has is held
//! and seen waiting, and fewer than expected have checked in, nothing can
//! move again (it waits for a child that waits for the grader): the grader
//! lets them all go and records that the children were not all alive at
//! once.
//!
//! # A deadline that holds
//!
//! The run's timeout is kept by a clock of its own and a watchdog
//! (`deadline.rs`), counted from the start of the sandbox's launch (a
//! launch slowed by a loaded machine does not push the verdict back):
//! whatever the program does, every wait of the grader ends by the timeout
//! plus 0.9 s (`VERDICT_GRACE`), and the verdict follows. Just before a
//! run that timed out is killed, the grader reads where each of its
//! processes was, the call each thread was blocked in (`stuck.rs`), for
//! the report.
//!
//! # How nothing is left behind
//!
//! Every process of the run descends from the sandbox's init (orphans are
//! reparented to it, the PID namespace's reaper). When the main process has
//! exited (or the timeout killed it), whatever of the run is still running a
//! second later (a process runs while any of its threads does, whatever its
//! main thread's state) is recorded as a leftover; then the init is killed,
//! which ends every process of the namespace. Processes still held at the
//! socket then are not let go. `common` has the kernel kill every child
//! whose parent dies, so its processes never linger; the second only bounds
//! the wait for them to finish dying. Without a PID namespace the grader is
//! a child subreaper, and the run's process group and the tracer's record
//! find what is left.

mod capture;
pub mod checkin;
mod cleanup;
mod deadline;
mod rendezvous;
mod stuck;
mod waiter;
mod watch;

use std::os::fd::OwnedFd;
use std::path::Path;
use std::time::{Duration, Instant};

use nix::unistd::Pid;

pub use crate::ending::Ending;
pub use crate::trace::{
    Created, Events, HeldLine, MESSAGES_CAP, Message, Race, Taken, Unjoined, WRITTEN_CAP, Written,
};
pub use capture::{Captured, OUTPUT_CAP, Wrote};
pub use checkin::CheckIn;
pub use deadline::VERDICT_GRACE;
pub use stuck::{Place, Stuck};

use crate::error::Error;
use crate::exercises::Run;
use crate::sandbox::{self, Layers, Program, Sandbox, Spec};
use crate::trace::{self, Tracer};
use deadline::Deadline;
pub use waiter::PROCESS_LIMIT;
use waiter::{KILL_WAIT, Waiter};
use watch::Watch;

/// How long, after the program has ended, its output may stay open.
const DRAIN: Duration = Duration::from_secs(2);

/// Why the held processes were let go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Release {
    /// As many as expected were seen waiting at the rendezvous at one
    /// moment (and the main process was waiting, when the run asks for
    /// that).
    AllHeld,
    /// The main process waited while fewer than expected were held, all
    /// seen waiting.
    Stalled,
    /// The main process exited first; they were killed with the rest of
    /// the run.
    MainExited,
    /// The timeout struck first.
    TimedOut,
}

/// Everything observed of one run.
#[derive(Debug, Clone)]
pub struct Observation {
    /// The main process, which the grader started.
    pub main: Pid,
    /// How it ended.
    pub ending: Ending,
    /// Its standard output.
    pub stdout: Captured,
    /// Its standard error.
    pub stderr: Captured,
    /// Every process that checked in, in order.
    pub checkins: Vec<CheckIn>,
    /// The most processes seen alive and waiting at the rendezvous at one
    /// moment.
    pub most_held: usize,
    /// The processes seen so at that moment.
    pub held_together: Vec<Pid>,
    /// Why they were let go.
    pub release: Release,
    /// Whether the grader could see what the main process was blocked in
    /// when it let the held processes go; without it, ordering is checked
    /// only as the output came.
    pub saw_waits: bool,
    /// Whether the grader could see what each held process was blocked in;
    /// without it, those alive, connected and asleep in the kernel at one
    /// moment were counted.
    pub saw_rendezvous: bool,
    /// The most threads the main process was seen with.
    pub most_threads: u32,
    /// Processes of the run still running after the main process ended;
    /// they were killed.
    pub leftovers: Vec<Pid>,
    /// What `ptrace` reported, or why the run could not be traced.
    pub traced: Result<Events, String>,
    /// Which layers of isolation the run had.
    pub layers: Layers,
    /// The sandbox's init, the parent of the main process.
    pub init: Option<Pid>,
    /// Whether the run was refused memory at its cap.
    pub hit_memory_cap: bool,
    /// Where each process of the run was when it timed out, read just
    /// before it was killed (main process first); empty if it did not
    /// time out.
    pub stuck: Vec<Stuck>,
}

/// A sandboxed program not yet executing, and the grader's ends of its
/// output.
struct Started {
    sandbox: Sandbox,
    stdout: OwnedFd,
    stderr: OwnedFd,
    /// The names of the program's ends in `/proc/PID/fd`: stdout's,
    /// stderr's.
    names: [String; 2],
}

/// Launches `binary` as `run` says, its output to fresh sockets.
fn start(binary: &Path, run: &Run, traced: bool) -> Result<Started, Error> {
    let stdout = capture::socket()?;
    let stderr = capture::socket()?;
    let names = [stdout.name, stderr.name];
    let spec = Spec {
        program: Program::Copy(binary),
        args: &run.args,
        env: vec![(
            common::START_METHOD_ENV.to_owned(),
            run.start_method.to_string(),
        )],
        path: "/usr/local/bin:/usr/bin:/bin",
        binds: Vec::new(),
        etc: true,
        proc: true,
        checkin: Some(common::CHECKIN_ENV),
        stdout: stdout.theirs,
        stderr: stderr.theirs,
        traced,
        stops: sandbox::seccomp::Stops {
            shared_maps: run.watches_values() || run.watches_puts(),
            messages: run.records_messages(),
            sleeps: run.holds_first_line(),
        },
        caps: sandbox::run_caps(),
    };
    Ok(Started {
        sandbox: sandbox::launch(spec)?,
        stdout: stdout.ours,
        stderr: stderr.ours,
        names,
    })
}

/// Runs `binary` as `run` says and observes it.
pub fn observe(binary: &Path, run: &Run) -> Result<Observation, Error> {
    // Without a PID namespace, orphans of the exercise must come to us.
    nix::sys::prctl::set_child_subreaper(true).map_err(|e| Error::os("prctl", e))?;
    // The timeout counts from here, the sandbox's launch included, so that
    // a launch slowed by a loaded machine does not push the verdict back.
    let time_up = Instant::now() + run.timeout;
    let (started, mut waiter) = launch(binary, run)?;
    let Started {
        mut sandbox,
        stdout,
        stderr,
        names,
    } = started;
    let listener = sandbox.checkin.take().ok_or_else(|| {
        Error::io(
            "make the check-in socket",
            std::io::ErrorKind::NotFound.into(),
        )
    })?;
    listener
        .set_nonblocking(true)
        .map_err(|e| Error::io("set up the check-in socket", e))?;
    let main = sandbox.program;
    let stdout = capture::capture(stdout);
    let stderr = capture::capture(stderr);
    let started = {
        let mut pump = || waiter.pump();
        sandbox.go(&mut pump)
    };
    if let Err(error) = started {
        waiter.kill(&mut sandbox, Instant::now() + KILL_WAIT);
        return Err(error);
    }
    let group = (!sandbox.layers.pid_namespace).then_some(main);
    let mut deadline = Deadline::start(time_up, sandbox.init, group);
    let mut watch = Watch::new(main, run, listener);
    let ending = watch.until_exit(&mut waiter, &mut sandbox, &deadline);
    // Before the init can be reaped (its pid then free for another).
    deadline.disarm();
    let ending = ending?;
    let (leftovers, traced) = clear(
        main,
        ending,
        waiter,
        &mut sandbox,
        &names,
        [&stdout, &stderr],
        &deadline,
    );
    let most_threads = match &traced {
        // Exact: one plus every thread the kernel saw it create.
        Ok(events) => u32::try_from(1 + events.threads_of(main)).unwrap_or(u32::MAX),
        Err(_) => watch.most_threads,
    };
    let layers = sandbox.layers.clone();
    let init = sandbox.init;
    let hit_memory_cap = sandbox.hit_memory_cap();
    drop(sandbox);
    Ok(Observation {
        main,
        ending,
        stdout: stdout.collect(deadline.by(DRAIN)),
        stderr: stderr.collect(deadline.by(DRAIN)),
        checkins: watch.desk.checkins,
        most_held: watch.most_held,
        held_together: watch.held_together,
        release: watch.release.unwrap_or(Release::MainExited),
        saw_waits: watch.saw_waits,
        saw_rendezvous: watch.saw_rendezvous,
        most_threads,
        leftovers,
        traced,
        layers,
        init,
        hit_memory_cap,
        stuck: watch.stuck,
    })
}

/// What a run's sandbox has here, as the kernel grants it now: the layers
/// of a run of `true` (an executable every system has), traced as a run
/// is, whatever the sandbox policy in force.
pub fn probe() -> Result<Layers, Error> {
    let program = ["/usr/bin/true", "/bin/true"]
        .into_iter()
        .map(Path::new)
        .find(|p| p.is_file())
        .ok_or_else(|| Error::io("find true", std::io::ErrorKind::NotFound.into()))?;
    let policy = sandbox::Policy::current();
    sandbox::Policy::BestEffort.set();
    let seen = observe(program, &Run::new(&[], &[]));
    policy.set();
    Ok(seen?.layers)
}

/// Launches the program, traced where the kernel permits it (else
/// started again without the tracer its filter would wait for).
fn launch(binary: &Path, run: &Run) -> Result<(Started, Waiter), Error> {
    if !trace::wanted() {
        let started = untraced(binary, run)?;
        return Ok((started, Waiter::Plain(format!("{}=off", trace::PTRACE_ENV))));
    }
    let started = start(binary, run, true)?;
    let stdout = started.names[0].clone();
    match Tracer::seize(started.sandbox.program, PROCESS_LIMIT, stdout) {
        Ok(mut tracer) => {
            if run.records_crossings() {
                tracer.follow_queues();
            }
            if run.watches_values() {
                tracer.watch_values();
            }
            if run.watches_puts() {
                tracer.watch_puts();
            }
            if run.records_messages() {
                tracer.record_messages();
            }
            if run.follows_pipes() {
                tracer.follow_pipes();
            }
            if run.holds_first_line() {
                tracer.hold_first_line();
            }
            Ok((started, Waiter::Traced(Box::new(tracer))))
        }
        Err(why) => {
            // Its filter sends writes to a tracer that is not there:
            // start it again without.
            drop(started);
            Ok((untraced(binary, run)?, Waiter::Plain(why)))
        }
    }
}

/// Launches the program without a tracer, if the sandbox policy allows
/// a run that is not traced.
fn untraced(binary: &Path, run: &Run) -> Result<Started, Error> {
    let mut started = start(binary, run, false)?;
    started.sandbox.layers.traced = Some(false);
    let refused = started
        .sandbox
        .layers
        .refused_by(sandbox::Policy::current());
    if !refused.is_empty() {
        return Err(Error::Unsandboxed(refused.join(", no ")));
    }
    Ok(started)
}

/// Once the main process has ended: kills what is left of the run and
/// returns what was left (none after a timeout or a fork bomb: the grader
/// stopped those runs itself), with the tracer's events or why there are
/// none.
fn clear(
    main: Pid,
    ending: Ending,
    mut waiter: Waiter,
    sandbox: &mut Sandbox,
    names: &[String; 2],
    outputs: [&capture::Capture; 2],
    deadline: &Deadline,
) -> (Vec<Pid>, Result<Events, String>) {
    let mut leftovers = cleanup::clear_run(main, &mut waiter, sandbox, deadline);
    let traced = match waiter {
        Waiter::Traced(tracer) => {
            // Traced processes that left the group are still known.
            leftovers.extend(tracer.alive());
            Ok(tracer.finish(deadline.by(KILL_WAIT)))
        }
        Waiter::Plain(why) => Err(why),
    };
    // A process that left the run may still hold the output open.
    if !outputs
        .iter()
        .all(|output| output.closed_within(cleanup::OUTPUT_GRACE))
    {
        leftovers.extend(cleanup::clear_output_holders(names));
    }
    leftovers.sort();
    leftovers.dedup();
    // After a timeout the grader killed the run itself: nothing was left
    // behind by the program, and what is still dying is no verdict.
    if matches!(ending, Ending::TimedOut(_) | Ending::TooManyProcesses(_)) {
        leftovers.clear();
    }
    (leftovers, traced)
}
