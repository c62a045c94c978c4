//! What `ptrace` reports of the reference solutions, and the fallback when
//! tracing is turned off.

use assert_cmd::Command;
use grader::PTRACE_ENV;
use grader::observe::Ending;
use grader::{StartMethod, exercises, observe};

/// Every reference run, under both start methods: the kernel saw exactly
/// the run's child processes, each a child of the main process, each ending
/// with code 0, each re-executing the binary under spawn and never under
/// fork, and no thread of the main process passed for a child.
#[test]
fn the_kernel_sees_each_reference_child_process() {
    for id in ["q3", "q5", "q6"] {
        let exercise = exercises::find(id).expect("registered");
        let binary = crate::binaries().get(exercise.package).expect("built");
        for method in [StartMethod::Fork, StartMethod::Spawn] {
            for mut run in (exercise.runs)() {
                run.start_method = method;
                let seen = observe::observe(binary, &run).expect("observed");
                let events = seen.traced.as_ref().expect("tracing is permitted here");
                let children: Vec<_> = events.children_of(seen.main).collect();
                let what = format!("{id} {:?} under {method}", run.args);
                assert_eq!(children.len(), run.children(), "{what}: {events:?}");
                assert_eq!(
                    events.processes.len(),
                    run.children(),
                    "{what}: no grandchildren"
                );
                for child in children {
                    assert_eq!(child.exit, Some(Ending::Exited(0)), "{what}: {child:?}");
                    assert_eq!(
                        child.exec,
                        method == StartMethod::Spawn,
                        "{what}: {child:?}"
                    );
                }
                let checked_in: Vec<_> = seen.checkins.iter().map(|c| c.pid).collect();
                for pid in checked_in {
                    assert!(events.process(pid).is_some(), "{what}: {pid} was created");
                }
            }
        }
    }
}

/// With tracing off, the grader still grades, says in the report that its
/// evidence is weaker, and still tells threads from processes.
#[test]
fn without_tracing_the_report_says_so() {
    let grade = |fixture: &str| {
        let output = Command::cargo_bin("grader")
            .expect("the grader is built")
            .env(PTRACE_ENV, "off")
            .arg("--binary")
            .arg(crate::binaries().get(fixture).expect("built"))
            .args(["--exercise", "q6"])
            .output()
            .expect("runs");
        (
            output.status.code(),
            String::from_utf8_lossy(&output.stdout).into_owned(),
        )
    };
    let (code, report) = grade("q6-four-processes");
    assert_eq!(code, Some(0), "{report}");
    assert!(
        report.contains("the kernel could not trace the program (GRADER_PTRACE=off)"),
        "{report}"
    );
    let (code, report) = grade("wrong_q6_threads");
    assert_eq!(code, Some(1), "{report}");
    assert!(
        report.contains("expected 4 child processes of the main process, the kernel saw 0"),
        "{report}"
    );
}
