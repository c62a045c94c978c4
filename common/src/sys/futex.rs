//! Futexes in shared memory: sleeping until a word another process changes
//! is changed, with a timeout. Not private (`FUTEX_PRIVATE_FLAG` unset), so
//! that processes mapping the same memory wake each other.

use std::sync::atomic::AtomicU32;
use std::time::Duration;

/// Sleeps while `word` holds `expected`, at most `timeout`. Returns `false`
/// only when the timeout passed; `true` when woken, when the word had
/// already changed, or when a signal cut the sleep short (the caller looks
/// again in every case).
pub(crate) fn wait(word: &AtomicU32, expected: u32, timeout: Duration) -> bool {
    // A day at a time: callers look again after every wait, and a sleep
    // of centuries (`Duration::MAX`) is no business of the kernel's.
    let timeout = timeout.min(Duration::from_secs(24 * 3600));
    let timeout = libc::timespec {
        tv_sec: libc::time_t::try_from(timeout.as_secs()).unwrap_or(libc::time_t::MAX),
        tv_nsec: libc::c_long::from(timeout.subsec_nanos().cast_signed()),
    };
    // SAFETY: FUTEX_WAIT reads the aligned u32 behind `word`, which is live
    // for the call, and the timespec, a live local; it writes nothing.
    let done = unsafe {
        libc::syscall(
            libc::SYS_futex,
            word.as_ptr(),
            libc::FUTEX_WAIT,
            expected,
            &raw const timeout,
        )
    };
    done == 0 || std::io::Error::last_os_error().raw_os_error() != Some(libc::ETIMEDOUT)
}

/// Wakes every process and thread sleeping on `word`.
pub(crate) fn wake_all(word: &AtomicU32) {
    wake(word, i32::MAX);
}

/// Wakes at most `count` sleepers on `word`.
pub(crate) fn wake(word: &AtomicU32, count: i32) {
    // SAFETY: FUTEX_WAKE only uses the address of `word` as a key.
    unsafe {
        libc::syscall(libc::SYS_futex, word.as_ptr(), libc::FUTEX_WAKE, count);
    }
}
