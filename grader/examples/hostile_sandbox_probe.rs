//! A hostile submission that probes its sandbox and prints, one line each,
//! what the kernel answered: writing where the grader may (its working
//! directory, its workspace, $HOME, /tmp), reading the grader's registry
//! (the expected answers) and root-only files, the network (a port on the
//! host's loopback that the test listens on, given as the first argument),
//! a 3 GiB allocation, its view of the processes of the machine, who it
//! is, and what `/proc` tells of the host: the init's command line and
//! memory, the mounts, the control groups, the environment.

use std::io::{Read, Write};

/// The grader's workspace on the machine where this fixture was built.
const WORKSPACE: &str = env!("CARGO_MANIFEST_DIR");

fn attempt(what: &str, result: std::io::Result<impl std::fmt::Debug>) {
    match result {
        Ok(_) => println!("{what}: done"),
        Err(e) => println!("{what}: refused ({})", e.kind()),
    }
}

/// A file's text with NULs as spaces and newlines as ` | `, or why not.
fn shown(path: &str) -> String {
    match std::fs::read(path) {
        Ok(bytes) => String::from_utf8_lossy(&bytes)
            .replace('\0', " ")
            .trim()
            .replace('\n', " | "),
        Err(e) => format!("refused ({})", e.kind()),
    }
}

fn main() {
    // Named for the test that runs it (by its port), so that what another
    // run left cannot be taken for this one's.
    let port = std::env::args().nth(1).unwrap_or_else(|| "1".to_owned());
    let mark = format!("sandbox-escape-{port}");
    for dir in [
        ".".to_owned(),
        WORKSPACE.to_owned(),
        "/root".to_owned(),
        "/usr".to_owned(),
        "/tmp".to_owned(),
    ] {
        let path = format!("{dir}/{mark}");
        attempt(
            &format!("write {dir}"),
            std::fs::File::create(&path).and_then(|mut f| f.write_all(b"x")),
        );
    }
    attempt(
        "read the registry",
        std::fs::read_to_string(format!("{WORKSPACE}/src/exercises.rs")),
    );
    attempt("read /etc/shadow", std::fs::read("/etc/shadow"));
    attempt(
        "read the init's environment",
        std::fs::read("/proc/1/environ"),
    );
    attempt(
        "read the init's memory",
        std::fs::File::open("/proc/1/mem").and_then(|mut m| m.read(&mut [0u8; 1])),
    );
    attempt(
        "listen on TCP",
        std::net::TcpListener::bind("0.0.0.0:0").and_then(|l| l.local_addr()),
    );
    attempt(
        "connect to the host's port",
        std::net::TcpStream::connect(format!("127.0.0.1:{port}")),
    );
    let mut big: Vec<u8> = Vec::new();
    match big.try_reserve_exact(3 << 30) {
        Ok(()) => println!("allocate 3 GiB: done"),
        Err(_) => println!("allocate 3 GiB: refused"),
    }
    let processes = std::fs::read_dir("/proc")
        .map(|d| {
            d.flatten()
                .filter(|e| e.file_name().to_string_lossy().parse::<u32>().is_ok())
                .count()
        })
        .unwrap_or(0);
    println!("processes visible: {processes}");
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    for field in ["Uid:", "Gid:", "Groups:", "CapEff:", "CapBnd:"] {
        let value = status
            .lines()
            .find_map(|l| l.strip_prefix(field))
            .unwrap_or("?");
        println!(
            "{field} {}",
            value.split_whitespace().collect::<Vec<_>>().join(" ")
        );
    }
    println!("hostname: {}", shown("/proc/sys/kernel/hostname"));
    println!("the init's command line: {}", shown("/proc/1/cmdline"));
    println!("cgroups: {}", shown("/proc/self/cgroup"));
    println!("mounts: {}", shown("/proc/self/mountinfo"));
    let names: Vec<String> = std::env::vars().map(|(name, _)| name).collect();
    println!("environment: {}", names.join(" "));
}
