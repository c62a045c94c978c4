//! Everything that talks to the operating system below std, and the only
//! module of this crate allowed to use `unsafe`.
//!
//! # Why forking is refused in a multi-threaded process
//!
//! `fork` copies only the calling thread. Any lock another thread held at that
//! instant (the allocator's, stdout's, the environment's) stays locked forever
//! in the child, which deadlocks the first time it touches it. Python forked
//! anyway until 3.14 moved its default start method away from fork
//! (cpython gh-84559). [`fork`] counts the threads in `/proc/self/task` and
//! returns [`Error::MultiThreaded`] instead. No thread can appear between the
//! count and the fork: only the one running thread could create it.
//!
//! This is also why the crate's own fork tests do not run under libtest, which
//! runs each test on a thread of its own: `tests/fork/main.rs` has a harness that
//! runs them on the main thread.
//!
//! # Output
//!
//! Rust's stdout is buffered in user space. Bytes still in the buffer at the
//! fork would be printed twice, once by each process, so [`fork`] flushes
//! stdout and stderr first; the child flushes again before `_exit`, and
//! `_exit` (not `exit`) ends it, so the parent's destructors and exit handlers
//! never run twice.

use std::io::{self, Write};
use std::num::NonZeroUsize;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::panic::{self, AssertUnwindSafe};
use std::ptr::NonNull;
use std::sync::Mutex;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU8, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::mman::{MapFlags, ProtFlags};
use nix::sys::signal::{self, SaFlags, SigAction, SigHandler, SigSet, Signal};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::{ForkResult, Pid};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::checkin;
use crate::error::{Ended, Error, Result};
use crate::identity;
use crate::log;
use crate::start;

/// File descriptors that belong to the parent side of this process's pools:
/// every forked child closes them first, so that a worker sees end-of-file
/// when the parent closes its end, not when the last of its siblings exits.
static PARENT_FDS: Mutex<Vec<RawFd>> = Mutex::new(Vec::new());

/// Marks `fd` as one that forked children must close.
pub(crate) fn register_parent_fd(fd: RawFd) {
    lock_parent_fds().push(fd);
}

/// Undoes [`register_parent_fd`]; call it before closing `fd`, so that a
/// later child does not close an unrelated file that reuses the number.
pub(crate) fn forget_parent_fd(fd: RawFd) {
    lock_parent_fds().retain(|&registered| registered != fd);
}

fn lock_parent_fds() -> std::sync::MutexGuard<'static, Vec<RawFd>> {
    // A panic while holding this lock cannot leave the Vec half-updated.
    PARENT_FDS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The number of threads in this process, as the kernel counts them.
///
/// A thread that was just joined may still be listed for a few microseconds
/// while the kernel finishes its exit, so a count above one is taken again,
/// a few times over at most 20 ms, before it is believed.
pub(crate) fn thread_count() -> Result<usize> {
    let count = || -> Result<usize> {
        let tasks = std::fs::read_dir("/proc/self/task")
            .map_err(|e| Error::os("read /proc/self/task", e))?;
        Ok(tasks.count())
    };
    let mut threads = count()?;
    for _ in 0..20 {
        if threads <= 1 {
            break;
        }
        std::thread::sleep(Duration::from_millis(1));
        threads = count()?;
    }
    Ok(threads)
}

/// Writes out what the standard streams hold, so that a child does not print
/// it a second time. Errors are ignored: a closed stdout must not stop a fork.
pub(crate) fn flush_stdio() {
    let _ = io::stdout().flush();
    let _ = io::stderr().flush();
}

