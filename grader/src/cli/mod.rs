//! The command line: a thin room over the library's engine, which the
//! tests drive without it.
//!
//! - `args`: what clap parses (the arguments, the subcommands, the start
//!   methods and the report formats);
//! - `dispatch`: which engine or authoring call each command makes, and
//!   how its outcome becomes output and an exit code;
//! - `progress`: a class graded under a progress bar, each report and
//!   gradebook row written as its submission is done.

mod args;
mod dispatch;
mod progress;

pub(crate) use args::Args;
pub(crate) use dispatch::run;
