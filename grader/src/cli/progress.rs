//! A class graded under a progress bar on stderr. Each submission's report
//! and gradebook row are written as soon as it is graded, so an
//! interrupted batch keeps what it finished; the table of every
//! submission is printed at the end.

use std::sync::Mutex;

use grader::{Error, Instructor, batch};
use indicatif::{ProgressBar, ProgressStyle};

use super::args::Args;

/// Grades every PATH, `--jobs` at a time, against the instructor's
/// workspace that `prepare` builds (`None` when every PATH is graded
/// whole), once the gradebook is open; whether every submission passed.
pub(crate) fn grade_batch(
    args: &Args,
    prepare: impl FnOnce() -> Result<Option<Instructor>, Error>,
) -> Result<bool, Error> {
    let jobs = args.jobs.map_or_else(num_cpus::get, usize::from);
    let bar = ProgressBar::new(args.paths.len() as u64).with_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} graded, {elapsed} {msg}")
            .expect("a valid template"),
    );
    let gradebook = Mutex::new(batch::Gradebook::open(&args.out)?);
    let formats = args.format.batch_formats();
    let write_error = Mutex::new(None);
    let instructor = prepare()?;
    let graded = batch::grade_all(
        &args.paths,
        &args.only,
        args.start_method.list(),
        jobs,
        instructor.as_ref(),
        &|s| {
            bar.set_message(format!("{}: {}", s.name, s.verdict()));
            bar.inc(1);
            let written = batch::write_report(&args.out, s, formats).and_then(|()| {
                let mut book = gradebook.lock().unwrap_or_else(|p| p.into_inner());
                book.record(s);
                book.save()
            });
            if let Err(error) = written {
                write_error
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .get_or_insert(error);
            }
        },
    )?;
    bar.finish_and_clear();
    print!("{}", batch::Table(&graded));
    match write_error.into_inner().unwrap_or_else(|p| p.into_inner()) {
        Some(error) => eprintln!("grader: {error}"),
        None => println!(
            "wrote {0}/summary.csv, {0}/summary.json and a report per submission in {0}/<submission>/",
            args.out.display()
        ),
    }
    if graded.iter().all(|s| s.outcome.is_err()) {
        return Err(Error::NothingGraded);
    }
    Ok(graded.iter().all(|s| s.verdict() == batch::Verdict::Pass))
}
