//! Output is neither lost nor printed twice across a fork.

use crate::support::*;

fork_tests! {
    fn output_is_not_doubled_to_a_pipe() {
        let output = play_as("partial-line-before-fork", std::process::Stdio::piped());
        assert_eq!(
            String::from_utf8_lossy(&output.stdout),
            "partial child\nparent\n"
        );
    }

    fn output_is_not_doubled_to_a_file() {
        let file = tempfile::tempfile().expect("temp file");
        play_as(
            "partial-line-before-fork",
            file.try_clone().expect("clone").into(),
        );
        let mut file: File = file;
        io::Seek::rewind(&mut file).expect("rewind");
        assert_eq!(read_all(file), "partial child\nparent\n");
    }

    /// A child flushes only stdout before it exits: what it wrote to stderr
    /// without a newline, and its panic's message, are not lost.
    fn child_stderr_without_newline_and_panics_are_kept() {
        let output = play_as("child-stderr", std::process::Stdio::piped());
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("child stderr without newline|"), "{stderr}");
        assert!(stderr.contains("the child's own panic"), "{stderr}");
        assert_eq!(String::from_utf8_lossy(&output.stdout), "1\n");
    }

    fn child_output_without_newline_is_kept() {
        let output = play_as("child-without-newline", std::process::Stdio::piped());
        assert_eq!(
            String::from_utf8_lossy(&output.stdout),
            "child without newline\n"
        );
    }
}

fn read_all(mut from: impl Read) -> String {
    let mut text = String::new();
    from.read_to_string(&mut text)
        .expect("the pipe is readable");
    text
}
