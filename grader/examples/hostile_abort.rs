//! A hostile submission: the main process aborts (SIGABRT) after printing
//! part of the output.

fn main() {
    println!("Process 1: Printing 1");
    std::process::abort();
}
