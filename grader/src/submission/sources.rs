//! An exercise's sources, copied out of a submission for its compile
//! sandbox: regular files only, within bounds.
//!
//! The compiler reads what the copy holds and nothing else of the
//! submission, so a symbolic link (to the instructor's reference solution,
//! to a classmate's file, to `/etc/shadow`) can lend it nothing: a link or
//! a special file (a FIFO, a socket, a device) anywhere in the exercise's
//! `src/`, or on the way to it, is refused with a one-line reason naming
//! it, and the exercise does not compile. Files are opened with
//! `O_NOFOLLOW`, so a file swapped for a link while it is copied is refused
//! too. A `src/` larger than [`MAX_BYTES`] or with more than
//! [`MAX_FILES`] files is refused rather than copied.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::Path;

use super::layout::Sources;

/// The most bytes an exercise's `src/` may hold.
pub const MAX_BYTES: u64 = 16 << 20;

/// The most files (and directories) an exercise's `src/` may hold.
pub const MAX_FILES: usize = 1000;

/// How deep directories may nest in an exercise's `src/`.
const MAX_DEPTH: usize = 16;

/// Copies the exercise `package` of the submission whose exercises are
/// under `root`, found there as `found` says, into `into/src`: its
/// `package/src`, or a loose file as `src/main.rs`; `Err` is the one-line
/// reason it was refused.
pub fn copy(root: &Path, package: &str, found: &Sources, into: &Path) -> Result<(), String> {
    if found.main == found.dir.join("src/main.rs") {
        return copy_src(root, package, into);
    }
    let mut walk = Walk {
        submission: root,
        bytes: 0,
        files: 0,
    };
    let loose = found.main.strip_prefix(root).unwrap_or(&found.main);
    let src = into.join("src");
    std::fs::create_dir_all(&src).map_err(|e| format!("cannot copy the sources: {e}"))?;
    walk.file(loose, &src.join("main.rs"))
}

/// Copies `package/src` of the submission at `submission` into
/// `into/src`; `Err` is the one-line reason it was refused.
fn copy_src(submission: &Path, package: &str, into: &Path) -> Result<(), String> {
    let mut walk = Walk {
        submission,
        bytes: 0,
        files: 0,
    };
    for part in [Path::new(package), &Path::new(package).join("src")] {
        match std::fs::symlink_metadata(submission.join(part)) {
            Ok(meta) if meta.is_dir() => {}
            Ok(meta) => return Err(walk.refuse(part, &meta.file_type())),
            Err(_) => return Err(format!("the submission has no {}/", part.display())),
        }
    }
    let src = Path::new(package).join("src");
    walk.dir(&src, &into.join("src"), 0)
}

/// A copy in progress, counting what it copied.
struct Walk<'a> {
    submission: &'a Path,
    bytes: u64,
    files: usize,
}

