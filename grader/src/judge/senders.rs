//! Who sent the bytes of stdout and stderr, by the kernel's account (the
//! credentials each read of the grader's end carries): every byte must come
//! from a process of the run. A byte sent by any other process (one the run
//! handed its output to, through a socket of its own) could not be
//! attributed, and fails the output. Checked where the run was traced, since
//! only the tracer knows every process of the run.

use nix::unistd::Pid;

use crate::observe::{Captured, Observation};

/// What is wrong with who sent the run's output, if anything.
pub(super) fn strangers(seen: &Observation) -> Option<String> {
    let events = seen.traced.as_ref().ok()?;
    let ours = |pid: Pid| pid == seen.main || events.process(pid).is_some();
    let mut problems = Vec::new();
    for (name, stream) in [("stdout", &seen.stdout), ("stderr", &seen.stderr)] {
        if let Some(problem) = stream_strangers(name, stream, ours) {
            problems.push(problem);
        }
    }
    (!problems.is_empty()).then(|| problems.join("; "))
}

fn stream_strangers(name: &str, stream: &Captured, ours: impl Fn(Pid) -> bool) -> Option<String> {
    let mut bytes = 0u64;
    let mut senders: Vec<Pid> = Vec::new();
    for wrote in stream.writers.iter().filter(|w| !ours(w.pid)) {
        bytes += wrote.bytes;
        if !senders.contains(&wrote.pid) {
            senders.push(wrote.pid);
        }
    }
    if senders.is_empty() {
        return None;
    }
    let who: Vec<String> = senders
        .iter()
        .map(|pid| match pid.as_raw() {
            0 => "a process outside the grader's view".to_owned(),
            n => format!("process {n}"),
        })
        .collect();
    Some(format!(
        "the output could not be attributed: {bytes} bytes of {name} were sent by {}, which \
         is not a process of the run",
        who.join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::observe::Wrote;

    fn stream(writers: &[(i32, u64)]) -> Captured {
        Captured {
            writers: writers
                .iter()
                .map(|&(pid, bytes)| Wrote {
                    pid: Pid::from_raw(pid),
                    bytes,
                })
                .collect(),
            ..Captured::default()
        }
    }

    #[test]
    fn bytes_of_a_process_outside_the_run_are_named_with_their_count() {
        let ours = |pid: Pid| [10, 11].contains(&pid.as_raw());
        assert_eq!(
            stream_strangers("stderr", &stream(&[(10, 5), (11, 3)]), ours),
            None
        );
        let problem = stream_strangers(
            "stderr",
            &stream(&[(10, 5), (99, 3), (0, 2), (99, 1)]),
            ours,
        )
        .expect("strangers found");
        assert_eq!(
            problem,
            "the output could not be attributed: 6 bytes of stderr were sent by process 99, a \
             process outside the grader's view, which is not a process of the run"
        );
    }
}