/// Forks. The child checks in (see [`checkin`]), runs `child` and exits with
/// the code it returns, or 1 if it panics; it never returns into the caller.
/// The parent gets the child's pid, once a grader watching has seen it.
pub(crate) fn fork(label: &str, child: impl FnOnce() -> i32) -> Result<Pid> {
    let threads = thread_count()?;
    if threads > 1 {
        return Err(Error::MultiThreaded { threads });
    }
    let parent = nix::unistd::getpid();
    let child_identity = identity::for_child(label);
    // Closed by the child once a grader has seen it (see `checkin`).
    let checkin = match checkin::socket() {
        Some(socket) => Some((socket, pipe()?)),
        None => None,
    };
    flush_stdio();
    // SAFETY: the process has a single thread (checked above, and only this
    // thread could have started another since), so the child inherits no lock
    // held by a thread that does not exist in it.
    match unsafe { nix::unistd::fork() } {
        Ok(ForkResult::Parent { child }) => {
            log::event(format_args!(
                "{label} started: pid {child}, parent {parent}"
            ));
            if let Some((_, (seen_rx, seen_tx))) = checkin {
                drop(seen_tx);
                checkin::wait_until_seen(seen_rx);
            }
            Ok(child)
        }
        Ok(ForkResult::Child) => {
            for fd in lock_parent_fds().drain(..) {
                // SAFETY: the fd was registered by the parent as its own and
                // is not used by anything the child runs; closing it here
                // only drops the child's copy.
                drop(unsafe { OwnedFd::from_raw_fd(fd) });
            }
            die_with(parent);
            identity::become_child(child_identity);
            // An unwinding panic must never return into the parent's code,
            // which would then run twice.
            let code = panic::catch_unwind(AssertUnwindSafe(|| {
                if let Some((socket, (_, seen_tx))) = checkin {
                    checkin::check_in(&socket, label, || drop(seen_tx));
                }
                child()
            }))
            .unwrap_or(1);
            flush_stdio();
            exit_now(code)
        }
        Err(errno) => Err(Error::os("fork", errno)),
    }
}

/// In a new child: asks the kernel for SIGKILL when `parent` dies, so that
/// no child outlives a parent killed with SIGKILL, and exits at once if the
/// parent died before the request took effect.
pub(crate) fn die_with(parent: Pid) {
    if nix::sys::prctl::set_pdeathsig(Signal::SIGKILL).is_ok() && nix::unistd::getppid() != parent {
        exit_now(1);
    }
}

/// Ends this process at once with `code`: no destructor, no exit handler,
/// so a child never runs the parent's a second time.
pub(crate) fn exit_now(code: i32) -> ! {
    // SAFETY: `_exit` ends the process at once; nothing of ours runs after
    // it, which is the point.
    unsafe { libc::_exit(code) }
}

/// Makes writes to a closed pipe fail with EPIPE instead of killing the
/// process, as Rust's runtime arranges before `main`; a spawned child runs
/// before that.
pub(crate) fn ignore_sigpipe() {
    // SAFETY: SIG_IGN installs no handler of ours.
    let _ = unsafe { signal::signal(Signal::SIGPIPE, SigHandler::SigIgn) };
}

/// Runs before `main` in every program linked with this crate. In a child
/// started by the spawn start method it does the child's work and exits, so
/// that `main` never runs there (see `start`); elsewhere it returns at once.
#[used]
#[unsafe(link_section = ".init_array")]
static SPAWNED_ENTRY: extern "C" fn() = spawned_entry;

extern "C" fn spawned_entry() {
    if std::env::var_os(start::SPAWNED_ENV).is_none() {
        return;
    }
    // SAFETY: before `main` the process has one thread, so nothing reads the
    // environment meanwhile; grandchildren must not inherit the variable.
    unsafe { std::env::remove_var(start::SPAWNED_ENV) };
    start::run_spawned()
}

/// Makes this process ignore SIGINT. Pool workers do, so that Ctrl-C, which
/// the terminal sends to the whole process group, is handled once, by the
/// parent, which then terminates them.
pub(crate) fn ignore_sigint() {
    // SAFETY: SIG_IGN installs no handler of ours; nothing can run in it.
    let _ = unsafe { signal::signal(Signal::SIGINT, SigHandler::SigIgn) };
}

/// SIGINT turned into something `poll` can wait for: while a guard is
/// installed, SIGINT sets a flag and writes a byte to a pipe.
pub(crate) struct SigintGuard {
    previous: SigAction,
}

