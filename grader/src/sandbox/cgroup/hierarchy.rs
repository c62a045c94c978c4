//! Where a controller is: which cgroup hierarchy has it mounted (v1, a
//! hierarchy per controller, or v2, the unified one), and which group of it
//! this process is in, read from `/proc/self/mountinfo` and
//! `/proc/self/cgroup`.

use std::fs;
use std::path::{Path, PathBuf};

/// A cgroup version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    /// A hierarchy per controller (or a few together).
    V1,
    /// The unified hierarchy.
    V2,
}

/// A process's group in a hierarchy that has a given controller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    /// Its version.
    pub version: Version,
    /// Its directory.
    pub dir: PathBuf,
}

/// A cgroup file system mounted here: its version, where, which part of
/// the hierarchy it shows, and (v1) its controllers.
#[derive(Debug, Clone)]
struct Mount {
    version: Version,
    root: String,
    point: PathBuf,
    controllers: Vec<String>,
}

/// The cgroup file systems of `mountinfo`.
fn mounts(mountinfo: &str) -> Vec<Mount> {
    mountinfo
        .lines()
        .filter_map(|line| {
            let (left, right) = line.split_once(" - ")?;
            let left: Vec<&str> = left.split(' ').collect();
            let right: Vec<&str> = right.split(' ').collect();
            let version = match *right.first()? {
                "cgroup" => Version::V1,
                "cgroup2" => Version::V2,
                _ => return None,
            };
            Some(Mount {
                version,
                root: unescape(left.get(3)?),
                point: PathBuf::from(unescape(left.get(4)?)),
                controllers: right
                    .get(2)
                    .map(|o| o.split(',').map(str::to_owned).collect())
                    .unwrap_or_default(),
            })
        })
        .collect()
}

/// A `mountinfo` path with its octal escapes (`\040` for a space) undone.
fn unescape(field: &str) -> String {
    let mut out = Vec::new();
    let bytes = field.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\'
            && let Some(code) = field
                .get(i + 1..i + 4)
                .and_then(|o| u8::from_str_radix(o, 8).ok())
        {
            out.push(code);
            i += 4;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// This process's group in the hierarchy that has `controller`, as the
/// tables `mountinfo` and `cgroup` (of `/proc/self`) say; `None` when no
/// mounted hierarchy offers it to this group.
pub fn find(controller: &str, mountinfo: &str, cgroup: &str) -> Option<Group> {
    let mounts = mounts(mountinfo);
    // A controller bound to a v1 hierarchy is in no other.
    for line in cgroup.lines() {
        let mut fields = line.splitn(3, ':');
        let (_, names, path) = (fields.next()?, fields.next()?, fields.next()?);
        if names.split(',').any(|n| n == controller)
            && let Some(mount) = mounts
                .iter()
                .find(|m| m.version == Version::V1 && m.controllers.iter().any(|c| c == controller))
        {
            return under(mount, path).map(|dir| Group {
                version: Version::V1,
                dir,
            });
        }
    }
    let path = cgroup.lines().find_map(|l| l.strip_prefix("0::"))?;
    let mount = mounts.iter().find(|m| m.version == Version::V2)?;
    let dir = under(mount, path)?;
    let offered = fs::read_to_string(dir.join("cgroup.controllers")).ok()?;
    offered
        .split_whitespace()
        .any(|c| c == controller)
        .then_some(Group {
            version: Version::V2,
            dir,
        })
}

/// Where group `path` (as `/proc/self/cgroup` names it) is under `mount`,
/// which may show only part of the hierarchy.
fn under(mount: &Mount, path: &str) -> Option<PathBuf> {
    let relative = Path::new(path).strip_prefix(&mount.root).ok()?;
    let dir = mount.point.join(relative);
    dir.is_dir().then_some(dir)
}

/// This process's group that has `controller`.
pub fn own(controller: &str) -> Option<Group> {
    let mountinfo = fs::read_to_string("/proc/self/mountinfo").ok()?;
    let cgroup = fs::read_to_string("/proc/self/cgroup").ok()?;
    find(controller, &mountinfo, &cgroup)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fake machine: cgroup file systems "mounted" under a temporary
    /// directory, as `mountinfo` lines.
    fn machine(lines: &[(&str, &str, &str)]) -> (tempfile::TempDir, String) {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut mountinfo = String::new();
        for (i, (root, point, kind)) in lines.iter().enumerate() {
            let point = dir.path().join(point);
            fs::create_dir_all(&point).expect("mkdir");
            mountinfo.push_str(&format!(
                "{i} 1 0:{i} {root} {} rw,relatime - {kind}\n",
                point.display()
            ));
        }
        (dir, mountinfo)
    }

    #[test]
    fn a_v1_controller_is_found_in_its_own_hierarchy() {
        let (dir, mountinfo) = machine(&[
            ("/", "memory", "cgroup cgroup rw,memory"),
            ("/", "pids", "cgroup cgroup rw,pids"),
            ("/", "unified", "cgroup2 cgroup2 rw"),
        ]);
        fs::create_dir_all(dir.path().join("memory/job/7")).expect("mkdir");
        let cgroup = "8:pids:/\n4:memory:/job/7\n0::/\n";
        let found = find("memory", &mountinfo, cgroup).expect("memory is mounted");
        assert_eq!(found.version, Version::V1);
        assert_eq!(found.dir, dir.path().join("memory/job/7"));
        assert_eq!(
            find("pids", &mountinfo, cgroup).map(|g| g.dir),
            Some(dir.path().join("pids/"))
        );
    }

    #[test]
    fn a_v2_controller_must_be_offered_to_the_group() {
        let (dir, mountinfo) = machine(&[("/", "", "cgroup2 cgroup2 rw")]);
        let own = dir.path().join("user.slice/grader");
        fs::create_dir_all(&own).expect("mkdir");
        fs::write(own.join("cgroup.controllers"), "cpu memory pids\n").expect("write");
        let cgroup = "0::/user.slice/grader\n";
        let found = find("pids", &mountinfo, cgroup).expect("offered");
        assert_eq!((found.version, found.dir), (Version::V2, own));
        assert_eq!(find("hugetlb", &mountinfo, cgroup), None, "not offered");
    }

    #[test]
    fn a_mount_showing_part_of_the_hierarchy_is_followed() {
        let (dir, mountinfo) = machine(&[("/ci", "", "cgroup2 cgroup2 rw")]);
        fs::create_dir_all(dir.path().join("job")).expect("mkdir");
        fs::write(dir.path().join("job/cgroup.controllers"), "memory\n").expect("write");
        assert_eq!(
            find("memory", &mountinfo, "0::/ci/job\n").map(|g| g.dir),
            Some(dir.path().join("job"))
        );
        assert_eq!(find("memory", &mountinfo, "0::/elsewhere\n"), None);
    }

    #[test]
    fn escaped_paths_are_read() {
        assert_eq!(unescape(r"/a\040b"), "/a b");
        assert_eq!(unescape(r"/plain"), "/plain");
    }
}
