//! Starting children from a thread that lasts.
//!
//! The kernel ties `PR_SET_PDEATHSIG`, which kills every child of this crate
//! when its parent dies, to the parent *thread*: the thread that created the
//! child (prctl(2)). A child started from a short-lived thread (a tokio
//! blocking task, a rayon job, a scoped thread, a pool's driver) would be
//! killed when that thread ends, though its parent process lives on. So a
//! child that is not forked (spawned ones, and the fork server) is started
//! from the main thread when that is the caller, and otherwise from one
//! thread of this crate, made on first use, which lives as long as the
//! process. That thread runs its jobs behind a gate every fork closes, so
//! that a process whose only other thread is this one can still fork (see
//! `sys::pause`).

use std::panic::{self, AssertUnwindSafe};
use std::sync::mpsc::{self, Sender};
use std::sync::{Mutex, PoisonError};

use crate::sys;

type Job = Box<dyn FnOnce() + Send>;

/// The lasting thread's inbox, and the process it belongs to (a forked
/// child inherits the value, not the thread).
static LAUNCHER: Mutex<Option<(u32, Sender<Job>)>> = Mutex::new(None);

/// Runs `job` on a thread that lives as long as this process, and returns
/// what it returns. Should no such thread be had (the system refuses a
/// thread), `job` runs on the caller's.
pub(crate) fn on_lasting_thread<R: Send + 'static>(job: impl FnOnce() -> R + Send + 'static) -> R {
    if nix::unistd::gettid() == nix::unistd::getpid() {
        return job();
    }
    let Some(inbox) = inbox() else {
        return job();
    };
    let (answer, answered) = mpsc::sync_channel(1);
    let sent = inbox.send(Box::new(move || {
        let _ = answer.send(panic::catch_unwind(AssertUnwindSafe(job)));
    }));
    match (sent, answered.recv()) {
        (Ok(()), Ok(Ok(value))) => value,
        (Ok(()), Ok(Err(panicked))) => panic::resume_unwind(panicked),
        // The thread never drops a job unanswered: it catches panics.
        _ => unreachable!("the launcher thread answers every job"),
    }
}

/// The lasting thread's inbox, the thread made if this process has none.
fn inbox() -> Option<Sender<Job>> {
    let mut launcher = LAUNCHER.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some((owner, inbox)) = &*launcher
        && *owner == std::process::id()
    {
        return Some(inbox.clone());
    }
    // A forked child's copy of its parent's inbox is left alone, never
    // dropped: the channel's state belongs to a thread this process lacks.
    std::mem::forget(launcher.take());
    let (inbox, jobs) = mpsc::channel::<Job>();
    std::thread::Builder::new()
        .name("common-launcher".to_owned())
        .spawn(move || {
            for job in jobs {
                sys::pause::lasting_job(job);
            }
        })
        .ok()?;
    sys::pause::lasting_started();
    *launcher = Some((std::process::id(), inbox.clone()));
    Some(inbox)
}