static INTERRUPTED: AtomicBool = AtomicBool::new(false);
static SIGINT_WRITE_FD: AtomicI32 = AtomicI32::new(-1);
static SIGINT_PIPE: OnceLock<(OwnedFd, OwnedFd)> = OnceLock::new();

extern "C" fn on_sigint(_: libc::c_int) {
    INTERRUPTED.store(true, Ordering::SeqCst);
    let fd = SIGINT_WRITE_FD.load(Ordering::SeqCst);
    if fd >= 0 {
        let byte = 1u8;
        // SAFETY: write(2) is async-signal-safe; the buffer is a live local.
        // A full pipe only loses a wake-up byte; the flag is already set.
        let _ = unsafe { libc::write(fd, (&raw const byte).cast(), 1) };
    }
}

impl SigintGuard {
    /// Installs the handler until the guard is dropped.
    pub(crate) fn install() -> Result<SigintGuard> {
        let (read, write) = match SIGINT_PIPE.get() {
            Some(pipe) => pipe,
            None => {
                let (read, write) = nix::unistd::pipe2(OFlag::O_CLOEXEC | OFlag::O_NONBLOCK)
                    .map_err(|e| Error::os("pipe", e))?;
                register_parent_fd(read.as_raw_fd());
                register_parent_fd(write.as_raw_fd());
                SIGINT_PIPE.get_or_init(|| (read, write))
            }
        };
        // Empty the pipe of an earlier interruption's bytes.
        while nix::unistd::read(read, &mut [0u8; 64]).is_ok_and(|n| n > 0) {}
        INTERRUPTED.store(false, Ordering::SeqCst);
        SIGINT_WRITE_FD.store(write.as_raw_fd(), Ordering::SeqCst);
        let action = SigAction::new(
            SigHandler::Handler(on_sigint),
            SaFlags::empty(),
            SigSet::empty(),
        );
        // SAFETY: `on_sigint` only stores to atomics and calls write(2), both
        // async-signal-safe.
        let previous = unsafe { signal::sigaction(Signal::SIGINT, &action) }
            .map_err(|e| Error::os("sigaction", e))?;
        Ok(SigintGuard { previous })
    }

    /// Becomes readable when SIGINT arrives.
    pub(crate) fn fd(&self) -> BorrowedFd<'_> {
        SIGINT_PIPE
            .get()
            .expect("installed with the guard")
            .0
            .as_fd()
    }

    /// Whether SIGINT arrived since the guard was installed.
    pub(crate) fn fired(&self) -> bool {
        INTERRUPTED.load(Ordering::SeqCst)
    }
}

impl Drop for SigintGuard {
    fn drop(&mut self) {
        // SAFETY: puts back the action that was there before, whatever it was.
        let _ = unsafe { signal::sigaction(Signal::SIGINT, &self.previous) };
    }
}

/// 64-bit atomic slots in memory shared with children (forked, or spawned
/// and sent the memory's descriptor). Each pool worker records in one how
/// far into its current job it is, so that if it dies, the parent knows
/// which item it died on without the worker having to say so item by item
/// through the pipe; [`Value`](crate::Value) and [`Array`](crate::Array)
/// are slots too.
pub(crate) struct Slots {
    slots: NonNull<AtomicU64>,
    len: usize,
    /// The memory, as a file a spawned worker can be sent and map too.
    memory: OwnedFd,
}

impl Slots {
    /// `len` counters, all 0.
    pub(crate) fn new(len: usize) -> Result<Slots> {
        let len = len.max(1);
        let memory =
            nix::sys::memfd::memfd_create(c"common-shared", nix::sys::memfd::MFdFlags::MFD_CLOEXEC)
                .map_err(|e| Error::os("memfd_create", e))?;
        let bytes = len * std::mem::size_of::<AtomicU64>();
        nix::unistd::ftruncate(&memory, i64::try_from(bytes).expect("a few slots"))
            .map_err(|e| Error::os("ftruncate", e))?;
        Slots::map(memory, len)
    }

