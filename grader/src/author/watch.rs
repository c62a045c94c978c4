//! The student loop: `grader watch` grades the workspace, then again each
//! time one of its files is saved, like rustlings' watch mode.
//!
//! Each grading prints how many exercises pass, then the first one that
//! does not, with what was expected, what the program did and a hint (or
//! which `todo!` it reached). Changes under `target/` and `.git/` are
//! ignored, and changes that come while grading are taken together for the
//! next one. `q` (the terminal is put in non-canonical mode, so no Enter is
//! needed) or Ctrl-C ends the loop and puts the terminal back.

use std::io::{IsTerminal, Read, Write};
use std::path::{Component, Path};
use std::sync::mpsc;
use std::time::Duration;

use notify::{RecursiveMode, Watcher};

use crate::error::Error;
use crate::report::Report;
use common::StartMethod;

use crate::grade::grade;

/// What the loop waits for.
enum Wake {
    /// A file of the workspace changed.
    Changed,
    /// `q`, Ctrl-C, or the end of standard input.
    Quit,
}

/// Watches `workspace` and grades the exercises in `only` (all when
/// empty) until the user quits.
pub fn run(workspace: &Path, only: &[String]) -> Result<(), Error> {
    let workspace = std::path::absolute(workspace)
        .map_err(|e| Error::io(format!("find {}", workspace.display()), e))?;
    if !workspace.join("Cargo.toml").is_file() {
        return Err(Error::NotAWorkspace(workspace.display().to_string()));
    }
    let (wake, woken) = mpsc::channel();
    let files = wake.clone();
    let root = workspace.clone();
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        if let Ok(event) = event
            && event.paths.iter().any(|p| counts(&root, p))
        {
            let _ = files.send(Wake::Changed);
        }
    })
    .map_err(|e| Error::io("watch the workspace", std::io::Error::other(e)))?;
    watcher
        .watch(&workspace, RecursiveMode::Recursive)
        .map_err(|e| Error::io("watch the workspace", std::io::Error::other(e)))?;
    let _terminal = Terminal::keys_without_enter();
    let keys = wake.clone();
    std::thread::spawn(move || {
        let mut byte = [0u8; 1];
        let mut stdin = std::io::stdin();
        loop {
            match stdin.read(&mut byte) {
                Ok(1) if byte[0] != b'q' => continue,
                _ => {
                    let _ = keys.send(Wake::Quit);
                    return;
                }
            }
        }
    });
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
    let methods = [StartMethod::Fork];
    loop {
        let report = grade(&workspace, only, &methods);
        show(&report);
        // Wait for a change; take those that follow within a moment together.
        match woken.recv() {
            Ok(Wake::Changed) => {}
            Ok(Wake::Quit) | Err(_) => break,
        }
        let mut quit = false;
        while let Ok(more) = woken.recv_timeout(Duration::from_millis(200)) {
            quit |= matches!(more, Wake::Quit);
        }
        if quit {
            break;
        }
    }
    handle.close();
    println!("watch: stopped");
    Ok(())
}

/// Whether a change at `path` calls for grading again: not under
/// `target/` or `.git/`.
fn counts(root: &Path, path: &Path) -> bool {
    let Ok(inside) = path.strip_prefix(root) else {
        return false;
    };
    !inside
        .components()
        .any(|c| matches!(c, Component::Normal(name) if name == "target" || name == ".git"))
}

/// Prints the progress and the first exercise that does not pass.
fn show(report: &Result<Report, Error>) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out);
    let report = match report {
        Ok(report) => report,
        Err(error) => {
            let _ = writeln!(out, "could not grade: {error}");
            let _ = writeln!(out, "(save a file to grade again; q quits)");
            return;
        }
    };
    let total = report.exercises.len();
    let passing = report.exercises.iter().filter(|e| e.passed()).count();
    let bar: String = (0..total)
        .map(|i| if i < passing { '#' } else { '.' })
        .collect();
    let _ = writeln!(out, "[{bar}] {passing} of {total} exercises passing");
    match report.exercises.iter().find(|e| !e.passed()) {
        None => {
            let _ = writeln!(out, "every exercise passes every check");
        }
        Some(exercise) => {
            let _ = writeln!(out, "next: {} ({})", exercise.id, exercise.package);
            if let Some(run) = exercise.runs.iter().find(|r| !r.passed()) {
                let _ = write!(out, "{run}");
            }
        }
    }
    let _ = writeln!(out, "(save a file to grade again; q quits)");
    let _ = out.flush();
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
