use std::collections::BTreeSet;

use grader::EXERCISES;

/// Packages of the workspace that are not exercises.
const NOT_EXERCISES: &[&str] = &["bench", "common", "grader"];

#[test]
fn registry_matches_workspace() {
    let metadata = cargo_metadata::MetadataCommand::new()
        .manifest_path(crate::workspace().join("Cargo.toml"))
        .no_deps()
        .exec()
        .expect("cargo metadata");
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
