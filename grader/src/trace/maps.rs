//! Which of `common`'s shared memory files a process maps, by
//! `/proc/PID/maps`: the queue rings and the values the tracer follows.

use common::layout::Memory;
use nix::unistd::Pid;

/// The files of kind `kind` that process `pid` maps whole (from offset 0),
/// each once, by inode (the order they were made in): each file's inode
/// and where its first byte is in the process's memory (its first mapping).
pub(super) fn mapped(pid: Pid, kind: Memory) -> Vec<(u64, u64)> {
    let mut files = mappings(pid, kind);
    files.dedup_by_key(|(inode, _)| *inode);
    files
}

/// Every mapping from offset 0 of the files of kind `kind` in process
/// `pid`, by inode then address: a file mapped twice is listed twice.
pub(super) fn mappings(pid: Pid, kind: Memory) -> Vec<(u64, u64)> {
    let maps = std::fs::read_to_string(format!("/proc/{pid}/maps")).unwrap_or_default();
    let mut files: Vec<(u64, u64)> = maps
        .lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let range = fields.next()?;
            let _perms = fields.next()?;
            let offset = fields.next()?;
            let _device = fields.next()?;
            let inode: u64 = fields.next()?.parse().ok()?;
            let path = fields.collect::<Vec<_>>().join(" ");
            let whole = u64::from_str_radix(offset, 16).ok()? == 0;
            (Memory::of_mapping(&path)? == kind && whole).then_some(())?;
            let start = u64::from_str_radix(range.split_once('-')?.0, 16).ok()?;
            Some((inode, start))
        })
        .collect();
    files.sort();
    files
}
