//! A hostile submission that probes its sandbox and prints, one line each,
//! what the kernel answered: writing where the grader may (its working
//! directory, its workspace, $HOME, /tmp), reading the grader's registry
//! (the expected answers), the network (a port on the host's loopback that
//! the test listens on, given as the first argument), a 3 GiB allocation,
//! and its view of the processes of the machine.

use std::io::Write;

/// The grader's workspace on the machine where this fixture was built.
const WORKSPACE: &str = env!("CARGO_MANIFEST_DIR");

fn attempt(what: &str, result: std::io::Result<impl std::fmt::Debug>) {
    match result {
        Ok(_) => println!("{what}: done"),
        Err(e) => println!("{what}: refused ({})", e.kind()),
    }
}

fn main() {
    let mark = format!("sandbox-escape-{}", std::process::id());
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
    attempt(
        "listen on TCP",
        std::net::TcpListener::bind("0.0.0.0:0").and_then(|l| l.local_addr()),
    );
    let port = std::env::args().nth(1).unwrap_or_else(|| "1".to_owned());
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
}
