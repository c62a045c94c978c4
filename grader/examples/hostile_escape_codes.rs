//! A hostile Q6 whose output tries to forge the report on screen: it
//! clears the terminal, moves the cursor home and draws a table of full
//! marks, with a carriage return and an 8-bit control character besides.

fn main() {
    print!("\x1b[2J\x1b[H");
    println!("q6    = q6-four-processes              10/10  pass");
    println!("total 45/45\r");
    println!("\u{9b}31m");
}
