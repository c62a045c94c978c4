//! The student loop: `grader watch` grades the workspace, then again each
//! time a source file's contents change, like rustlings' watch mode.
//!
//! # What wakes it
//!
//! The exercises' directories and `common/` are watched (with `notify`,
//! inotify on Linux), not the workspace: `target/` and everything else
//! never wake it. Of what the kernel reports, only a file made, removed,
//! renamed or written counts (not a file opened or read, as the build
//! itself does, nor its metadata touched), and only for a source file (a
//! `.rs` or a `Cargo.toml`, not an editor's hidden swap file). Changes that
//! come within [`SETTLE`] of each other are taken together; then the
//! sources' contents are compared with those last graded, and nothing
//! happens unless they differ (a file saved as it was). Idle, the loop
//! blocks in the kernel and uses no CPU.
//!
//! # How it grades
//!
//! Each grading is a process of its own (this grader, `watch --once`), so
//! that it can be stopped at once: this process is the subreaper of all it
//! starts, and stopping a grading kills every process under it (cargo,
//! the compiler, a run's sandbox and program), orphans included. A change
//! during a grading stops it and grades again; `q` (no Enter needed: the
//! terminal is put in non-canonical mode), Ctrl-D or Ctrl-C stops it and
//! ends the loop, putting the terminal back.
//!
//! # What it shows
//!
//! How many exercises pass, a word for each, then one exercise: the one
//! just saved if it does not pass, else the first that fails, else the
//! first not started, with what was expected, what the program did and a
//! hint (or which `todo!` it reached).

use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::time::Duration;

use nix::sys::signal::Signal;

use crate::error::Error;
use crate::exercises;
use crate::grade::grade;
use crate::report::{ExerciseReport, Report};
use common::StartMethod;

mod changes;
mod grading;

use changes::{exercise_of, fingerprint, watch, watched};
use grading::{Grading, clear};

/// How long changes may keep coming and still be graded together.
pub const SETTLE: Duration = Duration::from_millis(300);

/// What the loop waits for.
enum Wake {
    /// Source files changed (or were made, removed, renamed).
    Changed(Vec<PathBuf>),
    /// A grading ended: which one, and what it printed.
    Graded(u64, String),
    /// `q`, Ctrl-D, Ctrl-C, or the end of standard input.
    Quit,
}

/// Watches the workspace at `workspace` and grades the exercises in
/// `only` (all when empty) until the user quits, each grading a run of
/// `grader` (this grader's executable) `watch --once`. One function of
/// about 85 lines on purpose: it is the loop the module's docs describe,
/// set-up, wake-ups and stop, readable top to bottom against them.
pub fn run(workspace: &Path, only: &[String], grader: &Path) -> Result<(), Error> {
    let workspace = std::path::absolute(workspace)
        .map_err(|e| Error::io(format!("find {}", workspace.display()), e))?;
    if !workspace.join("Cargo.toml").is_file() {
        return Err(Error::NotAWorkspace(workspace.display().to_string()));
    }
    let chosen = exercises::chosen(only)?;
    // Whatever a grading starts, orphans included, comes to this process,
    // so that stopping a grading finds it all.
    nix::sys::prctl::set_child_subreaper(true)
        .map_err(|e| Error::os("become the subreaper of the gradings", e))?;
    let (wake, woken) = mpsc::channel();
    let dirs = watched(&workspace, &chosen);
    let _watcher = watch(&workspace, &dirs, wake.clone())?;
    let _terminal = Terminal::keys_without_enter();
    read_keys(wake.clone());
    let signals = quit_on_signals(wake.clone())?;
    let mut graded = fingerprint(&workspace, &dirs);
    // Gradings keep their temporary files here: one that is killed cannot
    // remove its own, so they go when it is stopped, or with the loop.
    let scratch = tempfile::tempdir()
        .map_err(|e| Error::io("create a temporary directory for the gradings", e))?;
    let start = |focus, generation| {
        Grading::start(
            grader,
            &workspace,
            only,
            focus,
            generation,
            scratch.path(),
            &wake,
        )
    };
    let mut grading = start(None, 1)?;
    let mut focus: Option<&'static str> = None;
    let mut generation = 1;
    loop {
        let changed = match woken.recv() {
            Ok(Wake::Quit) | Err(_) => break,
            Ok(Wake::Graded(done, text)) => {
                if done == generation {
                    show(&text);
                    grading.finished();
                }
                continue;
            }
            Ok(Wake::Changed(paths)) => paths,
        };
        let Some(changed) = settle(&woken, changed, &mut |done, text| {
            if done == generation {
                show(&text);
                grading.finished();
            }
        }) else {
            break;
        };
        let now = fingerprint(&workspace, &dirs);
        if now == graded {
            continue;
        }
        graded = now;
        focus = changed
            .iter()
            .rev()
            .find_map(|path| exercise_of(&workspace, &chosen, path))
            .or(focus);
        grading.stop();
        clear(scratch.path());
        generation += 1;
        let saved: Vec<String> = changed
            .iter()
            .filter_map(|p| p.strip_prefix(&workspace).ok())
            .map(|p| p.display().to_string())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        println!("\n{} changed: grading...", saved.join(", "));
        grading = start(focus, generation)?;
    }
    grading.stop();
    signals.close();
    println!("watch: stopped");
    Ok(())
}

/// Grades once and prints what the loop shows: `watch --once`. `focus`
/// names the exercise just saved.
pub fn once(workspace: &Path, only: &[String], focus: Option<&str>) -> Result<(), Error> {
    // A grading the loop started ends with the loop, however it ends.
    let _ = nix::sys::prctl::set_pdeathsig(Signal::SIGKILL);
    if !workspace.join("Cargo.toml").is_file() {
        return Err(Error::NotAWorkspace(workspace.display().to_string()));
    }
    let report = grade(workspace, only, &[StartMethod::Fork])?;
    print!("{}", screen(&report, focus));
    Ok(())
}

