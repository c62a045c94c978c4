//! `grader new q7-name`: a new exercise crate, added to the workspace and to
//! the registry, with a placeholder expectation that fails until it is
//! replaced, so that a maintainer starts from a red test.

use std::fs;
use std::path::Path;

use crate::error::Error;

/// What the placeholder run expects; no program prints it by accident.
pub const PLACEHOLDER: &str = "TODO: replace with the expected output";

/// Checks that `package` is `qN-words`, as the exercises are named.
pub fn check_name(package: &str) -> Result<(&str, &str), Error> {
    let bad = || Error::BadExerciseName(package.to_owned());
    let (id, rest) = package.split_once('-').ok_or_else(bad)?;
    let number = id.strip_prefix('q').ok_or_else(bad)?;
    let words_ok = rest.split('-').all(|w| {
        !w.is_empty()
            && w.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
    });
    if number.is_empty() || !number.chars().all(|c| c.is_ascii_digit()) || !words_ok {
        return Err(bad());
    }
    Ok((id, rest))
}

/// The root manifest with `package` added to `[workspace] members`, the
/// rest of the file as it was (comments, the `INSTRUCTOR` region, the
/// array's layout: one member a line stays one a line).
pub fn add_member(manifest: &str, package: &str) -> Result<String, Error> {
    let mut document: toml_edit::DocumentMut = manifest
        .parse()
        .map_err(|e| Error::Scaffold(format!("the root Cargo.toml is not TOML: {e}")))?;
    let members = document
        .get_mut("workspace")
        .and_then(|workspace| workspace.get_mut("members"))
        .and_then(toml_edit::Item::as_array_mut)
        .ok_or_else(|| {
            Error::Scaffold("no `members = [...]` under [workspace] in the root Cargo.toml".into())
        })?;
    if members
        .iter()
        .any(|member| member.as_str() == Some(package))
    {
        return Err(Error::Scaffold(format!(
            "{package} is already a workspace member"
        )));
    }
    // On a line of its own, indented as the last member, where that one
    // is (without the comments before it); else as toml_edit lays it out.
    let prefix = members.iter().last().and_then(|last| {
        let prefix = last.decor().prefix()?.as_str()?;
        let newline = prefix.rfind('\n')?;
        Some(format!("\n{}", &prefix[newline + 1..]))
    });
    members.push(package);
    if let Some(prefix) = prefix
        && let Some(added) = members.iter_mut().last()
    {
        added.decor_mut().set_prefix(prefix);
    }
    Ok(document.to_string())
}

/// The registry's source with an entry for `package` added at the end of
/// `EXERCISES`, and its runs function at the end of the file.
pub fn add_entry(registry: &str, id: &str, package: &str) -> Result<String, Error> {
    let start = registry
        .find("pub static EXERCISES: &[Exercise] = &[")
        .ok_or_else(|| Error::Scaffold("no EXERCISES list in grader/src/exercises.rs".into()))?;
    let end = start
        + registry[start..].find("\n];").ok_or_else(|| {
            Error::Scaffold("EXERCISES is not closed in grader/src/exercises.rs".into())
        })?;
    if registry.contains(&format!("package: \"{package}\"")) {
        return Err(Error::Scaffold(format!(
            "{package} is already in the registry"
        )));
    }
    // Two exercises with one id would share a name in every report and a
    // `{id}_runs` function the grader would then not compile with.
    if registry.contains(&format!("id: \"{id}\"")) || registry.contains(&format!("fn {id}_runs(")) {
        return Err(Error::Scaffold(format!(
            "{id} is already an exercise's id: name the new one q<N>-... with a number no exercise has"
        )));
    }
    let entry = format!(
        r#"
    Exercise {{
        id: "{id}",
        package: "{package}",
        ports: "TODO: which question of which seed it ports",
        points: 10,
        hint: "TODO: what to look at first when a check fails",
        runs: {id}_runs,
    }},"#
    );
    let runs = format!(
        r#"
fn {id}_runs() -> Vec<Run> {{
    // TODO: the arguments, the lines expected, how many child processes.
    vec![Run::new(&[], &["{PLACEHOLDER}"])]
}}
"#
    );
    Ok(format!(
        "{}{entry}{}{runs}",
        &registry[..end],
        &registry[end..]
    ))
}

/// The new crate's manifest.
fn crate_manifest(package: &str) -> String {
    format!(
        r#"[package]
name = "{package}"
description = "TODO: the question, in one line."
version.workspace = true
edition.workspace = true
rust-version.workspace = true
license.workspace = true
publish.workspace = true

[dependencies]
clap.workspace = true
common.workspace = true

[lints]
workspace = true
"#
    )
}

/// The new crate's `main.rs`: the shape every exercise has.
fn crate_main(package: &str) -> String {
    format!(
        r#"//! TODO: the question, as the seed asks it.
//!
//! TODO: what the Python original does, and its output:
//!
//! ```text
//! TODO
//! ```

use std::process::ExitCode;

use clap::Parser;
use common::Process;

/// TODO: one line on what this program shows.
#[derive(Parser)]
#[command(version, about)]
struct Args {{}}

fn run() -> common::Result<()> {{
    let mut process = Process::new(|| println!("TODO: the child's work"));
    process.start()?;
    process.join()?;
    Ok(())
}}

fn main() -> ExitCode {{
    Args::parse();
    match run() {{
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {{
            eprintln!("{package}: {{error}}");
            ExitCode::from(error.exit_code())
        }}
    }}
}}
"#
    )
}