impl Walk<'_> {
    /// The reason `relative`, of kind `kind`, is refused.
    fn refuse(&self, relative: &Path, kind: &std::fs::FileType) -> String {
        let what = if kind.is_symlink() {
            "a symbolic link"
        } else if kind.is_fifo() {
            "a FIFO"
        } else if kind.is_socket() {
            "a socket"
        } else if kind.is_block_device() || kind.is_char_device() {
            "a device"
        } else if kind.is_file() {
            "a file where a directory belongs"
        } else {
            "not a regular file"
        };
        format!(
            "{} is {what}; a submission's sources may be regular files and directories only",
            relative.display()
        )
    }

    /// Copies directory `relative` (of the submission) to `to`.
    fn dir(&mut self, relative: &Path, to: &Path, depth: usize) -> Result<(), String> {
        if depth > MAX_DEPTH {
            return Err(format!(
                "{} nests directories more than {MAX_DEPTH} deep",
                relative.display()
            ));
        }
        std::fs::create_dir_all(to).map_err(|e| format!("cannot copy the sources: {e}"))?;
        let entries = std::fs::read_dir(self.submission.join(relative))
            .map_err(|e| format!("cannot read {}: {e}", relative.display()))?;
        let mut entries: Vec<_> = entries.flatten().collect();
        entries.sort_by_key(std::fs::DirEntry::file_name);
        for entry in entries {
            self.files += 1;
            if self.files > MAX_FILES {
                return Err(format!(
                    "{} holds more than {MAX_FILES} files",
                    relative.display()
                ));
            }
            let path = relative.join(entry.file_name());
            let kind = entry
                .file_type()
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            if kind.is_dir() {
                self.dir(&path, &to.join(entry.file_name()), depth + 1)?;
            } else if kind.is_file() {
                self.file(&path, &to.join(entry.file_name()))?;
            } else {
                return Err(self.refuse(&path, &kind));
            }
        }
        Ok(())
    }

    /// Copies regular file `relative` (of the submission) to `to`.
    fn file(&mut self, relative: &Path, to: &Path) -> Result<(), String> {
        let mut from = OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
            .open(self.submission.join(relative))
            .map_err(|e| match e.raw_os_error() {
                Some(libc::ELOOP) => format!(
                    "{} is a symbolic link; a submission's sources may be regular files and \
                     directories only",
                    relative.display()
                ),
                _ => format!("cannot read {}: {e}", relative.display()),
            })?;
        let meta = from
            .metadata()
            .map_err(|e| format!("cannot read {}: {e}", relative.display()))?;
        if !meta.is_file() {
            return Err(self.refuse(relative, &meta.file_type()));
        }
        let room = MAX_BYTES - self.bytes;
        let mut bytes = Vec::new();
        (&mut from)
            .take(room + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| format!("cannot read {}: {e}", relative.display()))?;
        self.bytes += bytes.len() as u64;
        if self.bytes > MAX_BYTES {
            return Err(format!(
                "the sources hold more than {} MiB (at {})",
                MAX_BYTES >> 20,
                relative.display()
            ));
        }
        File::create(to)
            .and_then(|mut f| f.write_all(&bytes))
            .map_err(|e| format!("cannot copy {}: {e}", relative.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A submission with `q6/src/main.rs`, and `q6/src/extra` made by
    /// `extra` (a file, a link...).
    fn submission(extra: impl FnOnce(&Path)) -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("temp dir");
        let src = dir.path().join("q6/src");
        std::fs::create_dir_all(src.join("deep")).expect("mkdir");
        std::fs::write(src.join("main.rs"), "fn main() {}\n").expect("write");
        std::fs::write(src.join("deep/mod.rs"), "// deep\n").expect("write");
        extra(&src);
        dir
    }

    #[test]
    fn regular_files_are_copied_whole() {
        let from = submission(|_| {});
        let into = tempfile::tempdir().expect("temp dir");
        copy_src(from.path(), "q6", into.path()).expect("copied");
        assert_eq!(
            std::fs::read_to_string(into.path().join("src/main.rs")).expect("read"),
            "fn main() {}\n"
        );
        assert!(into.path().join("src/deep/mod.rs").is_file());
    }

    #[test]
    fn a_link_is_refused_by_name() {
        let from = submission(|src| {
            std::os::unix::fs::symlink("/etc/hostname", src.join("stolen.rs")).expect("link");
        });
        let into = tempfile::tempdir().expect("temp dir");
        let why = copy_src(from.path(), "q6", into.path()).expect_err("refused");
        assert_eq!(
            why,
            "q6/src/stolen.rs is a symbolic link; a submission's sources may be regular files \
             and directories only"
        );
        assert!(!into.path().join("src/stolen.rs").exists());
    }

    #[test]
    fn a_linked_src_directory_and_a_fifo_are_refused() {
        let from = submission(|_| {});
        let src = from.path().join("q6/src");
        std::fs::rename(&src, from.path().join("real")).expect("move");
        std::os::unix::fs::symlink(from.path().join("real"), &src).expect("link");
        let into = tempfile::tempdir().expect("temp dir");
        let why = copy_src(from.path(), "q6", into.path()).expect_err("refused");
        assert!(why.starts_with("q6/src is a symbolic link"), "{why}");

        let from = submission(|src| {
            nix::unistd::mkfifo(&src.join("pipe"), nix::sys::stat::Mode::S_IRWXU).expect("fifo");
        });
        let why = copy_src(from.path(), "q6", into.path()).expect_err("refused");
        assert!(why.starts_with("q6/src/pipe is a FIFO"), "{why}");
    }

    #[test]
    fn too_much_is_refused_rather_than_copied() {
        let from = submission(|src| {
            let big = File::create(src.join("big.txt")).expect("create");
            big.set_len(MAX_BYTES + 1).expect("grow");
        });
        let into = tempfile::tempdir().expect("temp dir");
        let why = copy_src(from.path(), "q6", into.path()).expect_err("refused");
        assert!(
            why.starts_with("the sources hold more than 16 MiB"),
            "{why}"
        );
        assert!(!into.path().join("src/big.txt").exists());
    }

    #[test]
    fn a_loose_file_is_copied_as_main_and_a_loose_link_refused() {
        let from = tempfile::tempdir().expect("temp dir");
        std::fs::write(from.path().join("q6.rs"), "fn main() {}\n").expect("write");
        let found = Sources {
            main: from.path().join("q6.rs"),
            dir: from.path().to_path_buf(),
        };
        let into = tempfile::tempdir().expect("temp dir");
        copy(from.path(), "q6", &found, into.path()).expect("copied");
        assert_eq!(
            std::fs::read_to_string(into.path().join("src/main.rs")).expect("read"),
            "fn main() {}\n"
        );

        std::os::unix::fs::symlink("/etc/hostname", from.path().join("q5.rs")).expect("link");
        let found = Sources {
            main: from.path().join("q5.rs"),
            dir: from.path().to_path_buf(),
        };
        let into = tempfile::tempdir().expect("temp dir");
        let why = copy(from.path(), "q5", &found, into.path()).expect_err("refused");
        assert!(why.starts_with("q5.rs is a symbolic link"), "{why}");
        assert!(!into.path().join("src/main.rs").exists());
    }
}
