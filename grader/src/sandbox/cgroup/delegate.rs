//! Making a cgroup v2 group able to cap its children, within the rule of
//! no internal processes.
//!
//! Under cgroup v2 a group gives a controller (memory, pids) to its
//! children only through its `cgroup.subtree_control`, and the kernel
//! refuses that (`EBUSY`) while the group itself holds processes: a group
//! other than the root has processes or capped children, never both. The
//! grader starts in a group of its own (a delegated one, as
//! `systemd-run --user --scope -p Delegate=yes` makes, or root's), which
//! holds the grader. So, as nsjail and container runtimes do:
//!
//! ```text
//! GROUP                 controllers enabled for its children, no process
//! ├── grader.PID        the grader's own processes (a leaf)
//! ├── grader-PID-0      a run: memory.max, pids.max
//! └── grader-PID-1      another run
//! ```
//!
//! The grader moves itself into a leaf of its own, enables the controllers
//! in `GROUP`, and makes each run's group beside its leaf. When `GROUP`
//! holds other processes too (a shell the grader was started from, in an
//! undelegated session), moving them is not the grader's to do: the caps
//! are missing, and the report says why.

use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

/// Readies `group` to give `controllers` to child groups, moving the
/// processes of `own` (this one's, or in a test another's) into a leaf of
/// their own, `group/grader.PID`, if the group holds processes. Returns
/// the group to make runs' groups in, or why it cannot be done.
pub fn delegate(group: &Path, controllers: &[&str], own: u32) -> Result<PathBuf, String> {
    let control = group.join("cgroup.subtree_control");
    let enabled = |c: &&str| {
        fs::read_to_string(&control).is_ok_and(|on| on.split_whitespace().any(|x| x == *c))
    };
    if controllers.iter().all(enabled) {
        return Ok(group.to_path_buf());
    }
    let wanted = controllers
        .iter()
        .map(|c| format!("+{c}"))
        .collect::<Vec<_>>()
        .join(" ");
    match fs::write(&control, &wanted) {
        Ok(()) => return Ok(group.to_path_buf()),
        Err(e) if e.raw_os_error() == Some(libc::EBUSY) => {}
        Err(e) => {
            return Err(format!(
                "cannot enable {wanted} in {}: {e}",
                control.display()
            ));
        }
    }
    // It holds processes: ours move to a leaf, then the controllers are
    // enabled again.
    let leaf = group.join(format!("grader.{own}"));
    match fs::create_dir(&leaf) {
        Ok(()) => {}
        Err(e) if e.kind() == ErrorKind::AlreadyExists => {}
        Err(e) => return Err(format!("cannot make {}: {e}", leaf.display())),
    }
    fs::write(leaf.join("cgroup.procs"), own.to_string())
        .map_err(|e| format!("cannot move process {own} into {}: {e}", leaf.display()))?;
    fs::write(&control, &wanted).map_err(|e| {
        if e.raw_os_error() == Some(libc::EBUSY) {
            format!(
                "{} holds processes other than the grader's, and a cgroup v2 group cannot \
                 have both processes and capped children (start the grader in a group of its \
                 own, e.g. systemd-run --user --scope -p Delegate=yes)",
                group.display()
            )
        } else {
            format!("cannot enable {wanted} in {}: {e}", control.display())
        }
    })?;
    Ok(group.to_path_buf())
}

/// Removes what graders no longer running left in `group`: their leaves
/// `grader.PID` and their runs' groups `grader-PID-N` (the kernel removes
/// only empty groups, so nothing in use goes).
pub fn sweep(group: &Path) {
    let Ok(entries) = fs::read_dir(group) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(grader_pid) else {
            continue;
        };
        if !Path::new(&format!("/proc/{pid}")).exists() {
            let _ = fs::remove_dir(entry.path());
        }
    }
}

/// The grader's pid in the name of one of its groups.
fn grader_pid(name: &str) -> Option<u32> {
    let rest = name.strip_prefix("grader")?;
    let pid = match rest.strip_prefix('.') {
        Some(pid) => pid,
        None => rest.strip_prefix('-')?.split('-').next()?,
    };
    pid.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::grader_pid;

    #[test]
    fn groups_are_known_by_their_grader() {
        assert_eq!(grader_pid("grader.41"), Some(41));
        assert_eq!(grader_pid("grader-41-7"), Some(41));
        assert_eq!(grader_pid("grader-41-7-build"), Some(41));
        assert_eq!(grader_pid("other-41"), None);
        assert_eq!(grader_pid("grader.x"), None);
    }
}
