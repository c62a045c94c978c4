//! The `processes` check: the expected number of child processes checked
//! in (or, for a pool's workers that the pool replaces as they end, more
//! of them but never more alive at once), with distinct pids, each a
//! child of the main process, each one the kernel saw the run create, and
//! none sharing its creator's memory.

use nix::unistd::Pid;

use crate::exercises::{Exercise, Run};
use crate::observe::{CheckIn, Observation};
use crate::report::{Check, CheckKind, Failure};
use crate::trace::Created;

pub(super) fn processes(exercise: &Exercise, run: &Run, seen: &Observation) -> Check {
    const NAME: CheckKind = CheckKind::Processes;
    let main = seen.main;
    // In the order of their names: the order they came in is a race.
    let mut checkins: Vec<&CheckIn> = seen.checkins.iter().collect();
    checkins.sort_by(|a, b| a.label.cmp(&b.label).then(a.pid.cmp(&b.pid)));
    let (mut children, mut problems) = children(main, &checkins);
    problems.extend(sharing_memory(seen, &checkins, &mut children));
    problems.extend(not_created(seen, &checkins));
    if children.len() != run.children() && !replaced(run, seen, &children) {
        problems.insert(0, miscounted(run, seen, children.len()));
    }
    if problems.is_empty() {
        return Check::pass(NAME);
    }
    let got = if checkins.is_empty() {
        "no process checked in".to_owned()
    } else {
        checkins
            .iter()
            .map(|c| {
                let parent = c.ppid.map_or("gone".to_owned(), |p| p.to_string());
                format!("pid {} `{}`, parent {parent}", c.pid, c.label)
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    Check::fail(
        NAME,
        Failure {
            problem: problems.join("; "),
            expected: format!(
                "{} processes created with common (Process or Pool), each a child of the main \
                 process {main}",
                run.children()
            ),
            got,
            hint: format!(
                "create the workers with common::Process or common::Pool, from the main process; {}",
                exercise.hint
            ),
        },
    )
}

/// The distinct children of the main process among the check-ins, and
/// what is wrong with the others (the main process itself, or a process
/// with another parent).
fn children(main: Pid, checkins: &[&CheckIn]) -> (Vec<Pid>, Vec<String>) {
    let mut problems = Vec::new();
    let mut children = Vec::new();
    for &checkin in checkins {
        if checkin.pid == main {
            problems.push(format!(
                "`{}` checked in from the main process itself (pid {main}): that is a thread, \
                 not a child process",
                checkin.label
            ));
        } else if checkin.ppid != Some(main) {
            let parent = checkin.ppid.map_or("gone".to_owned(), |p| p.to_string());
            problems.push(format!(
                "process {} (`{}`) is a child of {parent}, not of the main process {main}",
                checkin.pid, checkin.label
            ));
        } else if !children.contains(&checkin.pid) {
            children.push(checkin.pid);
        }
    }
    (children, problems)
}

/// Children that share their creator's memory, as threads do (made with
/// `CLONE_VM` or `vfork`, and never executing another program), by the
/// kernel's account: taken out of `children`, with why.
fn sharing_memory(
    seen: &Observation,
    checkins: &[&CheckIn],
    children: &mut Vec<Pid>,
) -> Vec<String> {
    let Ok(events) = &seen.traced else {
        return Vec::new();
    };
    let mut problems = Vec::new();
    children.retain(|&pid| {
        let shares = events
            .process(pid)
            .is_some_and(|p| p.shares_memory && !p.exec);
        if shares {
            let label = checkins
                .iter()
                .find(|c| c.pid == pid)
                .map_or("", |c| c.label.as_str());
            problems.push(format!(
                "process {pid} (`{label}`) shares the main process's memory (it was made with \
                 CLONE_VM or vfork and ran no program of its own), as a thread does: that is \
                 not a process of its own"
            ));
        }
        !shares
    });
    problems
}

/// Check-ins naming a pid the kernel never saw this run create (when it
/// was traced).
fn not_created(seen: &Observation, checkins: &[&CheckIn]) -> Vec<String> {
    let Ok(events) = &seen.traced else {
        return Vec::new();
    };
    checkins
        .iter()
        .filter(|c| c.pid != seen.main && events.process(c.pid).is_none())
        .map(|c| {
            format!(
                "pid {} (`{}`) checked in, but the kernel never saw this program create it",
                c.pid, c.label
            )
        })
        .collect()
}

/// Whether `children`, more than the run needs, are a pool's workers
/// that replaced others as they ended: never more than the run needs at
/// work at once, by the kernel's account (see [`most_at_work`]).
fn replaced(run: &Run, seen: &Observation, children: &[Pid]) -> bool {
    let Ok(events) = &seen.traced else {
        return false;
    };
    run.replaceable
        && children.len() > run.children()
        && most_at_work(&events.processes, children) <= run.children()
}

/// The most of `pids` at work at once, by the order in which the kernel
/// reported their creation and their end (`processes`, in creation
/// order). A pool starts a worker's replacement before it reaps the
/// worker, which may still be exiting: at each creation, one process
/// that ended before the next creation is taken for the one replaced,
/// ending, and not counted.
fn most_at_work(processes: &[Created], pids: &[Pid]) -> usize {
    let among: Vec<(usize, &Created)> = processes
        .iter()
        .enumerate()
        .filter(|(_, p)| pids.contains(&p.pid))
        .collect();
    among
        .iter()
        .map(|&(created, _)| {
            let alive: Vec<&Created> = among
                .iter()
                .filter(|&&(before, p)| {
                    before <= created && p.ended_after.is_none_or(|after| after > created)
                })
                .map(|&(_, p)| p)
                .collect();
            let ending = alive
                .iter()
                .any(|p| p.ended_after == Some(created + 1) && p.pid != processes[created].pid);
            alive.len() - usize::from(ending)
        })
        .max()
        .unwrap_or(0)
}

/// How many children there were against how many were expected, with
/// what the kernel saw of the others: processes that never checked in,
/// or threads.
fn miscounted(run: &Run, seen: &Observation, children: usize) -> String {
    let main = seen.main;
    let mut problem = format!(
        "expected {} child processes of the main process, the kernel saw {children}",
        run.children(),
    );
    match &seen.traced {
        Ok(events) => {
            let created = events.children_of(main).count();
            let silent = events
                .children_of(main)
                .filter(|p| !seen.checkins.iter().any(|c| c.pid == p.pid))
                .count();
            if silent > 0 {
                problem.push_str(&format!(
                    " created with common; the main process created {created} child \
                     processes in all, but {silent} of them never checked in (they were not \
                     made with common::Process or common::Pool), so the grader could not hold \
                     them"
                ));
            }
            let threads = events.threads_of(main);
            if children == 0 && threads > 0 {
                problem.push_str(&format!(
                    "; the main process created {threads} threads, and threads are not \
                     processes"
                ));
            }
        }
        Err(_) if children == 0 && seen.most_threads > 1 => {
            problem.push_str(&format!(
                "; the main process ran {} threads, and threads are not processes",
                seen.most_threads
            ));
        }
        Err(_) => {}
    }
    problem
}

#[cfg(test)]
mod tests {
    use super::*;

    fn created(pid: i32, ended_after: Option<usize>) -> Created {
        Created {
            pid: Pid::from_raw(pid),
            parent: Pid::from_raw(1),
            exec: false,
            shares_memory: false,
            exit: None,
            ended_after,
        }
    }

    fn pids(ids: &[i32]) -> Vec<Pid> {
        ids.iter().map(|&p| Pid::from_raw(p)).collect()
    }

    #[test]
    fn a_replacement_is_not_counted_beside_the_worker_it_replaces() {
        // 10 and 11 work together; 12 replaces 10, which ended right after
        // (before any other was created: 3 had been by then), 13 replaces
        // 11 likewise; 12 and 13 never end.
        let replaced = [
            created(10, Some(3)),
            created(11, Some(4)),
            created(12, None),
            created(13, None),
        ];
        assert_eq!(most_at_work(&replaced, &pids(&[10, 11, 12, 13])), 2);
        // 12 is created while 10 and 11 both still work, and neither ends
        // before 13 is: three at work.
        let three = [
            created(10, Some(4)),
            created(11, Some(4)),
            created(12, None),
            created(13, None),
        ];
        assert_eq!(most_at_work(&three, &pids(&[10, 11, 12, 13])), 3);
        // Two ending at one creation: only one is the one replaced.
        let two_ending = [
            created(10, Some(3)),
            created(11, Some(3)),
            created(12, None),
        ];
        assert_eq!(most_at_work(&two_ending, &pids(&[10, 11, 12])), 2);
        assert_eq!(most_at_work(&replaced, &[]), 0);
    }
}
