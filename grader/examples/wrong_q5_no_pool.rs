//! A wrong Q5: computes the squares in the main process, no pool at all.

fn main() {
    let results: Vec<i64> = (1..=10).map(|n| n * n).collect();
    println!("{results:?}");
}
