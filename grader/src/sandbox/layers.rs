//! Which layers of isolation a run had, as the report names them.

/// Which layers of isolation a run had.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Layers {
    /// Its own PID namespace, with our init as pid 1.
    pub pid_namespace: bool,
    /// Its own network namespace: no network.
    pub network_namespace: bool,
    /// Its own root: read-only system, private `/tmp`, nothing else.
    pub filesystem: bool,
    /// A memory cap enforced by a control group.
    pub memory_cgroup: bool,
    /// A process cap enforced by a control group.
    pub pids_cgroup: bool,
}

impl Layers {
    /// The layers missing, named for the report.
    pub fn missing(&self) -> Vec<&'static str> {
        [
            (self.pid_namespace, "its own PID namespace"),
            (self.network_namespace, "its own network namespace"),
            (self.filesystem, "its own read-only file system"),
            (self.memory_cgroup, "a memory cap by cgroup"),
            (self.pids_cgroup, "a process cap by cgroup"),
        ]
        .into_iter()
        .filter(|(had, _)| !had)
        .map(|(_, name)| name)
        .collect()
    }
}
