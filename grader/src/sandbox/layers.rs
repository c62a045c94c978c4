//! Which layers of isolation a run or a build had, as the report names
//! them: what it had, as the kernel granted it, never what was wanted; and
//! which of them a grading requires ([`Policy`]).

use std::sync::atomic::{AtomicU8, Ordering};

use super::identity::Identity;

/// How a cap (memory, tasks) was enforced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cap {
    /// By a control group, on the run as a whole.
    Cgroup,
    /// By rlimits only, because no control group could be had (the
    /// reason).
    Rlimit(String),
}

impl Default for Cap {
    fn default() -> Cap {
        Cap::Rlimit("not tried".to_owned())
    }
}

/// Which layers of isolation a run or a build had.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Layers {
    /// Who it ran as: `None` when it kept the grader's own uid.
    pub user: Option<Identity>,
    /// Its own PID namespace, with our init as pid 1.
    pub pid_namespace: bool,
    /// Its own root: the system read-only, a private `/tmp`, nothing of
    /// the grader's.
    pub filesystem: bool,
    /// Its own network namespace: no network.
    pub network_namespace: bool,
    /// Its own IPC namespace: no System V or POSIX IPC object of another.
    pub ipc_namespace: bool,
    /// Its own cgroup namespace: its control groups seen from their root.
    pub cgroup_namespace: bool,
    /// The seccomp filter.
    pub seccomp: bool,
    /// `ptrace` from the grader: `None` for a build, which is not traced.
    pub traced: Option<bool>,
    /// Its memory cap.
    pub memory: Cap,
    /// Its task cap.
    pub tasks: Cap,
    /// Why it had no namespaces, when it had none: what the kernel
    /// refused, or that `GRADER_SANDBOX=off` said so.
    pub why_not: Option<String>,
}

/// What a grading requires of the sandbox before it grades anything.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Policy {
    /// Grade with whatever the kernel grants, naming what was missing.
    #[default]
    BestEffort,
    /// Refuse without every isolating layer: an unprivileged uid, the
    /// PID, mount, network, IPC and cgroup namespaces with a new root, the
    /// seccomp filter and tracing. The caps may be rlimits.
    Isolated,
    /// Refuse without every layer, the caps by control group included.
    Full,
}

static POLICY: AtomicU8 = AtomicU8::new(0);

impl Policy {
    /// Sets the policy of every sandbox this process makes from now on.
    pub fn set(self) {
        POLICY.store(self as u8, Ordering::Relaxed);
    }

    /// The policy in force.
    pub fn current() -> Policy {
        match POLICY.load(Ordering::Relaxed) {
            1 => Policy::Isolated,
            2 => Policy::Full,
            _ => Policy::BestEffort,
        }
    }
}

