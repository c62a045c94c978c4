// A compile error that quotes the instructor's registry: the hidden runs,
// the expected answers. (@WORKSPACE@ is the instructor's workspace, put in
// by the test.)
compile_error!(include_str!("@WORKSPACE@/grader/src/exercises.rs"));

fn main() {}