fn io(what: String) -> impl FnOnce(std::io::Error) -> Error {
    move |source| Error::io(what, source)
}

/// Creates `workspace/package`, adds it to the workspace's members and to the
/// registry. Returns the files it wrote or changed.
pub fn new_exercise(workspace: &Path, package: &str) -> Result<Vec<String>, Error> {
    let (id, _) = check_name(package)?;
    let manifest_path = workspace.join("Cargo.toml");
    let registry_path = workspace.join("grader/src/exercises.rs");
    let crate_dir = workspace.join(package);
    if crate_dir.exists() {
        return Err(Error::Scaffold(format!(
            "{} already exists",
            crate_dir.display()
        )));
    }
    let manifest = fs::read_to_string(&manifest_path)
        .map_err(io(format!("read {}", manifest_path.display())))?;
    let registry = fs::read_to_string(&registry_path)
        .map_err(io(format!("read {}", registry_path.display())))?;
    // Both edits are worked out before anything is written.
    let manifest = add_member(&manifest, package)?;
    let registry = add_entry(&registry, id, package)?;
    fs::create_dir_all(crate_dir.join("src"))
        .map_err(io(format!("create {}", crate_dir.display())))?;
    let files = [
        (crate_dir.join("Cargo.toml"), crate_manifest(package)),
        (crate_dir.join("src/main.rs"), crate_main(package)),
        (manifest_path, manifest),
        (registry_path, registry),
    ];
    let mut written = Vec::new();
    for (path, text) in files {
        fs::write(&path, text).map_err(io(format!("write {}", path.display())))?;
        written.push(path.display().to_string());
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_must_be_q_number_words() {
        assert!(check_name("q7-shared-memory").is_ok());
        for bad in [
            "q7", "7-x", "q-x", "qx-y", "q7-", "q7-Upper", "q7--x", "q7-a b",
        ] {
            assert!(check_name(bad).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn a_member_is_added_once() {
        let manifest = "[workspace]\nmembers = [\n    \"common\",\n]\n";
        let added = add_member(manifest, "q7-x").expect("added");
        assert_eq!(
            added,
            "[workspace]\nmembers = [\n    \"common\",\n    \"q7-x\",\n]\n"
        );
        assert!(add_member(&added, "q7-x").is_err(), "twice is refused");
    }

    /// The list on one line, which splicing text before its `]` once
    /// turned into `members = ["a"    "q7-x",\n]`.
    #[test]
    fn a_member_is_added_to_a_list_on_one_line() {
        let added = add_member("[workspace]\nmembers = [\"a\"]\n", "q7-x").expect("added");
        assert_eq!(added, "[workspace]\nmembers = [\"a\", \"q7-x\"]\n");
        let empty = add_member("[workspace]\nmembers = []\n", "q7-x").expect("added");
        assert_eq!(empty, "[workspace]\nmembers = [\"q7-x\"]\n");
    }

    /// The workspace's own manifest: its comments and regions stay, and the
    /// result is a manifest whose members are the old ones and the new one.
    #[test]
    fn the_workspace_manifest_keeps_its_comments_and_regions() {
        let manifest = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../Cargo.toml"),
        )
        .expect("the root manifest");
        let added = add_member(&manifest, "q7-x").expect("added");
        let members = |text: &str| -> Vec<String> {
            let document: toml_edit::DocumentMut = text.parse().expect("TOML");
            document["workspace"]["members"]
                .as_array()
                .expect("an array")
                .iter()
                .map(|m| m.as_str().expect("a string").to_owned())
                .collect()
        };
        let mut expected = members(&manifest);
        expected.push("q7-x".to_owned());
        assert_eq!(members(&added), expected);
        assert!(
            added.contains("\n    \"q7-x\",\n]"),
            "one member a line:\n{added}"
        );
        for line in manifest.lines() {
            assert!(added.contains(line), "{line:?} is kept");
        }
        assert!(add_member("[package]\nname = \"x\"\n", "q7-x").is_err());
        assert!(add_member("members = [", "q7-x").is_err(), "not TOML");
    }

    #[test]
    fn a_registry_entry_and_its_runs_are_added() {
        let registry = "pub static EXERCISES: &[Exercise] = &[\n    Exercise { id: \"q1\" },\n];\n";
        let added = add_entry(registry, "q7", "q7-x").expect("added");
        let entry = added.find("package: \"q7-x\"").expect("entry");
        let close = added.find("\n];").expect("list closed");
        assert!(entry < close, "the entry is inside EXERCISES:\n{added}");
        assert!(added.contains("fn q7_runs() -> Vec<Run>"), "{added}");
        assert!(added.contains(PLACEHOLDER));
        assert!(add_entry(&added, "q7", "q7-x").is_err(), "twice is refused");
        let taken = add_entry(&added, "q7", "q7-y").expect_err("an id in use is refused");
        assert!(taken.to_string().contains("q7 is already"), "{taken}");
        let taken = add_entry(registry, "q1", "q1-y").expect_err("an id in use is refused");
        assert!(taken.to_string().contains("q1 is already"), "{taken}");
    }
}
