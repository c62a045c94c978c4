use grader::{EXERCISES, StartMethod, grade_exercise, grade_exercise_with};

// That each passes every check under the default start method is
// tests/exercises.rs, which a student's `cargo test` runs too.

/// Concurrency and ordering are proven by rendezvous, not timing, so grading
/// the same solution many times gives the same verdict every time.
#[test]
fn reference_q6_passes_twenty_times_in_a_row() {
    let exercise = grader::exercises::find("q6").expect("q6 is registered");
    let binary = crate::binaries().get(exercise.package).expect("built");
    for attempt in 0..20 {
        let report = grade_exercise(exercise, binary).expect("graded");
        if let Err(failure) = report.runs[0].try_pass() {
            panic!("attempt {attempt} failed:\n{failure}");
        }
    }
}

/// Under spawn every process starts as a fresh run of the binary; the
/// exercises pass all the same.
#[test]
fn every_reference_solution_passes_under_spawn() {
    for exercise in EXERCISES {
        let binary = crate::binaries().get(exercise.package).expect("built");
        let report = grade_exercise_with(exercise, binary, &[StartMethod::Spawn]).expect("graded");
        for run in &report.runs {
            run.assert_pass();
            assert!(
                run.command.starts_with("COMMON_START_METHOD=spawn"),
                "{}: {}",
                exercise.id,
                run.command
            );
        }
    }
}

/// Grades `fixture`, a right solution of exercise `id` written in another
/// style than the reference, under every start method: every check of
/// every run passes.
fn passes_under_every_start_method(id: &str, fixture: &str) {
    let exercise = grader::exercises::find(id).expect("registered");
    let binary = crate::binaries().get(fixture).expect("fixture built");
    let methods = [
        StartMethod::Fork,
        StartMethod::Spawn,
        StartMethod::Forkserver,
    ];
    let report = grade_exercise_with(exercise, binary, &methods).expect("graded");
    assert_eq!(report.runs.len(), methods.len() * (exercise.runs)().len());
    for run in &report.runs {
        run.assert_pass();
    }
}

/// A second right Q9, written in another style than the reference (an
/// untyped connection, a named child), gets full marks under every start
/// method: the data check asks for what crossed, not for how the code is
/// written.
#[test]
fn another_right_q9_passes_under_every_start_method() {
    passes_under_every_start_method("q9", "right_q9_untyped");
}

/// A right Q8 in another style (a second shared value, the lock taken in a
/// helper function) gets full marks under every start method, in every
/// run: the grader watches the first two values a process maps.
#[test]
fn another_right_q8_passes_under_every_start_method() {
    passes_under_every_start_method("q8", "right_q8_two_values");
}

/// A right Q7 in another style (the consumer started first, named
/// processes, `i64` items) gets full marks under every start method: the
/// producer's process moved the queue's tail past every value consumed.
#[test]
fn another_right_q7_passes_under_every_start_method() {
    passes_under_every_start_method("q7", "right_q7_builder");
}

/// A right Q11 that sends the end marks and joins its workers before it
/// takes a square out gets full marks under every start method: no worker
/// shares the queue when the squares are printed, but each square was put
/// in by a worker.
#[test]
fn a_right_q11_that_ends_its_workers_first_passes_under_every_start_method() {
    passes_under_every_start_method("q11", "right_q11_end_marks_first");
}

/// Right Q5s in other styles (`apply` in a loop over `i32`s; results
/// returned as text in a tuple) get full marks under every start method:
/// the data check reads the values in the pool's answers in each encoding
/// the pool gives them.
#[test]
fn other_right_q5s_pass_under_every_start_method() {
    passes_under_every_start_method("q5", "right_q5_apply_loop");
    passes_under_every_start_method("q5", "right_q5_text_pairs");
}

/// A right Q5 whose workers compute in `f64`, the main process printing
/// the results as integers, gets full marks under every start method: the
/// data check reads whole floating-point numbers too.
#[test]
fn a_right_q5_computing_in_floats_passes_under_every_start_method() {
    passes_under_every_start_method("q5", "right_q5_float");
}

/// A right Q5 whose pool replaces each worker after one job
/// (`maxtasksperchild(1)`) gets full marks under every start method: more
/// workers are created than the pool's size, never more alive at once.
#[test]
fn a_right_q5_replacing_its_workers_passes_under_every_start_method() {
    passes_under_every_start_method("q5", "right_q5_maxtasksperchild");
}

/// A right Q5 that maps a hundred thousand numbers before the list gets
/// full marks under every start method: its jobs are large enough for the
/// pool to hand them over as pages (`vmsplice`), which the sandbox refuses
/// with ENOSYS, and the pool copies them instead.
#[test]
fn a_right_q5_with_a_large_map_first_passes_under_every_start_method() {
    passes_under_every_start_method("q5", "right_q5_large_map");
}

/// A right Q5 that warms its pool up with a map whose answers carry more
/// than the grader keeps, before the map it prints, gets full marks under
/// every start method: the tracer keeps the latest bytes read.
#[test]
fn a_right_q5_warmed_up_with_a_large_map_passes_under_every_start_method() {
    passes_under_every_start_method("q5", "right_q5_warm_up");
}
