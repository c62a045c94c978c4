//! Tests that need a privilege an ordinary user may lack: root's, to make
//! groups in the cgroup v2 hierarchy. Where it is had, each runs; where not, it is counted as ignored and a line on
//! stderr says what it needs: never passed without running. A harness of
//! its own (libtest-mimic), since libtest cannot decide at run time that a
//! test is skipped.
//!
//! What they show is the kernel's rule the grader lives by under cgroup
//! v2, no internal processes: a group holding processes is refused
//! (`EBUSY`) a controller for its children, so the grader moves its own
//! processes into a leaf first (`grader::cgroup::delegate`). On a machine
//! whose v2 hierarchy has the memory and pids controllers (most current
//! distributions, GitHub's runners) they use those; on a hybrid one whose
//! v2 hierarchy has only what v1 left it (here, hugetlb) they use that,
//! which the same rule governs.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode};

use libtest_mimic::{Arguments, Failed, Trial};

use grader::cgroup::delegate::{delegate, sweep};

/// A writable cgroup v2 group to test in, and a controller it can give its
/// children.
#[derive(Clone)]
struct V2 {
    base: PathBuf,
    controller: String,
    /// Whether the test enabled the controller in `base` (undone at exit).
    enabled_here: bool,
}

impl V2 {
    /// The hierarchy to test in, or why there is none here.
    fn find() -> Result<V2, String> {
        let mountinfo = fs::read_to_string("/proc/self/mountinfo").map_err(|e| e.to_string())?;
        let mount = mountinfo
            .lines()
            .find(|l| l.contains(" - cgroup2 "))
            .and_then(|l| l.split(' ').nth(4))
            .ok_or("no cgroup v2 hierarchy is mounted here")?;
        if !nix::unistd::geteuid().is_root() {
            return Err("needs root, to make groups in the cgroup v2 hierarchy".to_owned());
        }
        let base = PathBuf::from(mount);
        let offered = fs::read_to_string(base.join("cgroup.controllers")).unwrap_or_default();
        let controller = ["memory", "pids", "hugetlb"]
            .into_iter()
            .find(|c| offered.split_whitespace().any(|o| o == *c))
            .or_else(|| offered.split_whitespace().next())
            .ok_or("the cgroup v2 hierarchy here has no controller at all")?
            .to_owned();
        let control = base.join("cgroup.subtree_control");
        let on = fs::read_to_string(&control).unwrap_or_default();
        let enabled_here = !on.split_whitespace().any(|c| c == controller);
        if enabled_here {
            fs::write(&control, format!("+{controller}"))
                .map_err(|e| format!("cannot enable {controller} at the root: {e}"))?;
        }
        Ok(V2 {
            base,
            controller,
            enabled_here,
        })
    }
}

/// A group made for one test, with the processes put in it; all killed
/// and removed when dropped.
struct Scratch {
    dir: PathBuf,
    children: Vec<Child>,
}

impl Scratch {
    fn new(v2: &V2, name: &str) -> Scratch {
        let dir = v2
            .base
            .join(format!("grader-test-{}-{name}", std::process::id()));
        fs::create_dir(&dir).expect("make a group");
        Scratch {
            dir,
            children: Vec::new(),
        }
    }

    /// A process put into group `dir`; its pid.
    fn process_in(&mut self, dir: &Path) -> u32 {
        let child = Command::new("sleep").arg("600").spawn().expect("sleep");
        let pid = child.id();
        self.children.push(child);
        fs::write(dir.join("cgroup.procs"), pid.to_string()).expect("join the group");
        pid
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
        // Leaves first.
        let mut dirs: Vec<PathBuf> = fs::read_dir(&self.dir)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.is_dir())
            .collect();
        dirs.push(self.dir.clone());
        for dir in dirs {
            let _ = fs::remove_dir(dir);
        }
    }
}

