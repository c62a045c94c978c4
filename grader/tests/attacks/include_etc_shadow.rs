// A compile error that quotes a root-only host file, if the compiler can
// read it.
compile_error!(include_str!("/etc/shadow"));

fn main() {}