    /// Maps `len` counters from `memory`, made by [`Slots::new`] in this
    /// process or its parent.
    pub(crate) fn map(memory: OwnedFd, len: usize) -> Result<Slots> {
        let len = len.max(1);
        let bytes =
            NonZeroUsize::new(len * std::mem::size_of::<AtomicU64>()).expect("at least one slot");
        // SAFETY: a new shared mapping of a file sized for it; it aliases only
        // the other mappings of the same file, which are accessed atomically
        // too, and zero bytes are valid AtomicU64s.
        let slots = unsafe {
            nix::sys::mman::mmap(
                None,
                bytes,
                ProtFlags::PROT_READ | ProtFlags::PROT_WRITE,
                MapFlags::MAP_SHARED,
                &memory,
                0,
            )
        }
        .map_err(|e| Error::os("mmap", e))?;
        Ok(Slots {
            slots: slots.cast(),
            len,
            memory,
        })
    }

    /// The file behind the counters, to send to a spawned worker.
    pub(crate) fn memory(&self) -> BorrowedFd<'_> {
        self.memory.as_fd()
    }

    /// How many counters there are.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    fn slot(&self, slot: usize) -> &AtomicU64 {
        assert!(slot < self.len, "progress slot {slot} of {}", self.len);
        // SAFETY: in bounds (checked), mapped until `self` is dropped, and
        // only ever accessed atomically, here or in a forked copy.
        unsafe { self.slots.add(slot).as_ref() }
    }

    /// Sets counter `slot`.
    pub(crate) fn set(&self, slot: usize, value: u64) {
        self.slot(slot).store(value, Ordering::Release);
    }

    /// Reads counter `slot`.
    pub(crate) fn get(&self, slot: usize) -> u64 {
        self.slot(slot).load(Ordering::Acquire)
    }

    /// Adds `delta` to counter `slot` (wrapping) in one atomic step;
    /// returns the value before.
    pub(crate) fn add(&self, slot: usize, delta: u64) -> u64 {
        self.slot(slot).fetch_add(delta, Ordering::AcqRel)
    }
}

impl Drop for Slots {
    fn drop(&mut self) {
        let bytes = self.len * std::mem::size_of::<AtomicU64>();
        // SAFETY: unmaps exactly the mapping made in `new`; no reference into
        // it outlives `self`.
        let _ = unsafe { nix::sys::mman::munmap(self.slots.cast(), bytes) };
    }
}

/// Reaps `pid` if it has ended. `block` waits for it to end.
pub(crate) fn reap(pid: Pid, block: bool) -> Result<Option<Ended>> {
    let flags = if block {
        None
    } else {
        Some(WaitPidFlag::WNOHANG)
    };
    loop {
        return match waitpid(pid, flags) {
            Ok(WaitStatus::Exited(_, code)) => Ok(Some(Ended::Exited(code))),
            Ok(WaitStatus::Signaled(_, signal, _)) => Ok(Some(Ended::Signaled(signal))),
            Ok(WaitStatus::StillAlive) => Ok(None),
            // Stopped or continued: it has not ended.
            Ok(_) if !block => Ok(None),
            Ok(_) | Err(Errno::EINTR) => continue,
            Err(errno) => Err(Error::os("waitpid", errno)),
        };
    }
}

/// Whether `fd` is readable now or becomes so within `timeout`: the one
/// wait under every timed wait of this crate (pipes, queues, locks, events,
/// pidfds). `poll` takes at most 65535 ms at a time and may be cut short
/// by a signal, so it is called again until the deadline.
pub(crate) fn readable(fd: BorrowedFd<'_>, timeout: Duration) -> Result<bool, Errno> {
    let deadline = Instant::now() + timeout;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let ms = u16::try_from(left.as_millis()).unwrap_or(u16::MAX);
        let mut fds = [PollFd::new(fd, PollFlags::POLLIN)];
        match poll(&mut fds, PollTimeout::from(ms)) {
            Ok(0) | Err(Errno::EINTR) => {}
            Ok(_) => return Ok(true),
            Err(errno) => return Err(errno),
        }
        if Instant::now() >= deadline {
            return Ok(false);
        }
    }
}

