//! Limits for a build: its control groups and its own network namespace.

use std::ffi::CString;

use super::cgroup::Cgroups;
use super::limits::{TASK_CAP, parse_size, run_name};
use super::plan::path_c;

/// The memory cap of a build (cargo, rustc, build scripts and proc
/// macros together), such as `4G`; 4 GiB by default. Larger than a run's:
/// the compiler needs more than the programs it builds.
pub const BUILD_MEMORY_ENV: &str = "GRADER_BUILD_MEMORY";

/// Limits for a build: its control groups, and a hook that puts the
/// process about to `exec` cargo into them and into a network namespace
/// of its own, so that build scripts and proc macros reach no network.
#[derive(Debug)]
pub struct BuildLimits {
    /// The build's groups, held so that they are removed when dropped.
    _cgroups: Cgroups,
    procs: Vec<CString>,
}

impl BuildLimits {
    /// Makes the build's groups ([`BUILD_MEMORY_ENV`], and tasks).
    pub fn new() -> BuildLimits {
        let memory = std::env::var(BUILD_MEMORY_ENV)
            .ok()
            .and_then(|v| parse_size(&v))
            .unwrap_or(4 << 30);
        let cgroups = Cgroups::create(&format!("{}-build", run_name()), memory, 4 * TASK_CAP);
        let procs = cgroups.procs_files().iter().map(|p| path_c(p)).collect();
        BuildLimits {
            _cgroups: cgroups,
            procs,
        }
    }

    /// What to run between `fork` and `exec` of cargo: joins the groups
    /// (by writing `0`, this process, to each `cgroup.procs`) and leaves
    /// the network. Failures leave that layer out; the build goes on.
    pub fn entry(&self) -> impl FnMut() -> std::io::Result<()> + Send + Sync + 'static {
        let procs = self.procs.clone();
        move || {
            for procs in &procs {
                // SAFETY: open, write and close of a C string made before
                // the fork; async-signal-safe.
                unsafe {
                    let fd = libc::open(procs.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
                    if fd >= 0 {
                        libc::write(fd, b"0".as_ptr().cast(), 1);
                        libc::close(fd);
                    }
                }
            }
            // SAFETY: one system call on this process.
            unsafe {
                libc::unshare(libc::CLONE_NEWNET);
            }
            Ok(())
        }
    }
}

impl BuildLimits {
    /// Makes `command` (cargo or rustc) enter these limits between its
    /// `fork` and `exec`.
    pub fn apply(&self, command: &mut std::process::Command) {
        use std::os::unix::process::CommandExt;
        // SAFETY: the entry makes only async-signal-safe system calls on
        // data prepared before the fork.
        unsafe {
            command.pre_exec(self.entry());
        }
    }
}

impl Default for BuildLimits {
    fn default() -> BuildLimits {
        BuildLimits::new()
    }
}
