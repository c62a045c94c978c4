// A module read from a host file, whose parse errors would quote it.
#[path = "/etc/passwd"]
mod passwd;

fn main() {}
