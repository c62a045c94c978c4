// A compile error that quotes a file only the instructor may read.
// (@SECRET@ is its path, put in by the test.)
compile_error!(include_str!("@SECRET@"));

fn main() {}
