//! How each exercise is compiled against the instructor's built
//! workspace: its crate name and edition, the libraries it links against
//! (read from cargo's metadata and from the build's own messages), and the
//! `CARGO_PKG_*` variables cargo would set.

use std::collections::BTreeMap;
use std::path::PathBuf;

use cargo_metadata::{DependencyKind, Metadata, Node, Package};

use crate::cargo::Binaries;
use crate::error::Error;
use crate::exercises::{EXERCISES, Exercise};

/// How one exercise is compiled: its crate's name and edition, and the
/// libraries it links against.
#[derive(Debug, Clone)]
pub(super) struct Recipe {
    pub(super) crate_name: String,
    pub(super) edition: String,
    pub(super) externs: Vec<(String, PathBuf)>,
    /// The `CARGO_PKG_*` variables cargo sets for the compiler (clap's
    /// `version` and `about` read them), from the instructor's manifest.
    pub(super) env: Vec<(String, String)>,
}

/// The recipe of each exercise the workspace has.
pub(super) fn recipes(
    metadata: &Metadata,
    built: &Binaries,
) -> Result<BTreeMap<&'static str, Recipe>, Error> {
    let resolve = metadata
        .resolve
        .as_ref()
        .ok_or_else(|| Error::io("read cargo metadata", std::io::Error::other("no resolve")))?;
    let mut recipes = BTreeMap::new();
    for exercise in EXERCISES {
        let Some(package) = metadata
            .workspace_packages()
            .into_iter()
            .find(|p| p.name.as_str() == exercise.package)
        else {
            continue;
        };
        let Some(node) = resolve.nodes.iter().find(|n| n.id == package.id) else {
            continue;
        };
        let externs = externs(exercise, node, built)?;
        recipes.insert(
            exercise.package,
            Recipe {
                crate_name: exercise.package.replace('-', "_"),
                edition: package.edition.to_string(),
                externs,
                env: cargo_env(exercise, package),
            },
        );
    }
    Ok(recipes)
}

/// The libraries `exercise` links against (its normal dependencies, as
/// built).
fn externs(
    exercise: &Exercise,
    node: &Node,
    built: &Binaries,
) -> Result<Vec<(String, PathBuf)>, Error> {
    let mut externs = Vec::new();
    for dep in &node.deps {
        let normal = dep
            .dep_kinds
            .iter()
            .any(|k| k.kind == DependencyKind::Normal);
        if !normal {
            continue;
        }
        let library = built.library(&dep.pkg.repr).ok_or_else(|| {
            Error::io(
                format!(
                    "find the library {} that {} uses",
                    dep.name, exercise.package
                ),
                std::io::ErrorKind::NotFound.into(),
            )
        })?;
        externs.push((dep.name.clone(), library.to_path_buf()));
    }
    Ok(externs)
}

/// The variables cargo sets for the compiler of `exercise`'s binary.
fn cargo_env(exercise: &Exercise, package: &Package) -> Vec<(String, String)> {
    let version = &package.version;
    [
        ("CARGO_PKG_NAME", package.name.to_string()),
        ("CARGO_PKG_VERSION", version.to_string()),
        ("CARGO_PKG_VERSION_MAJOR", version.major.to_string()),
        ("CARGO_PKG_VERSION_MINOR", version.minor.to_string()),
        ("CARGO_PKG_VERSION_PATCH", version.patch.to_string()),
        ("CARGO_PKG_VERSION_PRE", version.pre.to_string()),
        ("CARGO_PKG_AUTHORS", package.authors.join(":")),
        (
            "CARGO_PKG_DESCRIPTION",
            package.description.clone().unwrap_or_default(),
        ),
        (
            "CARGO_PKG_HOMEPAGE",
            package.homepage.clone().unwrap_or_default(),
        ),
        (
            "CARGO_PKG_REPOSITORY",
            package.repository.clone().unwrap_or_default(),
        ),
        (
            "CARGO_PKG_LICENSE",
            package.license.clone().unwrap_or_default(),
        ),
        ("CARGO_CRATE_NAME", exercise.package.replace('-', "_")),
        ("CARGO_BIN_NAME", exercise.package.to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}