/// The pids in group `dir`.
fn procs(dir: &Path) -> Vec<u32> {
    fs::read_to_string(dir.join("cgroup.procs"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.parse().ok())
        .collect()
}

/// Whether `controller` is listed in `dir`'s file `file`.
fn lists(dir: &Path, file: &str, controller: &str) -> bool {
    fs::read_to_string(dir.join(file))
        .unwrap_or_default()
        .split_whitespace()
        .any(|c| c == controller)
}

fn check(ok: bool, what: impl Into<String>) -> Result<(), Failed> {
    if ok { Ok(()) } else { Err(what.into().into()) }
}

/// A group holding the grader's process is readied by moving it into a
/// leaf: the kernel refuses the controller first, then grants it; a run's
/// group made beside the leaf gets the controller and takes a process.
fn a_group_holding_the_grader_is_readied_through_a_leaf(v2: &V2) -> Result<(), Failed> {
    let c = v2.controller.as_str();
    let mut scratch = Scratch::new(v2, "leaf");
    let group = scratch.dir.clone();
    let grader = scratch.process_in(&group);
    let refused = fs::write(group.join("cgroup.subtree_control"), format!("+{c}"));
    check(
        refused
            .as_ref()
            .err()
            .and_then(std::io::Error::raw_os_error)
            == Some(libc::EBUSY),
        format!("the kernel lets a group with a process give {c}: {refused:?}"),
    )?;
    let parent = delegate(&group, &[c], grader)?;
    check(parent == group, "runs are made in the group itself")?;
    let leaf = group.join(format!("grader.{grader}"));
    check(procs(&group).is_empty(), "the group holds no process now")?;
    check(procs(&leaf) == [grader], "the grader is in its leaf")?;
    check(lists(&group, "cgroup.subtree_control", c), "enabled")?;
    let run = group.join("grader-run-0");
    fs::create_dir(&run)?;
    check(
        lists(&run, "cgroup.controllers", c),
        format!("a run's group has {c}"),
    )?;
    let program = scratch.process_in(&run);
    check(procs(&run) == [program], "a run's process is in its group")?;
    // Already readied: nothing moves again.
    check(delegate(&group, &[c], grader)? == group, "readied once")
}

/// A group holding a process that is not the grader's cannot be readied:
/// the grader moves its own, and the reason names the rule.
fn a_group_holding_another_process_is_refused_with_the_reason(v2: &V2) -> Result<(), Failed> {
    let c = v2.controller.as_str();
    let mut scratch = Scratch::new(v2, "shared");
    let group = scratch.dir.clone();
    let grader = scratch.process_in(&group);
    let shell = scratch.process_in(&group);
    let refused = delegate(&group, &[c], grader).expect_err("another process is there");
    check(
        refused.contains("holds processes other than the grader's"),
        refused.clone(),
    )?;
    check(
        procs(&group) == [shell],
        "the other process stays where it was",
    )?;
    check(
        !lists(&group, "cgroup.subtree_control", c),
        "nothing enabled",
    )
}

/// What a grader no longer running left is swept; what a running one has
/// is kept.
fn leaves_of_graders_gone_are_swept(v2: &V2) -> Result<(), Failed> {
    let scratch = Scratch::new(v2, "sweep");
    let gone = scratch.dir.join("grader.999999999");
    let alive = scratch.dir.join(format!("grader.{}", std::process::id()));
    let run = scratch.dir.join("grader-999999999-3");
    for dir in [&gone, &alive, &run] {
        fs::create_dir(dir)?;
    }
    sweep(&scratch.dir);
    check(
        !gone.exists() && !run.exists(),
        "a gone grader's groups removed",
    )?;
    check(alive.exists(), "a running grader's leaf kept")
}

fn main() -> ExitCode {
    let args = Arguments::from_args();
    let v2 = V2::find();
    type Test = fn(&V2) -> Result<(), Failed>;
    let tests: [(&str, Test); 3] = [
        (
            "cgroup_v2::a_group_holding_the_grader_is_readied_through_a_leaf",
            a_group_holding_the_grader_is_readied_through_a_leaf,
        ),
        (
            "cgroup_v2::a_group_holding_another_process_is_refused_with_the_reason",
            a_group_holding_another_process_is_refused_with_the_reason,
        ),
        (
            "cgroup_v2::leaves_of_graders_gone_are_swept",
            leaves_of_graders_gone_are_swept,
        ),
    ];
    let trials = tests
        .into_iter()
        .map(|(name, test)| match &v2 {
            Ok(v2) => {
                let v2 = v2.clone();
                Trial::test(name, move || test(&v2))
            }
            Err(why) => {
                eprintln!("skipped {name}: {why}");
                Trial::test(name, || Ok(())).with_ignored_flag(true)
            }
        })
        .collect();
    let conclusion = libtest_mimic::run(&args, trials);
    if let Ok(v2) = &v2
        && v2.enabled_here
    {
        let _ = fs::write(
            v2.base.join("cgroup.subtree_control"),
            format!("-{}", v2.controller),
        );
    }
    conclusion.exit_code()
}