impl Layers {
    /// Each layer: whether it was had, what it is called, and whether it
    /// isolates (the caps only bound what a run may use).
    fn each(&self) -> [(bool, &'static str, bool); 10] {
        [
            (self.user.is_some(), "unprivileged uid of its own", true),
            (self.pid_namespace, "PID namespace of its own", true),
            (
                self.filesystem,
                "root of its own (the system read-only, a private /tmp)",
                true,
            ),
            (self.network_namespace, "network namespace of its own", true),
            (self.ipc_namespace, "IPC namespace of its own", true),
            (self.cgroup_namespace, "cgroup namespace of its own", true),
            (self.seccomp, "seccomp filter", true),
            (self.traced != Some(false), "tracing by ptrace", true),
            (
                self.memory == Cap::Cgroup,
                "memory cap on the whole run by cgroup",
                false,
            ),
            (
                self.tasks == Cap::Cgroup,
                "task cap on the whole run by cgroup",
                false,
            ),
        ]
    }

    /// The layers missing, named for the report, with what stood in for
    /// the caps.
    pub fn missing(&self) -> Vec<String> {
        let mut missing: Vec<String> = self
            .each()
            .into_iter()
            .filter(|(had, _, isolates)| !had && *isolates)
            .map(|(_, name, _)| name.to_owned())
            .collect();
        match (&self.memory, &self.tasks) {
            (Cap::Rlimit(memory), Cap::Rlimit(tasks)) if memory == tasks => missing.push(format!(
                "memory or task cap on the whole run by cgroup ({memory}; rlimits capped each \
                 process's address space and the run's tasks instead)"
            )),
            (memory, tasks) => {
                if let Cap::Rlimit(why) = memory {
                    missing.push(format!(
                        "memory cap on the whole run by cgroup ({why}; each process's address \
                         space was capped instead)"
                    ));
                }
                if let Cap::Rlimit(why) = tasks {
                    missing.push(format!(
                        "task cap on the whole run by cgroup ({why}; RLIMIT_NPROC capped its \
                         tasks instead)"
                    ));
                }
            }
        }
        missing
    }

    /// The report's note on a run that missed layers: which, and why.
    /// Tracing is left to a note of its own, which says why the kernel
    /// refused it and what evidence stands in.
    pub fn note(&self) -> Option<String> {
        let missing: Vec<String> = self
            .missing()
            .into_iter()
            .filter(|m| !m.contains("ptrace"))
            .collect();
        if missing.is_empty() {
            return None;
        }
        let mut note = format!(
            "the run was not fully sandboxed: it had no {}",
            missing.join(", no ")
        );
        if let Some(why) = &self.why_not {
            note.push_str(&format!(" ({why})"));
        }
        Some(note)
    }

    /// The layers it had, in plain words.
    pub fn had(&self) -> Vec<String> {
        let mut had: Vec<String> = self
            .each()
            .into_iter()
            .filter(|(had, name, _)| *had && !(self.traced.is_none() && name.contains("ptrace")))
            .map(|(_, name, _)| name.to_owned())
            .collect();
        if let (Some(user), Some(first)) = (self.user, had.first_mut()) {
            *first = user.describe();
        }
        had
    }

    /// The missing layers `policy` requires, to refuse to grade without.
    pub fn refused_by(&self, policy: Policy) -> Vec<String> {
        match policy {
            Policy::BestEffort => Vec::new(),
            Policy::Isolated => self
                .each()
                .into_iter()
                .filter(|(had, _, isolates)| !had && *isolates)
                .map(|(_, name, _)| name.to_owned())
                .collect(),
            Policy::Full => self.missing(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn complete() -> Layers {
        Layers {
            user: Some(Identity::Dedicated { uid: 7, gid: 7 }),
            pid_namespace: true,
            filesystem: true,
            network_namespace: true,
            ipc_namespace: true,
            cgroup_namespace: true,
            seccomp: true,
            traced: Some(true),
            memory: Cap::Cgroup,
            tasks: Cap::Cgroup,
            why_not: None,
        }
    }

    #[test]
    fn a_complete_sandbox_misses_nothing() {
        let layers = complete();
        assert!(layers.missing().is_empty());
        assert_eq!(layers.had().len(), 10);
        for policy in [Policy::BestEffort, Policy::Isolated, Policy::Full] {
            assert!(layers.refused_by(policy).is_empty());
        }
    }

    #[test]
    fn rlimit_caps_are_named_with_their_reason_and_refused_only_in_full() {
        let layers = Layers {
            memory: Cap::Rlimit("v1 is root's".to_owned()),
            ..complete()
        };
        let missing = layers.missing();
        assert_eq!(missing.len(), 1);
        assert!(missing[0].contains("v1 is root's"), "{missing:?}");
        assert!(layers.refused_by(Policy::Isolated).is_empty());
        assert_eq!(layers.refused_by(Policy::Full), missing);
    }

    #[test]
    fn no_namespaces_is_refused_when_isolation_is_required() {
        let layers = Layers {
            user: None,
            pid_namespace: false,
            filesystem: false,
            ..complete()
        };
        let refused = layers.refused_by(Policy::Isolated);
        assert_eq!(refused.len(), 3, "{refused:?}");
        assert!(layers.refused_by(Policy::BestEffort).is_empty());
    }
}
