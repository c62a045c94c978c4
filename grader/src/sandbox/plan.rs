//! What a sandbox is asked to run ([`Spec`], in `spec.rs`) worked out
//! before the `clone` ([`Plan`]): the C strings of the program's path,
//! arguments and environment, the steps of its root, its filters and limits
//! (the children of `clone` may not allocate).

use std::ffi::CString;
use std::path::{Path, PathBuf};

use super::identity::Identity;
use super::root::{self, Step};
use super::seccomp;
use super::spec::{Caps, Program, Spec, cstring, path_c};

/// Everything the children of `clone` need, made before it.
#[derive(Debug)]
pub(super) struct Plan {
    /// The steps that build the root; empty without namespaces.
    pub(super) steps: Vec<Step>,
    pub(super) exec: CString,
    pub(super) argv: Vec<CString>,
    pub(super) envp: Vec<CString>,
    /// The seccomp filters, installed in this order.
    pub(super) filters: Vec<seccompiler::BpfProgram>,
    pub(super) caps: Caps,
    /// Whether `RLIMIT_NPROC` caps the program's tasks: only for a uid of
    /// the run's own, which no other process counts against.
    pub(super) nproc: bool,
    /// The uid and gid the program drops to before `exec`.
    pub(super) drop_to: Option<(u32, u32)>,
    /// Where the grader's command line and environment are in memory,
    /// which the init blanks in its copy (its `/proc/1/cmdline` is
    /// readable inside).
    pub(super) scrub: [(usize, usize); 2],
    /// Whether the init makes a cgroup namespace of its own, once the
    /// grader has put it in the run's groups.
    pub(super) cgroup_namespace: bool,
}

impl Spec<'_> {
    /// `value` with the inside paths of the binds made host paths, for a
    /// program that runs without a root of its own: each bind's inside
    /// path where a path starts (at the beginning, after `=` or `:`).
    fn outside(&self, value: &str) -> String {
        let mut out = value.to_owned();
        for bind in &self.binds {
            let inside = bind.inside.display().to_string();
            let host = bind.host.display().to_string();
            let mut rewritten = String::new();
            let mut rest = out.as_str();
            let mut at_start = true;
            while !rest.is_empty() {
                if at_start && rest.starts_with(&inside) {
                    rewritten.push_str(&host);
                    rest = &rest[inside.len()..];
                    at_start = false;
                    continue;
                }
                let c = rest.chars().next().expect("not empty");
                rewritten.push(c);
                at_start = matches!(c, '=' | ':');
                rest = &rest[c.len_utf8()..];
            }
            out = rewritten;
        }
        out
    }
}

impl Plan {
    /// The plan of `spec` for `identity`: with its root built at `root`
    /// (a host directory) and a check-in socket inside it, or without
    /// namespaces (`None`), its check-in socket at `checkin` on the host.
    pub(super) fn new(
        spec: &Spec<'_>,
        root: Option<&Path>,
        identity: Option<Identity>,
        checkin: Option<&Path>,
    ) -> Plan {
        let inside = root.is_some();
        let host = |value: &str| {
            if inside {
                value.to_owned()
            } else {
                spec.outside(value)
            }
        };
        let exec = match (&spec.program, root) {
            (Program::Copy(_), Some(_)) => Path::new("/run/exercise").join(spec.name()),
            (Program::Copy(path), None) => path.to_path_buf(),
            (Program::Inside(path), _) => PathBuf::from(host(&path.display().to_string())),
        };
        let mut env: Vec<(String, String)> = vec![
            ("PATH".into(), host(spec.path)),
            ("HOME".into(), "/tmp".into()),
            ("LANG".into(), "C.UTF-8".into()),
            ("TMPDIR".into(), "/tmp".into()),
        ];
        env.extend(spec.env.iter().map(|(k, v)| (k.clone(), host(v))));
        if let (Some(name), Some(socket)) = (spec.checkin, checkin) {
            env.push((name.to_owned(), socket.display().to_string()));
        }
        let mut argv = vec![path_c(&exec)];
        argv.extend(spec.args.iter().map(|a| cstring(host(a))));
        Plan {
            steps: root.map_or_else(Vec::new, |root| root::steps(spec, root)),
            exec: path_c(&exec),
            argv,
            envp: env
                .iter()
                .map(|(k, v)| cstring(format!("{k}={v}")))
                .collect(),
            filters: seccomp::filters(spec.traced, spec.stops),
            caps: spec.caps,
            nproc: identity.is_some(),
            drop_to: identity.and_then(Identity::drop_to),
            scrub: scrub_ranges(),
            cgroup_namespace: inside,
        }
    }
}

/// Where this process's command line and environment strings are, from
/// `/proc/self/stat` (fields 48 to 51); empty ranges when unknown.
fn scrub_ranges() -> [(usize, usize); 2] {
    use std::sync::OnceLock;
    static RANGES: OnceLock<[(usize, usize); 2]> = OnceLock::new();
    *RANGES.get_or_init(|| {
        let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
        // The name (field 2) may hold spaces; fields are counted after it.
        let after = stat.rsplit_once(") ").map_or("", |(_, rest)| rest);
        let field = |n: usize| -> usize {
            after
                .split_whitespace()
                .nth(n - 3)
                .and_then(|f| f.parse().ok())
                .unwrap_or(0)
        };
        let range = |start: usize, end: usize| (start, end.saturating_sub(start));
        [range(field(48), field(49)), range(field(50), field(51))]
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sandbox::spec::Bind;

    fn spec(binds: Vec<Bind>) -> Spec<'static> {
        let (read, write) = nix::unistd::pipe().expect("a pipe");
        Spec {
            program: Program::Inside(PathBuf::from("/toolchain/bin/rustc")),
            args: &[],
            env: Vec::new(),
            path: "/toolchain/bin:/usr/bin",
            binds,
            etc: false,
            proc: false,
            checkin: None,
            stdout: read,
            stderr: write,
            traced: false,
            stops: seccomp::Stops::default(),
            caps: Caps {
                memory: 1,
                tasks: 1,
                file_size: 1,
            },
        }
    }

    #[test]
    fn without_a_root_inside_paths_become_host_paths() {
        let spec = spec(vec![
            Bind {
                host: PathBuf::from("/home/me/.rustup/toolchain"),
                inside: PathBuf::from("/toolchain"),
                writable: false,
            },
            Bind {
                host: PathBuf::from("/tmp/sub/deps"),
                inside: PathBuf::from("/deps"),
                writable: false,
            },
        ]);
        assert_eq!(
            spec.outside("/toolchain/bin:/usr/bin"),
            "/home/me/.rustup/toolchain/bin:/usr/bin"
        );
        assert_eq!(
            spec.outside("common=/deps/libcommon.rlib"),
            "common=/tmp/sub/deps/libcommon.rlib"
        );
        assert_eq!(spec.outside("/src/deps"), "/src/deps", "only at a start");
    }

    #[test]
    fn the_grader_knows_where_its_command_line_is() {
        let [(args, args_len), (env, env_len)] = scrub_ranges();
        assert!(args > 0 && args_len > 0 && env > 0, "{args} {env}");
        // SAFETY: the range is this process's argument area, which the
        // kernel keeps mapped for the process's life; read only.
        let bytes = unsafe { std::slice::from_raw_parts(args as *const u8, args_len) };
        let first = std::env::args().next().expect("argv[0]");
        assert!(bytes.starts_with(first.as_bytes()), "{bytes:?}");
        assert!(env_len > 0);
    }
}
