use std::collections::BTreeSet;

use grader::EXERCISES;

/// Packages of the workspace that are not exercises.
const NOT_EXERCISES: &[&str] = &["bench", "common", "grader"];

/// The workspace's packages, by cargo.
fn metadata() -> cargo_metadata::Metadata {
    cargo_metadata::MetadataCommand::new()
        .manifest_path(crate::workspace().join("Cargo.toml"))
        .no_deps()
        .exec()
        .expect("cargo metadata")
}

#[test]
fn registry_matches_workspace() {
    let metadata = metadata();
    let members: BTreeSet<String> = metadata
        .workspace_packages()
        .iter()
        .map(|p| p.name.to_string())
        .filter(|name| !NOT_EXERCISES.contains(&name.as_str()))
        .collect();
    let registered: BTreeSet<String> = EXERCISES.iter().map(|e| e.package.to_owned()).collect();
    let unregistered: Vec<_> = members.difference(&registered).collect();
    let missing: Vec<_> = registered.difference(&members).collect();
    assert!(
        unregistered.is_empty(),
        "workspace members {unregistered:?} are not in the registry: add an entry for each to \
         EXERCISES in grader/src/exercises.rs (or to NOT_EXERCISES in this test if it is not one)"
    );
    assert!(
        missing.is_empty(),
        "the registry lists {missing:?}, which are not workspace members: add each to `members` \
         in the root Cargo.toml, or remove its entry from grader/src/exercises.rs"
    );
}

#[test]
fn registry_ids_and_packages_are_unique() {
    let ids: BTreeSet<_> = EXERCISES.iter().map(|e| e.id).collect();
    let packages: BTreeSet<_> = EXERCISES.iter().map(|e| e.package).collect();
    assert_eq!(ids.len(), EXERCISES.len(), "two exercises share an id");
    assert_eq!(
        packages.len(),
        EXERCISES.len(),
        "two exercises share a package"
    );
    for exercise in EXERCISES {
        assert!(exercise.points > 0, "{} is worth no points", exercise.id);
        assert!(
            !(exercise.runs)().is_empty(),
            "{} has no runs to grade",
            exercise.id
        );
    }
}

/// Each run says what it expects without contradicting itself, and no
/// field still holds a `TODO` placeholder of `grader new`: not the entry's
/// own, not a run's lines, not the package's description or docs.
#[test]
fn registry_entries_are_filled_in_and_consistent() {
    let metadata = metadata();
    let todo = |text: &str| text.contains("TODO");
    for exercise in EXERCISES {
        let id = exercise.id;
        for (field, text) in [
            ("id", exercise.id),
            ("package", exercise.package),
            ("ports", exercise.ports),
            ("hint", exercise.hint),
        ] {
            assert!(
                !todo(text),
                "{id}'s `{field}` is still a placeholder: {text}"
            );
        }
        for run in (exercise.runs)() {
            let problems = run.problems();
            assert!(problems.is_empty(), "{id}: {}", problems.join("; "));
            for line in run.all_lines() {
                assert!(!todo(line), "{id} expects a placeholder line: {line}");
            }
        }
        let package = metadata
            .workspace_packages()
            .into_iter()
            .find(|p| p.name.as_str() == exercise.package)
            .unwrap_or_else(|| panic!("{} is a workspace member", exercise.package));
        let description = package.description.clone().unwrap_or_default();
        assert!(
            !description.is_empty() && !todo(&description),
            "{id}'s package description is missing or a placeholder: {description}"
        );
        let main = package
            .manifest_path
            .parent()
            .expect("a directory")
            .join("src/main.rs");
        let source = std::fs::read_to_string(&main).expect("src/main.rs");
        assert!(
            !source.lines().any(|l| l.starts_with("//!") && todo(l)),
            "{id}'s docs still hold a TODO: {main}"
        );
    }
}
