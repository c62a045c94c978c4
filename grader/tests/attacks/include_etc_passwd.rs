// A compile error that quotes a host file anyone may read.
compile_error!(include_str!("/etc/passwd"));

fn main() {}
