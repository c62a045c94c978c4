//! A grading in progress, and how it is stopped: every process it started,
//! at any depth, killed, and what it left in the scratch directory removed.

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc::Sender;
use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::{Pid, getpid};

use super::Wake;
use crate::error::Error;
use crate::procfs;

/// A grading in progress: a run of `grader watch --once` in a process
/// group of its own (so that Ctrl-C reaches only the loop), whose output a
/// thread hands to the loop.
pub(super) struct Grading {
    running: bool,
}

impl Grading {
    pub(super) fn start(
        grader: &Path,
        workspace: &Path,
        only: &[String],
        focus: Option<&str>,
        generation: u64,
        scratch: &Path,
        wake: &Sender<Wake>,
    ) -> Result<Grading, Error> {
        let mut command = Command::new(grader);
        command
            .env("TMPDIR", scratch)
            .arg("watch")
            .arg("--once")
            .arg("--workspace")
            .arg(workspace);
        for id in only {
            command.arg("--exercise").arg(id);
        }
        if let Some(focus) = focus {
            command.arg("--focus").arg(focus);
        }
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .spawn()
            .map_err(|e| Error::io(format!("run {}", grader.display()), e))?;
        let mut stdout = child.stdout.take().expect("piped");
        let mut stderr = child.stderr.take().expect("piped");
        let wake = wake.clone();
        std::thread::spawn(move || {
            let errors = std::thread::spawn(move || {
                let mut text = String::new();
                let _ = stderr.read_to_string(&mut text);
                text
            });
            let mut text = String::new();
            let _ = stdout.read_to_string(&mut text);
            text.push_str(&errors.join().unwrap_or_default());
            // Stopped gradings are reaped by `stop`; this one may be too.
            let _ = child.wait();
            let _ = wake.send(Wake::Graded(generation, text));
        });
        Ok(Grading { running: true })
    }

    pub(super) fn finished(&mut self) {
        self.running = false;
    }

    /// Stops the grading, if it is still going: kills every process this
    /// one started, at any depth, and reaps those that came to it.
    pub(super) fn stop(&mut self) {
        if std::mem::replace(&mut self.running, false) {
            stop_everything_started();
        }
    }
}

/// Removes what a stopped grading left in `scratch`.
pub(super) fn clear(scratch: &Path) {
    for entry in std::fs::read_dir(scratch).into_iter().flatten().flatten() {
        let path = entry.path();
        let _ = if path.is_dir() {
            std::fs::remove_dir_all(&path)
        } else {
            std::fs::remove_file(&path)
        };
    }
}

/// Kills every process under this one (it is their subreaper, so the
/// orphans of a killed grading are under it too), until none is left, or
/// two seconds have passed.
fn stop_everything_started() {
    let me = getpid();
    let deadline = std::time::Instant::now() + Duration::from_secs(2);
    loop {
        let tree = descendants(me);
        if tree.is_empty() || std::time::Instant::now() >= deadline {
            return;
        }
        for (pid, stat) in &tree {
            if !stat.is_zombie() {
                let _ = kill(*pid, Signal::SIGKILL);
            } else if stat.ppid == me {
                let _ = nix::sys::wait::waitpid(*pid, Some(nix::sys::wait::WaitPidFlag::WNOHANG));
            }
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// Every process below `root`, parents before their children.
fn descendants(root: Pid) -> Vec<(Pid, procfs::Stat)> {
    let all = procfs::processes();
    let mut found: Vec<(Pid, procfs::Stat)> = Vec::new();
    let mut parents = vec![root];
    while let Some(parent) = parents.pop() {
        for (pid, stat) in all.iter().filter(|(_, s)| s.ppid == parent) {
            found.push((*pid, *stat));
            parents.push(*pid);
        }
    }
    found
}
