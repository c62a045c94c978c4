//! Points, and how an exercise's points are shared among its checks.
//!
//! Every check is worth points, hidden ones included, so failing any check
//! costs something. An exercise's points are shared equally among all its
//! checks (every check of every run, visible or hidden, under every start
//! method graded), counted in a unit of a half, a quarter, an eighth...
//! of a point: the coarsest that gives each check at least
//! [`FINENESS`] units, so that two checks' shares differ by a quarter at
//! most. The units that do not divide evenly go one each to the first
//! checks.
//!
//! Shares are therefore binary fractions (`0.75`, `0.625`): they add up to
//! the exercise's points exactly, in the text report and in every
//! platform's file, even where a platform adds them as floating-point
//! numbers (GitHub Classroom's reporter does, in JavaScript), and they are
//! written in full, never rounded.
//!
//! ```
//! use grader::points::{Points, share};
//!
//! // 10 points, 15 checks (5 per run, 3 runs): eighths of a point.
//! let shares = share(10, 15);
//! assert_eq!(shares.iter().copied().sum::<Points>(), Points::whole(10));
//! assert_eq!(shares[0].to_string(), "0.75");
//! assert_eq!(shares[14].to_string(), "0.625");
//! ```

use std::fmt;
use std::iter::Sum;
use std::ops::{Add, AddAssign};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// How many of the finest units make a point: shares are multiples of
/// `1 / UNITS`.
const UNITS: u64 = 1 << 16;

/// How many units of its exercise's unit each check gets at least.
pub const FINENESS: u64 = 4;

/// A number of points, exact: a whole number of 2^-16 of a point.
/// Written as a decimal in full (`0.625`), and as a JSON number.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Points(u64);

impl Points {
    /// No points.
    pub const ZERO: Points = Points(0);

    /// `n` whole points.
    pub fn whole(n: u32) -> Points {
        Points(u64::from(n) * UNITS)
    }

    /// As a floating-point number: exact, since a share is a binary
    /// fraction.
    pub fn as_f64(self) -> f64 {
        // Exact for any score below 2^37 points.
        self.0 as f64 / UNITS as f64
    }

    /// The points `value` stands for, to the nearest unit; `None` when it
    /// is negative or not a number.
    pub fn from_f64(value: f64) -> Option<Points> {
        (value.is_finite() && value >= 0.0).then(|| Points((value * UNITS as f64).round() as u64))
    }

    /// Whether it is a whole number of points.
    pub fn is_whole(self) -> bool {
        self.0.is_multiple_of(UNITS)
    }
}

impl From<u32> for Points {
    fn from(n: u32) -> Points {
        Points::whole(n)
    }
}

impl PartialEq<u32> for Points {
    fn eq(&self, other: &u32) -> bool {
        *self == Points::whole(*other)
    }
}

impl Add for Points {
    type Output = Points;

    fn add(self, other: Points) -> Points {
        Points(self.0 + other.0)
    }
}

impl AddAssign for Points {
    fn add_assign(&mut self, other: Points) {
        self.0 += other.0;
    }
}

impl Sum for Points {
    fn sum<I: Iterator<Item = Points>>(iter: I) -> Points {
        iter.fold(Points::ZERO, Add::add)
    }
}

impl fmt::Display for Points {
    /// The exact decimal: `10`, `0.75`, `0.21875`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut text = (self.0 / UNITS).to_string();
        let mut fraction = self.0 % UNITS;
        if fraction != 0 {
            text.push('.');
        }
        // A binary fraction ends within 16 decimal digits.
        while fraction != 0 {
            fraction *= 10;
            let digit = u8::try_from(fraction / UNITS).expect("a decimal digit");
            text.push(char::from(b'0' + digit));
            fraction %= UNITS;
        }
        f.pad(&text)
    }
}

impl Serialize for Points {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if self.is_whole() {
            serializer.serialize_u64(self.0 / UNITS)
        } else {
            serializer.serialize_f64(self.as_f64())
        }
    }
}

impl<'de> Deserialize<'de> for Points {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Points, D::Error> {
        let value = f64::deserialize(deserializer)?;
        Points::from_f64(value)
            .ok_or_else(|| serde::de::Error::custom(format!("{value} is not a number of points")))
    }
}

/// `points` shared among `count` checks as the module says: equal shares
/// in the coarsest unit that gives each at least [`FINENESS`] units, the
/// units left over one each to the first checks. They add up to `points`
/// exactly.
pub fn share(points: u32, count: usize) -> Vec<Points> {
    let Ok(count) = u64::try_from(count) else {
        return Vec::new();
    };
    if count == 0 {
        return Vec::new();
    }
    // The unit: a point split in 2^halvings.
    let halvings = (0..=UNITS.trailing_zeros())
        .find(|&k| u64::from(points) << k >= FINENESS * count)
        .unwrap_or(UNITS.trailing_zeros());
    let unit = UNITS >> halvings;
    let units = u64::from(points) << halvings;
    let (each, extra) = (units / count, units % count);
    (0..count)
        .map(|i| Points((each + u64::from(i < extra)) * unit))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_add_up_exactly_and_differ_by_one_unit_at_most() {
        for points in [1, 5, 10, 45, 100] {
            for count in 1..200 {
                let shares = share(points, count);
                assert_eq!(shares.len(), count);
                assert_eq!(shares.iter().copied().sum::<Points>(), points);
                let (least, most) = (shares.iter().min(), shares.iter().max());
                let (least, most) = (least.expect("one"), most.expect("one"));
                assert!(least.0 > 0, "{points} among {count}: a check worth nothing");
                assert!(
                    most.0 * FINENESS <= least.0 * (FINENESS + 1),
                    "{points} among {count}: {least} and {most} are not near equal"
                );
            }
        }
    }

    #[test]
    fn whole_shares_stay_whole() {
        assert_eq!(share(10, 5), vec![Points::whole(2); 5]);
        assert_eq!(share(10, 5)[0].to_string(), "2");
    }

    #[test]
    fn written_exactly() {
        assert_eq!(
            Points(UNITS * 43 + UNITS / 2 + UNITS / 16).to_string(),
            "43.5625"
        );
        assert_eq!(Points(1).to_string(), "0.0000152587890625");
        assert_eq!(format!("{:>6}", Points::whole(3)), "     3");
    }

    #[test]
    fn floating_point_sums_are_exact() {
        // What a JavaScript reporter does: add each share as a double.
        let shares = share(10, 45);
        let sum: f64 = shares.iter().map(|s| s.as_f64()).sum();
        assert_eq!(sum, 10.0);
        let some: Points = shares.iter().step_by(3).copied().sum();
        let float: f64 = shares.iter().step_by(3).map(|s| s.as_f64()).sum();
        assert_eq!(float, some.as_f64());
        assert_eq!(Points::from_f64(float), Some(some));
    }

    #[test]
    fn json_is_a_number() {
        let json = serde_json::to_string(&[Points::whole(2), share(10, 15)[14]]).expect("JSON");
        assert_eq!(json, "[2,0.625]");
        let back: Vec<Points> = serde_json::from_str(&json).expect("read back");
        assert_eq!(back, [Points::whole(2), share(10, 15)[14]]);
    }
}
