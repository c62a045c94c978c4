//! Who wrote the output, by the kernel's account (the tracer's record of
//! every write to stdout), against who should have: the rules the `output`
//! and `concurrency` checks apply to it.

use std::collections::BTreeMap;

use nix::unistd::Pid;

use super::lines::{Line, lines};
use crate::exercises::Run;
use crate::observe::Observation;

/// Each line of the output, by text, with the processes that wrote all of
/// it (by the kernel's account).
type Owners = BTreeMap<String, Vec<Pid>>;

/// The lines of the output with the processes that wrote all of them, and
/// the lines written by several processes, which belong to none; `None`
/// when the run was not traced.
fn writers(seen: &Observation) -> Option<(Owners, Vec<Line>)> {
    let events = seen.traced.as_ref().ok()?;
    let mut writers = Owners::new();
    let mut shared = Vec::new();
    for line in lines(events) {
        match line.owner() {
            Some(pid) => writers.entry(line.text).or_default().push(pid),
            None => shared.push(line),
        }
    }
    Some((writers, shared))
}

/// How a process is named in a message: the main process, a child that
/// checked in, or a process made without `common`.
fn who(pid: Pid, seen: &Observation) -> String {
    if pid == seen.main {
        format!("the main process ({pid})")
    } else if seen.checkins.iter().any(|c| c.pid == pid) {
        format!("child process {pid}")
    } else {
        format!(
            "process {pid}, which never checked in (not made with common::Process or common::Pool)"
        )
    }
}

/// Whether `pid` is a child of the main process that checked in and that
/// the kernel saw the run create.
fn worker(pid: Pid, seen: &Observation) -> bool {
    let created = seen
        .traced
        .as_ref()
        .is_ok_and(|events| events.process(pid).is_some());
    created
        && seen
            .checkins
            .iter()
            .any(|c| c.pid == pid && c.ppid == Some(seen.main))
}

/// The lines each child process must print, one group per process that
/// prints any (a role's process, its lines in order).
fn groups(run: &Run) -> Vec<Vec<&str>> {
    run.child_parts()
        .filter(|(_, lines)| !lines.is_empty())
        .map(|(_, lines)| lines.iter().map(String::as_str).collect())
        .collect()
}

/// Who wrote the lines, against who should have: each child's lines by one
/// child process of the main process that checked in (a different one for
/// each group), the main process's lines by the main process.
pub(super) fn attribution(run: &Run, seen: &Observation) -> Vec<String> {
    let Some((writers, shared)) = writers(seen) else {
        return Vec::new();
    };
    let mut problems: Vec<String> = shared
        .iter()
        .map(|line| {
            let by: Vec<String> = line.writers.iter().map(|&pid| who(pid, seen)).collect();
            format!(
                "`{}` was written by more than one process ({}); a line counts only for the \
                 process that wrote all of it",
                line.text,
                by.join(" and ")
            )
        })
        .collect();
    let mut owners: Vec<(Pid, &str)> = Vec::new();
    for group in groups(run) {
        let mut by: Vec<Pid> = group
            .iter()
            .flat_map(|line| writers.get(*line).into_iter().flatten().copied())
            .collect();
        by.sort();
        by.dedup();
        for &pid in &by {
            if !worker(pid, seen) {
                problems.push(format!(
                    "`{}` was written by {}, not by a child process of the main process",
                    group[0],
                    who(pid, seen)
                ));
            }
        }
        if by.len() > 1 && by.iter().all(|&p| worker(p, seen)) {
            problems.push(format!(
                "`{}` and the lines that go with it were written by {} different processes; \
                 one process prints them",
                group.join("` / `"),
                by.len()
            ));
        }
        if let [pid] = by.as_slice() {
            match owners.iter().find(|(owner, _)| owner == pid) {
                Some((_, other)) if worker(*pid, seen) => problems.push(format!(
                    "`{other}` and `{}` were both written by {}; each must come from a process \
                     of its own",
                    group[0],
                    who(*pid, seen)
                )),
                _ => owners.push((*pid, group[0])),
            }
        }
    }
    for line in run.main.iter().chain(&run.last) {
        for &pid in writers.get(line).into_iter().flatten() {
            if pid != seen.main {
                problems.push(format!(
                    "`{line}` was written by {}, not by the main process",
                    who(pid, seen)
                ));
            }
        }
    }
    problems
}

/// The child processes that wrote the children's lines, by the kernel's
/// account (`None` untraced, or for a run whose children print nothing).
pub(super) fn workers_that_wrote(run: &Run, seen: &Observation) -> Option<Vec<Pid>> {
    let lines: Vec<&String> = run.child_parts().flat_map(|(_, lines)| lines).collect();
    if lines.is_empty() {
        return None;
    }
    let (writers, _) = writers(seen)?;
    let mut pids: Vec<Pid> = lines
        .into_iter()
        .flat_map(|line| writers.get(line).into_iter().flatten().copied())
        .filter(|&pid| worker(pid, seen))
        .collect();
    pids.sort();
    pids.dedup();
    Some(pids)
}

/// How process `pid` is named where the report says what each process was
/// doing: the main process, or a child with its role where that is known
/// (the run's only role, or the role whose line it wrote whole).
pub(super) fn named(run: &Run, seen: &Observation, pid: Pid) -> String {
    if pid == seen.main {
        return "the main process".to_owned();
    }
    match seen.checkins.iter().find(|c| c.pid == pid) {
        None if run.start_method == common::StartMethod::Forkserver => {
            return "never checked in: the fork server, or a process not made with common"
                .to_owned();
        }
        None => return "never checked in: not made with common".to_owned(),
        Some(c) if c.ppid != Some(seen.main) => {
            return "checked in, not a child of the main process".to_owned();
        }
        Some(_) => {}
    }
    let only = match run.roles.as_slice() {
        [role] => Some(role.name),
        _ => None,
    };
    let by_lines = || {
        let (writers, _) = writers(seen)?;
        run.child_parts().find_map(|(role, lines)| {
            lines
                .iter()
                .any(|line| writers.get(line).is_some_and(|by| by.contains(&pid)))
                .then_some(role)
        })
    };
    match only.or_else(by_lines) {
        Some(role) => format!("role {role}"),
        None => "a child that checked in".to_owned(),
    }
}
