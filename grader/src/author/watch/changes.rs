//! What wakes the loop: the directories watched, the kernel's events that
//! can change what a source file holds, and a fingerprint of the sources'
//! contents to compare with those last graded (see the module above).

use std::collections::BTreeMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::{Component, Path, PathBuf};
use std::sync::mpsc::Sender;

use notify::event::{EventKind, ModifyKind};
use notify::{RecursiveMode, Watcher};

use super::Wake;
use crate::error::Error;
use crate::exercises::Exercise;

/// The directories watched: each chosen exercise's and `common`'s.
pub(super) fn watched(workspace: &Path, chosen: &[&Exercise]) -> Vec<PathBuf> {
    chosen
        .iter()
        .map(|e| e.package)
        .chain(["common"])
        .map(|dir| workspace.join(dir))
        .filter(|dir| dir.is_dir())
        .collect()
}

/// Starts watching `dirs` of the workspace at `workspace`; each change to
/// a source file's contents is sent to `wake`.
pub(super) fn watch(
    workspace: &Path,
    dirs: &[PathBuf],
    wake: Sender<Wake>,
) -> Result<notify::RecommendedWatcher, Error> {
    let failed = |e: notify::Error| Error::io("watch the sources", std::io::Error::other(e));
    let root = workspace.to_path_buf();
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        let Ok(event) = event else { return };
        if !changes_contents(event.kind) {
            return;
        }
        let paths: Vec<PathBuf> = event
            .paths
            .into_iter()
            .filter(|p| p.strip_prefix(&root).is_ok_and(is_source))
            .collect();
        if !paths.is_empty() {
            let _ = wake.send(Wake::Changed(paths));
        }
    })
    .map_err(failed)?;
    for dir in dirs {
        watcher
            .watch(dir, RecursiveMode::Recursive)
            .map_err(failed)?;
    }
    Ok(watcher)
}

/// Whether an event of this kind can change what a file holds: a file
/// made, removed, renamed or written; not opened, read, closed, or its
/// metadata changed.
pub(super) fn changes_contents(kind: EventKind) -> bool {
    matches!(
        kind,
        EventKind::Create(_)
            | EventKind::Remove(_)
            | EventKind::Modify(ModifyKind::Data(_) | ModifyKind::Name(_) | ModifyKind::Any)
    )
}

/// Whether `path` (relative to the workspace) is a source file: a `.rs`
/// file or a `Cargo.toml`, in no hidden directory nor `target/`, and not
/// itself hidden (an editor's swap file) or a backup (`~`).
pub(super) fn is_source(path: &Path) -> bool {
    let hidden = path.components().any(|c| {
        matches!(c, Component::Normal(name)
            if name.to_string_lossy().starts_with('.') || name == "target")
    });
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    !hidden && !name.ends_with('~') && (name.ends_with(".rs") || name == "Cargo.toml")
}

/// What the source files under `dirs` of the workspace at `workspace`
/// hold: each one's path and a hash of its contents.
pub(super) fn fingerprint(workspace: &Path, dirs: &[PathBuf]) -> BTreeMap<PathBuf, u64> {
    fn walk(workspace: &Path, dir: &Path, into: &mut BTreeMap<PathBuf, u64>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let source = path.strip_prefix(workspace).is_ok_and(is_source);
            match entry.file_type() {
                Ok(kind) if kind.is_dir() && is_source_dir(&path) => walk(workspace, &path, into),
                Ok(kind) if kind.is_file() && source => {
                    let mut hasher = DefaultHasher::new();
                    std::fs::read(&path).unwrap_or_default().hash(&mut hasher);
                    into.insert(path, hasher.finish());
                }
                _ => {}
            }
        }
    }
    let mut sources = BTreeMap::new();
    for dir in dirs {
        walk(workspace, dir, &mut sources);
    }
    sources
}

pub(super) fn is_source_dir(path: &Path) -> bool {
    path.file_name()
        .is_some_and(|n| !n.to_string_lossy().starts_with('.') && n != "target")
}

/// The exercise whose directory holds `path`.
pub(super) fn exercise_of(
    workspace: &Path,
    chosen: &[&Exercise],
    path: &Path,
) -> Option<&'static str> {
    let inside = path.strip_prefix(workspace).ok()?;
    chosen
        .iter()
        .find(|e| inside.starts_with(e.package))
        .map(|e| e.id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_source_files_count() {
        for path in [
            "q6-four-processes/src/main.rs",
            "common/Cargo.toml",
            "common/src/pool/mod.rs",
        ] {
            assert!(is_source(Path::new(path)), "{path}");
        }
        for path in [
            "q6-four-processes/src/.main.rs.swp",
            "q6-four-processes/src/main.rs~",
            "q6-four-processes/target/debug/build/x.rs",
            "common/.git/index",
            "q6-four-processes/src/notes.txt",
        ] {
            assert!(!is_source(Path::new(path)), "{path}");
        }
    }

    #[test]
    fn reading_a_file_is_no_change() {
        use notify::event::{AccessKind, AccessMode, CreateKind, DataChange, MetadataKind};
        assert!(!changes_contents(EventKind::Access(AccessKind::Open(
            AccessMode::Any
        ))));
        assert!(!changes_contents(EventKind::Access(AccessKind::Close(
            AccessMode::Read
        ))));
        assert!(!changes_contents(EventKind::Modify(ModifyKind::Metadata(
            MetadataKind::Any
        ))));
        assert!(changes_contents(EventKind::Modify(ModifyKind::Data(
            DataChange::Any
        ))));
        assert!(changes_contents(EventKind::Create(CreateKind::File)));
    }
}
