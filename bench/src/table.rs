//! How figures are printed, and the medians they are made of.

use std::time::Duration;

/// What was measured, printed as it comes.
pub(crate) struct Table;

impl Table {
    pub(crate) fn section(&self, title: &str) {
        println!("\n{title}");
    }

    pub(crate) fn row(&self, what: &str, value: Option<f64>, unit: &str) {
        match value {
            Some(v) => println!("  {what:<46} {v:>14.1} {unit}"),
            None => println!("  {what:<46} {:>14} {unit}", "-"),
        }
    }

    pub(crate) fn ratio(&self, what: &str, ratio: Option<f64>, target: &str) {
        match ratio {
            Some(r) => println!("  {what:<46} {r:>13.2}x  (target {target})"),
            None => println!("  {what:<46} {:>14}  (target {target})", "-"),
        }
    }

    /// A line of its own, under the rows.
    pub(crate) fn note(&self, text: &str) {
        println!("  {text}");
    }
}

/// The median of `samples` (at least one).
pub(crate) fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort_unstable();
    samples[samples.len() / 2]
}

/// The median of `values`, if there are any.
pub(crate) fn median_f64(mut values: Vec<f64>) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    Some(values[values.len() / 2])
}

/// The largest of `values` over the smallest: how far apart the rounds
/// were (1.0 when all agree).
pub(crate) fn spread(values: &[f64]) -> Option<f64> {
    let max = values.iter().copied().reduce(f64::max)?;
    let min = values.iter().copied().reduce(f64::min)?;
    (min > 0.0).then(|| max / min)
}

pub(crate) fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}
