//! What a fork asks about this process, known without a system call where
//! that is sound: its pid (kept in a word every child finds zeroed, see
//! `wiped`), and whether it has never had a second thread.

use std::sync::atomic::Ordering::Relaxed;

use super::wiped::{self, Wiped};

/// This process's pid: `getpid` once per process, then kept (a child of
/// any fork works its own out again, see `wiped`).
pub(crate) fn pid() -> u32 {
    let Some(cell) = wiped::word(Wiped::Pid) else {
        return std::process::id();
    };
    match cell.load(Relaxed) {
        0 => {
            let pid = std::process::id();
            cell.store(u64::from(pid), Relaxed);
            pid
        }
        // Only ever a pid was stored.
        known => u32::try_from(known).unwrap_or_else(|_| std::process::id()),
    }
}

/// Whether this process has never had a second thread, by glibc's own
/// flag (`__libc_single_threaded`, glibc 2.32): true until the first
/// `pthread_create` (every Rust thread is made by it), and false for ever
/// after, even once that thread has ended. `false` means "maybe": the
/// caller counts the threads then. Elsewhere than glibc, always `false`.
///
/// A thread made by a bare `clone` system call, past glibc, is not seen;
/// such a thread cannot use glibc (nor Rust's std) safely anyway.
pub(crate) fn never_threaded() -> bool {
    #[cfg(target_env = "gnu")]
    {
        unsafe extern "C" {
            static __libc_single_threaded: std::ffi::c_char;
        }
        // SAFETY: glibc's variable, a byte that lives as long as the
        // process, which glibc writes only as a thread is made; it is read
        // here as an atomic byte, so a write by another thread is no race.
        let flag = unsafe {
            std::sync::atomic::AtomicU8::from_ptr(
                (&raw const __libc_single_threaded).cast_mut().cast(),
            )
        };
        flag.load(Relaxed) != 0
    }
    #[cfg(not(target_env = "gnu"))]
    {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pid_kept_is_this_process_s() {
        assert_eq!(pid(), std::process::id());
        assert_eq!(pid(), pid());
    }

    #[test]
    fn a_process_of_libtest_has_had_threads() {
        // libtest runs each test on a thread of its own.
        assert!(!never_threaded());
    }
}
