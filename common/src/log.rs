//! The lifecycle log, like Python's `multiprocessing.log_to_stderr()`.
//!
//! With the environment variable [`LOG_ENV`] set to anything but `0` or the
//! empty string, every process started, task dispatched and process ended
//! is one line on stderr, prefixed `[common pid]`.

use std::fmt;
use std::sync::OnceLock;

/// The environment variable that turns the lifecycle log on.
pub const LOG_ENV: &str = "COMMON_LOG";

fn enabled() -> bool {
    static ENABLED: OnceLock<bool> = OnceLock::new();
    *ENABLED.get_or_init(|| std::env::var_os(LOG_ENV).is_some_and(|v| !v.is_empty() && v != "0"))
}

/// Logs one event, if the log is on.
pub(crate) fn event(what: fmt::Arguments<'_>) {
    if enabled() {
        eprintln!("[common {}] {what}", std::process::id());
    }
}
