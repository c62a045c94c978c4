//! Who a sandboxed process is, on the host.
//!
//! - **As root**, the sandbox is built with root's reach (any path the
//!   instructor names can be bound into it), and the process drops, just
//!   before it executes anything, to a uid and gid of its own run, with no
//!   supplementary groups: a number from [`FIRST_UID`] on, a range no
//!   account uses (systemd documents 1879048192 and up as unused). Such a
//!   uid owns nothing, so files readable only by root or by the instructor
//!   stay unreadable, even those the sandbox shows (under `/etc`). Each
//!   grader process takes its uids from a block of its own, found by its
//!   pid (which no two live processes share), in turn: runs graded at once,
//!   by one grader or by several, share no uid and so no per-user count
//!   (the process rlimit among them), unless one grader has more than a
//!   block's worth of runs alive at once.
//! - **As an ordinary user**, a user namespace is made first, and every
//!   other layer inside it, as bubblewrap and nsjail do. Without the
//!   set-uid helper `newuidmap`, the kernel lets an ordinary user map only
//!   its own uid and gid into a user namespace, so the run is the
//!   instructor's uid on the host; what keeps the instructor's files from
//!   it is the new root, in which nothing of theirs exists. The instructor's
//!   supplementary groups stay too: the kernel denies `setgroups` in such a
//!   namespace, so that a group cannot be dropped to get past a file that
//!   refuses it.

use std::sync::atomic::{AtomicU32, Ordering};

/// The first uid (and gid) a run gets when the grader is root.
pub const FIRST_UID: u32 = 1_879_048_192;

/// The end of the unused range (systemd keeps 2147352576 and up for
/// foreign ids).
const END_UID: u32 = 2_147_352_576;

/// The kernel's largest pid, plus one (`PID_MAX_LIMIT` on 64-bit).
const PIDS: u32 = 1 << 22;

/// How many uids each grader process takes in turn: as many as the range
/// holds for every possible pid (63).
const BLOCK: u32 = (END_UID - FIRST_UID) / PIDS;

// A block holds more runs than a grader has alive at once (`--jobs` of
// them, and their builds).
const _: () = assert!(BLOCK >= 32);

/// Who the processes of one sandbox are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Identity {
    /// The grader is root: the process drops to this uid and gid, with no
    /// supplementary groups, before it executes anything.
    Dedicated {
        /// Its uid.
        uid: u32,
        /// Its gid.
        gid: u32,
    },
    /// The grader is an ordinary user: a user namespace maps its own uid
    /// and gid, and nothing else.
    Namespaced {
        /// The grader's uid, the run's too.
        uid: u32,
        /// The grader's gid, the run's too.
        gid: u32,
    },
}

impl Identity {
    /// The identity of a new sandbox made by this process: a fresh uid when
    /// it is root, its own in a user namespace otherwise.
    pub fn next() -> Identity {
        let uid = nix::unistd::geteuid().as_raw();
        if uid == 0 {
            static RUNS: AtomicU32 = AtomicU32::new(0);
            let run = RUNS.fetch_add(1, Ordering::Relaxed);
            let id = dedicated(std::process::id(), run);
            Identity::Dedicated { uid: id, gid: id }
        } else {
            Identity::Namespaced {
                uid,
                gid: nix::unistd::getegid().as_raw(),
            }
        }
    }

    /// The host uid the sandboxed processes have.
    pub fn uid(self) -> u32 {
        match self {
            Identity::Dedicated { uid, .. } | Identity::Namespaced { uid, .. } => uid,
        }
    }

    /// The host gid the sandboxed processes have.
    pub fn gid(self) -> u32 {
        match self {
            Identity::Dedicated { gid, .. } | Identity::Namespaced { gid, .. } => gid,
        }
    }

    /// Whether the sandbox starts with a user namespace of its own.
    pub fn namespaced(self) -> bool {
        matches!(self, Identity::Namespaced { .. })
    }

    /// The uid and gid the process drops to before `exec`, when the grader
    /// is root.
    pub fn drop_to(self) -> Option<(u32, u32)> {
        match self {
            Identity::Dedicated { uid, gid } => Some((uid, gid)),
            Identity::Namespaced { .. } => None,
        }
    }

    /// Writes the user namespace's maps of process `pid` (which must not
    /// have used them yet): its uid and gid to themselves. `setgroups` is
    /// denied first, as the kernel requires of an unprivileged writer.
    pub fn write_maps(self, pid: nix::unistd::Pid) -> std::io::Result<()> {
        let Identity::Namespaced { uid, gid } = self else {
            return Ok(());
        };
        let proc = format!("/proc/{pid}");
        std::fs::write(format!("{proc}/setgroups"), "deny")?;
        std::fs::write(format!("{proc}/uid_map"), format!("{uid} {uid} 1\n"))?;
        std::fs::write(format!("{proc}/gid_map"), format!("{gid} {gid} 1\n"))
    }

    /// Says who the run is, for a report.
    pub fn describe(self) -> String {
        match self {
            Identity::Dedicated { uid, .. } => {
                format!("an unprivileged uid of its own: {uid}, which owns nothing, with no groups")
            }
            Identity::Namespaced { uid, .. } => format!(
                "a user namespace of its own, mapping only the grader's uid {uid} (an ordinary \
                 user can map no other; the new root is what keeps the grader's files from it)"
            ),
        }
    }
}

/// The uid of run `run` of the grader whose pid is `pid`: in the pid's
/// block, so that another grader alive at the same time, having another
/// pid, has other uids.
fn dedicated(pid: u32, run: u32) -> u32 {
    FIRST_UID + (pid % PIDS) * BLOCK + run % BLOCK
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn graders_alive_at_once_take_uids_from_blocks_of_their_own() {
        assert_eq!(dedicated(0, 0), FIRST_UID);
        assert!(dedicated(PIDS - 1, BLOCK - 1) < END_UID);
        for pid in [1, 2, 255, 256, 4097, PIDS - 2] {
            // The last uid of a block comes before the next block's first,
            // and a block is used in turn.
            assert!(dedicated(pid, BLOCK - 1) < dedicated(pid + 1, 0), "{pid}");
            assert_eq!(dedicated(pid, BLOCK), dedicated(pid, 0), "{pid}");
            assert_ne!(dedicated(pid, 0), dedicated(pid + 256, 0), "{pid}");
        }
    }

    #[test]
    fn root_gives_each_run_a_uid_of_its_own_in_the_unused_range() {
        if !nix::unistd::geteuid().is_root() {
            let me = Identity::next();
            assert!(me.namespaced());
            assert_eq!(me.uid(), nix::unistd::geteuid().as_raw());
            return;
        }
        let (a, b) = (Identity::next(), Identity::next());
        assert_ne!(a.uid(), b.uid());
        for id in [a, b] {
            assert!((FIRST_UID..END_UID).contains(&id.uid()), "{id:?}");
            assert_eq!(id.uid(), id.gid());
            assert!(!id.namespaced());
        }
    }
}
