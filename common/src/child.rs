//! The child's side, whatever started it: how every child begins, and what
//! a child that is sent its work does. A reader of a child's life starts
//! here.
//!
//! Every child begins with [`begin`], the one start-up path, whether it was
//! forked (`sys::fork`), spawned or forked by the fork server:
//!
//! 1. It asks the kernel to kill it when its parent dies (`PR_SET_PDEATHSIG`),
//!    so no child is ever orphaned, and exits at once if the parent is
//!    already gone.
//! 2. It takes on the identity its parent prepared (its name, its parent's).
//! 3. If a grader is watching, it checks in, telling its parent once the
//!    grader has seen it, and waits to be let go.
//!
//! A forked child then runs the closure it was forked with. A child started
//! afresh runs [`run_sent`] instead: a spawned one from the constructor that
//! runs before `main` (see `entry`), a fork server's from the server's fork
//! (see `forkserver`). It reads the [`Boot`] frame its parent sent (see
//! `boot`), begins, does the work (a [`Process`](crate::Process)'s function,
//! or a pool worker's loop) and exits, so that the program's `main` never
//! runs there.

use std::ffi::{OsStr, OsString};
use std::io::Write;
use std::os::unix::net::UnixStream;
use std::panic::{self, AssertUnwindSafe};

use nix::unistd::Pid;

use crate::boot::{Boot, Work};
use crate::checkin;
use crate::frame;
use crate::identity::{self, Identity};
use crate::pool::worker_loop::worker_loop;
use crate::sys::{self, ErasedFn, exit::die_with};

/// Begins a child: see the module docs. `checkin` is the socket's path and
/// what to do once the grader has seen this process (tell the parent).
#[inline(always)]
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

/// In a child started by spawn or by the fork server: does the work its
/// parent sends over `socket`, then exits. Never returns.
pub(crate) fn run_sent(mut socket: UnixStream) -> ! {
    let code = match frame::read::<Boot>(&mut socket) {
        Ok(Some(boot)) => run(boot, socket),
        _ => 1,
    };
    sys::flush_stdio();
    sys::exit_now(code)
}

/// Begins as `boot` says, then does its work; the exit code.
fn run(boot: Boot, socket: UnixStream) -> i32 {
    use std::os::unix::ffi::OsStringExt;
    let parent = boot
        .identity
        .parent_pid()
        .map(|p| Pid::from_raw(i32::try_from(p).unwrap_or(0)));
    let name = boot.identity.name().to_owned();
    let path = boot.checkin.map(OsString::from_vec);
    // Only a watched child says it was seen (and needs its own handle).
    let mut seen = path.as_ref().and_then(|_| socket.try_clone().ok());
    begin(
        parent,
        boot.identity,
        &name,
        path.as_deref().map(|path| {
            (path, move || {
                if let Some(seen) = seen.as_mut() {
                    let _ = seen.write_all(b"s");
                }
            })
        }),
    );
    match boot.work {
        Work::Process { func, args, fds } => run_process(&name, &socket, func, &args, fds),
        Work::PoolWorker {
            initializer,
            fds,
            maxtasks,
            slot,
            slots,
        } => run_pool_worker(socket, initializer, fds, maxtasks, (slot, slots)),
    }
}

/// A [`Process`](crate::Process)'s work: `func(args)`, with the `fds`
/// descriptors that follow the frame installed for `args` to take.
fn run_process(name: &str, socket: &UnixStream, func: ErasedFn, args: &[u8], fds: usize) -> i32 {
    if fds > 0 {
        match sys::receive_fds(socket, fds) {
            Some(fds) => crate::crossing::install_fds(fds),
            None => return 1,
        }
    }
    match panic::catch_unwind(AssertUnwindSafe(|| func.call(args))) {
        // A target's exit code, encoded, or nothing for a target that
        // returns nothing (see `sys::function::reporting`).
        Ok(Ok(code)) if code.is_empty() => 0,
        Ok(Ok(code)) => postcard::from_bytes(&code).unwrap_or(1),
        Ok(Err(message)) => {
            eprintln!("{name}: {message}");
            1
        }
        Err(_) => 1,
    }
}

/// A pool worker's work: its loop over `socket` (tasks in, answers out),
/// its progress in slot `slot` of the `slots` that follow the frame, and
/// its initializer run first, with the `fds` descriptors that follow
/// installed for its argument to take.
fn run_pool_worker(
    socket: UnixStream,
    initializer: Option<(ErasedFn, Vec<u8>)>,
    fds: usize,
    maxtasks: Option<usize>,
    (slot, slots): (usize, usize),
) -> i32 {
    sys::ignore_sigint();
    let Some(mut received) = sys::receive_fds(&socket, 1 + fds).map(Vec::into_iter) else {
        return 1;
    };
    let Some(progress) = received
        .next()
        .and_then(|fd| sys::Slots::map(fd, slots).ok())
    else {
        return 1;
    };
    crate::crossing::install_fds(received.collect());
    if let Some((initializer, args)) = initializer
        && initializer.call(&args).is_err()
    {
        return 1;
    }
    let Ok(results) = socket.try_clone() else {
        return 1;
    };
    worker_loop(socket, results, maxtasks, |done| progress.set(slot, done))
}
