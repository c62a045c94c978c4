//! A hostile submission: a fork bomb. Every process forks again, ten times
//! over, so 1024 processes would run (the depth keeps it finite even when
//! run by hand); the grader must stop it at its process limit and leave
//! none behind.

#![expect(
    unsafe_code,
    reason = "a submission may do what it likes; this one forks by hand"
)]

fn main() {
    println!("Process 1: Printing 1");
    for _ in 0..10 {
        // SAFETY: the program has one thread, so the child is a whole copy
        // of it; both go on with the loop.
        let _ = unsafe { libc::fork() };
    }
    std::thread::sleep(std::time::Duration::from_secs(5));
}
