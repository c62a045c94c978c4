//! The caps of a run: its memory (the cgroup's cap and the address-space
//! rlimit), how many tasks it may have, and the name of its groups.

/// The memory cap of a run, such as `512M` or `2G` (bytes without a
/// suffix); 1 GiB by default.
pub const MEMORY_ENV: &str = "GRADER_MEMORY";

/// The most tasks (processes and threads) a run may have at once, by the
/// kernel's count. The grader's own bound on processes is stricter
/// ([`PROCESS_LIMIT`](crate::observe::PROCESS_LIMIT)); this one holds
/// even for what escapes the tracer.
pub const TASK_CAP: u64 = 512;

/// The largest file a run may write.
pub const FILE_SIZE_CAP: u64 = 64 << 20;

/// The caps of a run.
pub fn run_caps() -> super::Caps {
    super::Caps {
        memory: memory_cap(),
        tasks: TASK_CAP,
        file_size: FILE_SIZE_CAP,
    }
}

/// The run's memory cap: [`MEMORY_ENV`], or 1 GiB.
pub fn memory_cap() -> u64 {
    std::env::var(MEMORY_ENV)
        .ok()
        .and_then(|v| parse_size(&v))
        .unwrap_or(1 << 30)
}

/// A size in bytes with an optional K, M or G suffix.
pub fn parse_size(text: &str) -> Option<u64> {
    let text = text.trim();
    let (number, shift) = match text.chars().last()?.to_ascii_uppercase() {
        'K' => (&text[..text.len() - 1], 10),
        'M' => (&text[..text.len() - 1], 20),
        'G' => (&text[..text.len() - 1], 30),
        _ => (text, 0),
    };
    number.trim().parse::<u64>().ok()?.checked_mul(1 << shift)
}

/// A name for run number `n`'s control groups, unique on this machine.
pub fn run_name() -> String {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static RUNS: AtomicUsize = AtomicUsize::new(0);
    format!(
        "grader-{}-{}",
        std::process::id(),
        RUNS.fetch_add(1, Ordering::Relaxed)
    )
}

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn sizes_take_a_suffix() {
        assert_eq!(parse_size("512M"), Some(512 << 20));
        assert_eq!(parse_size("2g"), Some(2 << 30));
        assert_eq!(parse_size(" 1024 "), Some(1024));
        assert_eq!(parse_size("lots"), None);
        assert_eq!(parse_size("99999999999G"), None, "overflow");
    }
}