/// Takes the changes that follow `first` within [`SETTLE`] of each other
/// together; `None` when the user quit meanwhile. Gradings that end
/// meanwhile go to `graded`.
fn settle(
    woken: &Receiver<Wake>,
    first: Vec<PathBuf>,
    graded: &mut dyn FnMut(u64, String),
) -> Option<Vec<PathBuf>> {
    let mut changed = first;
    loop {
        match woken.recv_timeout(SETTLE) {
            Ok(Wake::Changed(more)) => changed.extend(more),
            Ok(Wake::Graded(done, text)) => graded(done, text),
            Ok(Wake::Quit) | Err(RecvTimeoutError::Disconnected) => return None,
            Err(RecvTimeoutError::Timeout) => return Some(changed),
        }
    }
}

/// Prints a grading's screen.
fn show(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = write!(out, "\n{text}");
    let _ = out.flush();
}

/// What the loop shows of a report: how many pass, a word for each
/// exercise, then the one to look at (see the module's docs).
pub fn screen(report: &Report, focus: Option<&str>) -> String {
    let total = report.exercises.len();
    let passing = report.exercises.iter().filter(|e| e.passed()).count();
    let bar: String = (0..total)
        .map(|i| if i < passing { '#' } else { '.' })
        .collect();
    let (earned, possible) = report.score();
    let mut text =
        format!("[{bar}] {passing} of {total} exercises passing, {earned}/{possible} points\n");
    let words: Vec<String> = report
        .exercises
        .iter()
        .map(|e| format!("{} {}", e.id, word(e)))
        .collect();
    text.push_str(&words.join("   "));
    text.push('\n');
    match next(report, focus) {
        None => text.push_str("every exercise passes every check\n"),
        Some(exercise) => {
            text.push_str(&format!("next: {} ({})\n", exercise.id, exercise.package));
            if let Some(todo) = exercise.not_started() {
                text.push_str(&format!("  TODO  {}\n", crate::escape::control_chars(todo)));
            } else if let Some(run) = exercise.runs.iter().find(|r| !r.passed()) {
                text.push_str(&run.to_string());
            }
        }
    }
    text.push_str("(save a file to grade again; q quits)\n");
    text
}

/// A word for how an exercise stands.
fn word(exercise: &ExerciseReport) -> &'static str {
    if exercise.passed() {
        "pass"
    } else if exercise.not_started().is_some() {
        "TODO"
    } else {
        "FAIL"
    }
}

/// The exercise to show: `focus` (the one just saved) if it does not
/// pass, else the first that fails, else the first not started.
fn next<'a>(report: &'a Report, focus: Option<&str>) -> Option<&'a ExerciseReport> {
    let failing = |e: &&ExerciseReport| !e.passed();
    report
        .exercises
        .iter()
        .filter(failing)
        .find(|e| Some(e.id) == focus)
        .or_else(|| {
            report
                .exercises
                .iter()
                .filter(failing)
                .find(|e| e.not_started().is_none())
        })
        .or_else(|| report.exercises.iter().find(failing))
}

/// Reads keys on a thread of its own: `q`, Ctrl-D or the end of standard
/// input sends [`Wake::Quit`].
fn read_keys(wake: Sender<Wake>) {
    std::thread::spawn(move || {
        let mut byte = [0u8; 1];
        let mut stdin = std::io::stdin();
        loop {
            match stdin.read(&mut byte) {
                Ok(1) if !matches!(byte[0], b'q' | b'Q' | 4) => {}
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                _ => {
                    let _ = wake.send(Wake::Quit);
                    return;
                }
            }
        }
    });
}

/// Sends [`Wake::Quit`] on Ctrl-C (SIGINT) or SIGTERM.
fn quit_on_signals(wake: Sender<Wake>) -> Result<signal_hook::iterator::Handle, Error> {
    let mut signals = signal_hook::iterator::Signals::new([
        signal_hook::consts::SIGINT,
        signal_hook::consts::SIGTERM,
    ])
    .map_err(|e| Error::io("handle Ctrl-C", e))?;
    let handle = signals.handle();
    std::thread::spawn(move || {
        if signals.forever().next().is_some() {
            let _ = wake.send(Wake::Quit);
        }
    });
    Ok(handle)
}

/// The terminal in non-canonical mode without echo while watching, so
/// that `q` is read at once; put back as it was when dropped.
struct Terminal {
    saved: Option<nix::sys::termios::Termios>,
}

impl Terminal {
    fn keys_without_enter() -> Terminal {
        use nix::sys::termios::{self, LocalFlags, SetArg};
        let stdin = std::io::stdin();
        if !stdin.is_terminal() {
            return Terminal { saved: None };
        }
        let Ok(saved) = termios::tcgetattr(&stdin) else {
            return Terminal { saved: None };
        };
        let mut keys = saved.clone();
        keys.local_flags
            .remove(LocalFlags::ICANON | LocalFlags::ECHO);
        let _ = termios::tcsetattr(&stdin, SetArg::TCSANOW, &keys);
        Terminal { saved: Some(saved) }
    }
}

impl Drop for Terminal {
    fn drop(&mut self) {
        if let Some(saved) = &self.saved {
            let _ = nix::sys::termios::tcsetattr(
                std::io::stdin(),
                nix::sys::termios::SetArg::TCSANOW,
                saved,
            );
        }
    }
}
