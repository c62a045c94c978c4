//! Words that every child of a fork finds zeroed: what this process knows
//! about itself (its pid, its identity as a lock's holder) is kept there,
//! and worked out again, once, in each child.
//!
//! They lie in a page of their own marked `MADV_WIPEONFORK` (Linux 4.14):
//! the kernel hands every child made by `fork` or `clone` (without shared
//! memory) that page zeroed, whatever made it (this crate's fork, its fork
//! server's `clone`, or a user's own `fork`). A spawned child is a new
//! program and starts empty anyway. Where the kernel refuses the advice
//! there is no such word, and the callers ask the kernel each time.

use std::sync::OnceLock;
use std::sync::atomic::AtomicU64;

/// Which word of the page.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Wiped {
    /// This process as a lock's holder (see `holder`).
    Holder = 0,
    /// This process's pid (see `this_process`).
    Pid = 1,
}

/// The word `which`, zeroed in every child; `None` where the kernel cannot
/// do that.
pub(crate) fn word(which: Wiped) -> Option<&'static AtomicU64> {
    static PAGE: OnceLock<Option<usize>> = OnceLock::new();
    let at = (*PAGE.get_or_init(wiped_on_fork))? + which as usize * size_of::<u64>();
    // SAFETY: `at` lies in a page mapped by `wiped_on_fork` for the life of
    // the process (never unmapped), aligned for a u64 (the page is, and
    // the offset is a multiple of 8), and only ever accessed as this
    // atomic.
    Some(unsafe { AtomicU64::from_ptr(at as *mut u64) })
}

/// A fresh page that every child gets zeroed, or `None`.
fn wiped_on_fork() -> Option<usize> {
    let page = 4096;
    // SAFETY: a new private anonymous mapping, aliasing nothing.
    let at = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            page,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    if at == libc::MAP_FAILED {
        return None;
    }
    // SAFETY: advice on the page just mapped, which nothing else uses.
    if unsafe { libc::madvise(at, page, libc::MADV_WIPEONFORK) } != 0 {
        // SAFETY: unmaps the page just mapped, which nothing refers to.
        unsafe { libc::munmap(at, page) };
        return None;
    }
    Some(at as usize)
}