/// Waits up to `timeout` for `pid` to end and reaps it. `None`: still running.
///
/// It sleeps on a pidfd, which becomes readable exactly when the process
/// ends; a kernel older than 5.3 has none, and then it polls.
pub(crate) fn reap_timeout(pid: Pid, timeout: Duration) -> Result<Option<Ended>> {
    let deadline = Instant::now() + timeout;
    let pidfd = pidfd_open(pid);
    loop {
        if let Some(ended) = reap(pid, false)? {
            return Ok(Some(ended));
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Ok(None);
        }
        match &pidfd {
            Some(fd) => {
                readable(fd.as_fd(), left).map_err(|errno| Error::os("poll", errno))?;
            }
            None => std::thread::sleep(left.min(Duration::from_millis(2))),
        }
    }
}

fn pidfd_open(pid: Pid) -> Option<OwnedFd> {
    // SAFETY: pidfd_open takes a pid and a flags word and returns a new fd or
    // -1; it touches no memory of ours.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid.as_raw(), 0) };
    let fd = RawFd::try_from(fd).ok().filter(|&fd| fd >= 0)?;
    // SAFETY: the kernel just returned this fd, so nothing else owns it.
    Some(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Creates a pipe whose ends close on `exec` (they are inherited by `fork`).
pub(crate) fn pipe() -> Result<(OwnedFd, OwnedFd)> {
    nix::unistd::pipe2(OFlag::O_CLOEXEC).map_err(|e| Error::os("pipe", e))
}

/// A `fn(A) -> R` that another process running this binary can call, sent
/// to it as offsets from a fixed point of the binary.
///
/// # Why this is sound
///
/// A function pointer is an address in the code of this binary. A child made
/// by `fork` has the very same mapping, so the address names the same
/// function there; a child made by `spawn` runs the same file (it executes
/// `/proc/self/exe`), mapped at another base address (ASLR) but with the same
/// layout, so the function lies at the same offset from any fixed point of
/// the image. [`ErasedFn`] therefore carries offsets from [`ANCHOR`], and a
/// `layout` value (the distance between two statics in different sections)
/// that [`ErasedFn::call`] compares with its own, refusing to run if the
/// receiver's image is laid out differently, as another binary's would be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct ErasedFn {
    layout: usize,
    shim: usize,
    func: usize,
}

/// The signature every [`ErasedFn`] shim has: the erased function's address
/// and the encoded argument in, the encoded result out.
type Shim = fn(usize, &[u8]) -> Result<Vec<u8>, String>;

/// A fixed point of this binary's image. A static has one address, whereas
/// a function may have several: the compiler can copy a small function into
/// each crate that uses it, and then `f as usize` differs between crates.
static ANCHOR: u8 = 0;

/// A second fixed point, in a writable section, far from [`ANCHOR`]'s.
static LAYOUT_PROBE: AtomicU8 = AtomicU8::new(0);

fn anchor() -> usize {
    std::ptr::addr_of!(ANCHOR) as usize
}

fn layout() -> usize {
    (std::ptr::addr_of!(LAYOUT_PROBE) as usize).wrapping_sub(anchor())
}

/// An address as an offset from the anchor, and back.
fn offset(address: usize) -> usize {
    address.wrapping_sub(anchor())
}

fn address(offset: usize) -> usize {
    anchor().wrapping_add(offset)
}

fn shim<A: DeserializeOwned, R: Serialize>(func: usize, arg: &[u8]) -> Result<Vec<u8>, String> {
    // SAFETY: `func` came from `ErasedFn::new::<A, R>`, which stored a
    // `fn(A) -> R` together with this very instantiation of `shim`, and
    // `ErasedFn::call` checked that this process's image is laid out as the
    // sender's, so the rebased address is that function's.
    let func = unsafe { std::mem::transmute::<usize, fn(A) -> R>(func) };
    let arg: A =
        postcard::from_bytes(arg).map_err(|e| format!("cannot decode the argument: {e}"))?;
    postcard::to_stdvec(&func(arg)).map_err(|e| format!("cannot encode the result: {e}"))
}

fn shim_nullary(func: usize, _: &[u8]) -> Result<Vec<u8>, String> {
    // SAFETY: as in `shim`, for a `fn()` stored by `ErasedFn::nullary`.
    let func = unsafe { std::mem::transmute::<usize, fn()>(func) };
    func();
    Ok(Vec::new())
}

fn shim_pair<A: DeserializeOwned, B: DeserializeOwned, R: Serialize>(
    func: usize,
    args: &[u8],
) -> Result<Vec<u8>, String> {
    // SAFETY: as in `shim`, for a `fn(A, B) -> R` stored by `ErasedFn::pair`.
    let func = unsafe { std::mem::transmute::<usize, fn(A, B) -> R>(func) };
    let (a, b): (A, B) =
        postcard::from_bytes(args).map_err(|e| format!("cannot decode the arguments: {e}"))?;
    postcard::to_stdvec(&func(a, b)).map_err(|e| format!("cannot encode the result: {e}"))
}

impl ErasedFn {
    fn from_addresses(shim: Shim, func: usize) -> ErasedFn {
        ErasedFn {
            layout: layout(),
            shim: offset(shim as usize),
            func: offset(func),
        }
    }

    /// Erases a two-argument `func`, called with a tuple `(A, B)`.
    pub(crate) fn pair<A: DeserializeOwned, B: DeserializeOwned, R: Serialize>(
        func: fn(A, B) -> R,
    ) -> ErasedFn {
        ErasedFn::from_addresses(shim_pair::<A, B, R>, func as usize)
    }

    /// Erases `func`'s type; `A` and `R` are remembered by the shim.
    pub(crate) fn new<A: DeserializeOwned, R: Serialize>(func: fn(A) -> R) -> ErasedFn {
        ErasedFn::from_addresses(shim::<A, R>, func as usize)
    }

    /// Erases a function of no arguments, called with an encoded `()`.
    pub(crate) fn nullary(func: fn()) -> ErasedFn {
        ErasedFn::from_addresses(shim_nullary, func as usize)
    }

    /// Decodes `arg`, calls the function and encodes its result. A panic in
    /// the function unwinds out of this call.
    pub(crate) fn call(self, arg: &[u8]) -> Result<Vec<u8>, String> {
        if self.layout != layout() {
            return Err("the function was sent by a process running another binary".into());
        }
        // SAFETY: `shim` is the offset of a `Shim` stored by `from_addresses`,
        // and the layout check shows that this image is laid out as the
        // sender's, so the rebased address is that shim.
        let shim = unsafe { std::mem::transmute::<usize, Shim>(address(self.shim)) };
        shim(address(self.func), arg)
    }
}

/// Receives `count` file descriptors sent over `socket` in one message
/// (SCM_RIGHTS), as a spawned pool worker receives its pool's progress
/// counters and a spawned process the pipes among its arguments.
pub(crate) fn receive_fds(
    socket: &std::os::unix::net::UnixStream,
    count: usize,
) -> Option<Vec<OwnedFd>> {
    let mut byte = [0u8; 1];
    let mut iov = [std::io::IoSliceMut::new(&mut byte)];
    // Room for the most descriptors one message can carry (SCM_MAX_FD).
    let mut space = nix::cmsg_space!([RawFd; 253]);
    let message = nix::sys::socket::recvmsg::<()>(
        socket.as_raw_fd(),
        &mut iov,
        Some(&mut space),
        nix::sys::socket::MsgFlags::MSG_CMSG_CLOEXEC,
    )
    .ok()?;
    let mut received = Vec::new();
    for cmsg in message.cmsgs().ok()? {
        if let nix::sys::socket::ControlMessageOwned::ScmRights(fds) = cmsg {
            for fd in fds {
                // SAFETY: the kernel just installed this descriptor in this
                // process for us; nothing else owns it.
                received.push(unsafe { OwnedFd::from_raw_fd(fd) });
            }
        }
    }
    (received.len() == count).then_some(received)
}
