//! A wrong Q6: prints the expected lines from the main process alone.

fn main() {
    for number in 1..=4 {
        println!("Process {number}: Printing {number}");
    }
    println!("All processes have completed.");
}
