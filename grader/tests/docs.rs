//! The README's facts that can drift from the code: the paths it names
//! exist, and the figures it derives from the registry match it.

fn readme() -> String {
    std::fs::read_to_string(crate::workspace().join("README.md")).expect("the README")
}

/// Every path in backticks under a folder of the workspace (a crate, or
/// `.ci`) names a file or folder that exists, so that a move shows here
/// until the README follows it.
#[test]
fn every_path_the_readme_names_exists() {
    let root = crate::workspace();
    let readme = readme();
    let quoted = readme.split('`').skip(1).step_by(2);
    let mut checked = 0;
    let mut missing = Vec::new();
    for path in quoted {
        let Some((top, _)) = path.split_once('/') else {
            continue;
        };
        let plain = !path.contains(['<', '*', ' ', '$']) && !path.contains("...");
        let ours = top != "target" && !top.is_empty() && root.join(top).is_dir();
        if plain && ours {
            checked += 1;
            if !root.join(path).exists() {
                missing.push(path);
            }
        }
    }
    assert!(checked > 20, "only {checked} paths were found to check");
    assert!(
        missing.is_empty(),
        "the README names paths that do not exist: {missing:?}"
    );
}

/// The README's cost of tracing is quoted for the registry's runs: as
/// many as the registry has, under one start method.
#[test]
fn the_readme_counts_the_registrys_runs() {
    let runs: usize = grader::EXERCISES.iter().map(|e| (e.runs)().len()).sum();
    let readme = readme().replace('\n', " ");
    let (_, after) = readme
        .split_once("grading every exercise (the ")
        .expect("the README quotes the cost of grading every exercise");
    let quoted = after.split_whitespace().next().unwrap_or_default();
    assert_eq!(quoted, runs.to_string(), "the README's count of runs");
    assert!(after.starts_with(&format!("{runs} runs of the registry")));
}
