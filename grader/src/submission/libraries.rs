//! The instructor's compiled libraries a submission is linked against, and
//! nothing else of the instructor's build.
//!
//! A compile sandbox sees one directory of libraries, bound read-only at
//! [`INSIDE`]: the library files (`.rlib`, and `.so` for a proc macro) of
//! the crates the exercises depend on, at any depth, hard-linked from
//! cargo's `deps` directories (copied where a link cannot be made). The
//! rest of the instructor's build is not there: not the reference
//! solutions' binaries, not the grader's library (which holds the hidden
//! runs), not the build scripts' output. It is made once per grading and
//! shared by every submission.

use std::collections::{BTreeSet, VecDeque};
use std::path::{Path, PathBuf};

use cargo_metadata::{DependencyKind, Metadata, PackageId};

use crate::cargo::Binaries;
use crate::error::Error;
use crate::exercises::EXERCISES;

/// Where a compile sandbox sees the libraries.
pub const INSIDE: &str = "/deps";

/// The libraries' directory, removed when dropped.
#[derive(Debug)]
pub struct Libraries {
    dir: tempfile::TempDir,
}

impl Libraries {
    /// Gathers the libraries every exercise of the workspace (`metadata`,
    /// built as `built` says) depends on, at any depth.
    pub fn gather(metadata: &Metadata, built: &Binaries) -> Result<Libraries, Error> {
        let crates = closure(metadata);
        let dir = tempfile::Builder::new()
            .prefix("grader-libraries-")
            .tempdir()
            .map_err(|e| Error::io("make the libraries' directory", e))?;
        // The compile sandbox's uid (as root, one that owns nothing) must
        // read it.
        std::fs::set_permissions(
            dir.path(),
            std::os::unix::fs::PermissionsExt::from_mode(0o755),
        )
        .map_err(|e| Error::io("make the libraries' directory", e))?;
        for from in built.library_dirs() {
            let Ok(entries) = std::fs::read_dir(&from) else {
                continue;
            };
            for entry in entries.flatten() {
                let name = entry.file_name();
                let Some(name) = name.to_str() else { continue };
                if !is_library_of(name, &crates) {
                    continue;
                }
                let to = dir.path().join(name);
                if std::fs::hard_link(entry.path(), &to).is_err() {
                    std::fs::copy(entry.path(), &to)
                        .map_err(|e| Error::io(format!("copy {name}"), e))?;
                }
            }
        }
        Ok(Libraries { dir })
    }

    /// The directory, on the host.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

/// Where the sandbox sees `library`, one of the instructor's library
/// files: by its name, in [`INSIDE`].
pub fn inside(library: &Path) -> PathBuf {
    Path::new(INSIDE).join(library.file_name().unwrap_or_default())
}

/// Whether `file` is a library file (`lib<crate>-<hash>.rlib` or `.so`)
/// of one of `crates`.
fn is_library_of(file: &str, crates: &BTreeSet<String>) -> bool {
    let Some(stem) = file
        .strip_suffix(".rlib")
        .or_else(|| file.strip_suffix(".so"))
        .and_then(|f| f.strip_prefix("lib"))
    else {
        return false;
    };
    stem.rsplit_once('-')
        .is_some_and(|(name, _hash)| crates.contains(name))
}

/// The crate names of every library the exercises depend on as normal
/// dependencies, at any depth (through proc macros too).
fn closure(metadata: &Metadata) -> BTreeSet<String> {
    let Some(resolve) = &metadata.resolve else {
        return BTreeSet::new();
    };
    let mut queue: VecDeque<&PackageId> = metadata
        .workspace_packages()
        .into_iter()
        .filter(|p| EXERCISES.iter().any(|e| e.package == p.name.as_str()))
        .map(|p| &p.id)
        .collect();
    let mut seen: BTreeSet<&PackageId> = BTreeSet::new();
    let mut crates = BTreeSet::new();
    while let Some(id) = queue.pop_front() {
        let Some(node) = resolve.nodes.iter().find(|n| &n.id == id) else {
            continue;
        };
        for dep in &node.deps {
            let normal = dep
                .dep_kinds
                .iter()
                .any(|k| k.kind == DependencyKind::Normal);
            if normal && seen.insert(&dep.pkg) {
                crates.extend(library_name(metadata, &dep.pkg));
                queue.push_back(&dep.pkg);
            }
        }
    }
    crates
}

/// The crate name of package `id`'s library, as its files are named.
fn library_name(metadata: &Metadata, id: &PackageId) -> Option<String> {
    let package = metadata.packages.iter().find(|p| &p.id == id)?;
    package
        .targets
        .iter()
        .find(|t| t.is_lib() || t.is_proc_macro() || t.is_rlib())
        .map(|t| t.name.replace('-', "_"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_libraries_of_the_crates_named_are_taken() {
        let crates: BTreeSet<String> = ["common", "serde_derive"].map(str::to_owned).into();
        assert!(is_library_of("libcommon-4ad98c4d55bf11f7.rlib", &crates));
        assert!(is_library_of("libserde_derive-1234.so", &crates));
        assert!(!is_library_of("libcommon-4ad98c4d55bf11f7.rmeta", &crates));
        assert!(!is_library_of("libgrader-77.rlib", &crates));
        assert!(!is_library_of("q6_four_processes-99", &crates), "a binary");
        assert!(!is_library_of("libcommon.d", &crates));
    }
}
