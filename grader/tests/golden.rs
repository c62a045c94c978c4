//! Golden reports: the full text a student would read for each deliberately
//! wrong solution, kept in `grader/tests/golden/<fixture>.txt` and compared
//! whole, so that a change to any message shows up in review.
//!
//! What legitimately differs between two gradings is replaced before the
//! comparison: pids (by their role: `<main>`, `<child-1>`, ...), decimal
//! figures such as timings (`<x.y>`), the order of lines printed by
//! processes that race (sorted among themselves), and the number a run's
//! `Fact::Counted` line shows (`Counter: <n>`: a counter without its lock
//! ends anywhere), with the problems of a line that shows it sorted; the
//! note of layers the sandbox lacked, which depends on the machine and the
//! user, is left out.
//!
//! After changing a message on purpose, rewrite the files with
//! `GRADER_BLESS=1 cargo test -p grader wrong_solutions` and review the diff.

use std::collections::HashMap;
use std::path::PathBuf;

use grader::observe::Observation;
use grader::{Run, RunReport};

/// The environment variable that rewrites the golden files.
const BLESS: &str = "GRADER_BLESS";

/// Compares the report of `fixture` with its golden file.
#[track_caller]
pub fn assert_golden(fixture: &str, run: &Run, seen: &Observation, report: &RunReport) {
    let text = normalize(&report.to_string(), run, seen);
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(format!("{fixture}.txt"));
    if std::env::var_os(BLESS).is_some() {
        std::fs::create_dir_all(path.parent().expect("a directory")).expect("mkdir");
        std::fs::write(&path, &text).expect("write the golden file");
        return;
    }
    let golden = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        golden == text,
        "the report of {fixture} differs from {}\n--- golden\n{golden}\n--- now\n{text}\n\
         (if the change is meant: {BLESS}=1 cargo test -p grader wrong_solutions)",
        path.display()
    );
}

/// `report` with pids named by role, decimals hidden and racing lines
/// sorted.
fn normalize(report: &str, run: &Run, seen: &Observation) -> String {
    let mut roles: HashMap<i32, String> = HashMap::new();
    roles.insert(seen.main.as_raw(), "<main>".to_owned());
    if let Some(init) = seen.init {
        roles.insert(init.as_raw(), "<init>".to_owned());
    }
    for (i, checkin) in seen.checkins.iter().enumerate() {
        roles
            .entry(checkin.pid.as_raw())
            .or_insert_with(|| format!("<child-{}>", i + 1));
    }
    if let Ok(events) = &seen.traced {
        for (i, created) in events.processes.iter().enumerate() {
            roles
                .entry(created.pid.as_raw())
                .or_insert_with(|| format!("<process-{}>", i + 1));
        }
    }
    for (i, pid) in seen.leftovers.iter().enumerate() {
        roles
            .entry(pid.as_raw())
            .or_insert_with(|| format!("<leftover-{}>", i + 1));
    }
    let counted: Vec<&str> = run
        .facts
        .iter()
        .filter_map(|fact| match fact {
            grader::Fact::Counted { line, .. } => line.split_once("{}").map(|(before, _)| before),
            _ => None,
        })
        .collect();
    // What the sandbox lacked depends on the machine and the user (no
    // cgroup for an ordinary user on cgroup v1, say), not on the fixture;
    // the sandbox's own tests check that note.
    let lines: Vec<String> = report
        .lines()
        .filter(|l| !l.starts_with("  note  the run was not fully sandboxed"))
        .map(|l| counts(&numbers(l, &roles), &counted))
        .collect();
    let races = racing(run);
    let mut out: Vec<String> = Vec::new();
    let mut racing: Vec<String> = Vec::new();
    for line in lines {
        if races.iter().any(|r| line.trim() == r.as_str()) {
            racing.push(line);
            continue;
        }
        racing.sort();
        out.append(&mut racing);
        out.push(line);
    }
    racing.sort();
    out.append(&mut racing);
    out.join("\n") + "\n"
}

/// The lines that come in whatever order the processes run: those of
/// child processes, when several print and no order ties them.
fn racing(run: &Run) -> Vec<&String> {
    let printing = run
        .child_parts()
        .filter(|(_, lines)| !lines.is_empty())
        .count();
    if printing < 2 || !run.order.is_empty() {
        return Vec::new();
    }
    run.child_parts().flat_map(|(_, lines)| lines).collect()
}

/// `line` with the number after each of `prefixes` replaced by `<n>`; if
/// any was, a failure's problems (`; `-separated) sorted.
fn counts(line: &str, prefixes: &[&str]) -> String {
    let mut out = line.to_owned();
    for prefix in prefixes {
        let mut from = 0;
        while let Some(at) = out[from..].find(prefix) {
            let start = from + at + prefix.len();
            let end = out[start..]
                .find(|c: char| !c.is_ascii_digit())
                .map_or(out.len(), |e| start + e);
            if end > start {
                out.replace_range(start..end, "<n>");
            }
            from = start;
        }
    }
    if out == line {
        return out;
    }
    match out.split_once(": ") {
        Some((check, problems)) if check.trim_start().starts_with("FAIL") => {
            let mut parts: Vec<&str> = problems.split("; ").collect();
            parts.sort();
            format!("{check}: {}", parts.join("; "))
        }
        _ => out,
    }
}

/// `line` with each whole number that is a known pid replaced by its role,
/// and each decimal such as `12.5` by `<x.y>`.
fn numbers(line: &str, roles: &HashMap<i32, String>) -> String {
    let mut out = String::new();
    let mut rest = line;
    while let Some(start) = rest.find(|c: char| c.is_ascii_digit()) {
        let (before, from) = rest.split_at(start);
        out.push_str(before);
        let glued = before.ends_with(|c: char| c.is_alphanumeric() || c == '_');
        let end = from
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(from.len());
        let token = from[..end].trim_end_matches('.');
        let after = &from[token.len()..];
        let role = token.parse::<i32>().ok().and_then(|n| roles.get(&n));
        match role {
            Some(role) if !glued => out.push_str(role),
            _ if !glued && token.contains('.') => out.push_str("<x.y>"),
            _ => out.push_str(token),
        }
        rest = after;
    }
    out.push_str(rest);
    out
}
