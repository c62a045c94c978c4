//! [`Fact::Returned`](crate::exercises::Fact::Returned), against the
//! bytes the tracer recorded on the run's pipes (see
//! `trace/messages.rs`): the values the main process lists are results
//! that the pool's workers sent it.
//!
//! A `common::Pool` worker writes its answers on a pipe the main process
//! reads (a stream socket pair, when workers are spawned). The judge
//! takes every pipe (or pair's end) that the main process read and whose
//! other end only processes of the role `from` wrote, cuts the bytes the main
//! process read out of it into the pool's answers (`common`'s
//! `pool/wire.rs`: an eight-byte little-endian length, then a tag and the
//! payload: every item's result end to end, or each item's outcome with
//! its length), and reads the results as integers in each encoding the
//! pool may give them (`pool/item.rs`: little-endian bytes of a fixed
//! width, signed or not; `postcard`'s variable-length numbers, plain
//! or zigzag, as for a tuple; floats that are whole numbers; numbers
//! written out as strings). The line passes when, in one encoding, the
//! results hold every value listed, as often as it is listed. What the
//! workers computed is then what was printed: a main process that works
//! out the list itself beside a pool that returned something else (or
//! nothing) fails, every time.

use std::collections::{BTreeMap, BTreeSet};

use nix::unistd::Pid;

use crate::exercises::Run;
use crate::expect::{Pattern, value_in};
use crate::observe::{Events, Observation};

use super::lines::lines;
use super::pipes::players;

/// An answer's length takes eight bytes (`pool/wire.rs`'s `ANSWER_LEN`).
const ANSWER_LEN: usize = 8;
/// The answer's tag: every item's result end to end.
const ALL: u8 = 0;
/// The answer's tag: each item's outcome, its length, its bytes.
const EACH: u8 = 1;
/// The answer's tag: a lone large byte vector.
const LONE: u8 = 2;
/// An item's outcome in an [`EACH`] answer: its result follows.
const DONE: u8 = 0;

/// What the judge of [`Fact::Returned`] concludes: the problems, and what
/// the results held, as the report shows it.
pub(super) fn returned(
    run: &Run,
    events: &Events,
    seen: &Observation,
    from: &str,
    pattern: Pattern,
) -> (Vec<String>, String) {
    let main = seen.main;
    let senders = format!("the {from} processes");
    let written = lines(events);
    let workers = players(run, events, main, &written, from);
    let answers = answers(events, main, &workers);
    let listed: Vec<(String, Vec<i128>)> = written
        .iter()
        .filter(|line| line.owner() == Some(main))
        .filter_map(|line| {
            let inside = value_in(pattern, &line.text)?;
            let values = inside
                .split(',')
                .map(|v| v.trim().parse::<i128>().ok())
                .collect::<Option<Vec<_>>>()?;
            Some((line.text.clone(), values))
        })
        .collect();
    let results = best_reading(&answers, listed.iter().flat_map(|(_, v)| v));
    let mut problems = Vec::new();
    for (line, values) in &listed {
        let missing = missing(values, &results);
        if missing.is_empty() {
            continue;
        }
        let problem = if events.piped_lost {
            format!(
                "`{line}` lists {} that the answers the grader still held from {} do not hold \
                 (the pipes carried more than it keeps, {} of the latest bytes read; it held {}): \
                 print what the pool returned, and map less before the list printed",
                values_named(&missing),
                senders,
                crate::trace::MESSAGES_CAP,
                shown(&results)
            )
        } else if answers.is_empty() {
            format!(
                "`{line}` lists values the main process never received from {}: it read no \
                 answer of a pool's worker, so the workers did not compute them",
                senders
            )
        } else {
            format!(
                "`{line}` lists {} that {} did not send the main process (the answers it read \
                 held {}): print what the pool returned, not values worked out beside it",
                values_named(&missing),
                senders,
                shown(&results)
            )
        };
        problems.push(problem);
    }
    let got = format!(
        "the main process read {} from {}, holding {}",
        match answers.len() {
            1 => "1 answer".to_owned(),
            n => format!("{n} answers"),
        },
        senders,
        shown(&results)
    );
    (problems, got)
}

/// The pool's answers the main process `main` read out of pipes that only
/// processes of `workers` wrote: each answer's tag and payload.
fn answers(events: &Events, main: Pid, workers: &BTreeSet<Pid>) -> Vec<(u8, Vec<u8>)> {
    // What is read from an end of a stream pair was written on its peer;
    // a pipe's two ends are one inode.
    let peer: BTreeMap<u64, u64> = events
        .streams
        .iter()
        .flat_map(|&(a, b)| [(a, b), (b, a)])
        .collect();
    let mut read: BTreeMap<u64, Vec<u8>> = BTreeMap::new();
    let mut writers: BTreeMap<u64, BTreeSet<Pid>> = BTreeMap::new();
    for message in &events.piped {
        if message.sent {
            writers.entry(message.end).or_default().insert(message.pid);
        } else if message.pid == main {
            read.entry(message.end)
                .or_default()
                .extend_from_slice(&message.bytes);
        }
    }
    let mut answers = Vec::new();
    for (end, bytes) in read {
        let by_workers = writers
            .get(peer.get(&end).unwrap_or(&end))
            .is_some_and(|w| !w.is_empty() && w.is_subset(workers));
        if !by_workers {
            continue;
        }
        // A spawned worker's stream carries its start-up too (the main
        // process reads an acknowledgement before any answer): bytes that
        // do not begin an answer are passed over. Every byte here came from
        // the workers, so this can only misread what they sent.
        let mut at = 0;
        while let Some(len) = bytes.get(at..at + ANSWER_LEN) {
            let len = u64::from_le_bytes(len.try_into().expect("eight bytes"));
            let end = usize::try_from(len)
                .ok()
                .and_then(|len| (at + ANSWER_LEN).checked_add(len))
                .filter(|&end| end <= bytes.len() && end > at + ANSWER_LEN)
                .filter(|_| [ALL, EACH, LONE].contains(&bytes[at + ANSWER_LEN]));
            match end {
                Some(end) => {
                    answers.push((
                        bytes[at + ANSWER_LEN],
                        bytes[at + ANSWER_LEN + 1..end].to_vec(),
                    ));
                    at = end;
                }
                None => at += 1,
            }
        }
    }
    answers
}

/// How the results' bytes may be read as integers.
#[derive(Debug, Clone, Copy)]
enum Reading {
    /// Little-endian bytes of this width, signed or not.
    Fixed { width: usize, signed: bool },
    /// Variable-length numbers, zigzag (signed) or plain.
    Varint { zigzag: bool },
    /// Little-endian floating-point numbers of this width (`f64`, `f32`),
    /// those that are whole numbers: a task may compute in floats and the
    /// main process print them as integers.
    Float { width: usize },
    /// Strings (a one-byte length, then the text), each a number written
    /// out, wherever they stand.
    Text,
}

const READINGS: [Reading; 13] = [
    Reading::Fixed {
        width: 8,
        signed: true,
    },
    Reading::Fixed {
        width: 8,
        signed: false,
    },
    Reading::Fixed {
        width: 4,
        signed: true,
    },
    Reading::Fixed {
        width: 4,
        signed: false,
    },
    Reading::Fixed {
        width: 2,
        signed: true,
    },
    Reading::Fixed {
        width: 2,
        signed: false,
    },
    Reading::Fixed {
        width: 1,
        signed: true,
    },
    Reading::Fixed {
        width: 1,
        signed: false,
    },
    Reading::Varint { zigzag: true },
    Reading::Varint { zigzag: false },
    Reading::Float { width: 8 },
    Reading::Float { width: 4 },
    Reading::Text,
];

impl Reading {
    /// `bytes`, one or more results end to end, as integers; `None` if
    /// they are not so many whole integers of this reading.
    fn read(self, bytes: &[u8]) -> Option<Vec<i128>> {
        match self {
            Reading::Fixed { width, signed } => {
                if !bytes.len().is_multiple_of(width) {
                    return None;
                }
                Some(
                    bytes
                        .chunks(width)
                        .map(|chunk| {
                            let mut wide = [0u8; 16];
                            wide[..width].copy_from_slice(chunk);
                            let unsigned = u128::from_le_bytes(wide);
                            let bits = 8 * width as u32;
                            if signed && chunk[width - 1] & 0x80 != 0 {
                                unsigned as i128 - (1i128 << bits)
                            } else {
                                unsigned as i128
                            }
                        })
                        .collect(),
                )
            }
            Reading::Float { width } => {
                if !bytes.len().is_multiple_of(width) {
                    return None;
                }
                Some(
                    bytes
                        .chunks(width)
                        .map(|chunk| match chunk.try_into() {
                            Ok(eight) => f64::from_le_bytes(eight),
                            Err(_) => {
                                f64::from(f32::from_le_bytes(chunk.try_into().expect("four bytes")))
                            }
                        })
                        // Whole numbers only, within the range an `i64`
                        // prints.
                        .filter(|x| x.fract() == 0.0 && x.abs() < 9.0e18)
                        .map(|x| x as i128)
                        .collect(),
                )
            }
            Reading::Varint { zigzag } => {
                let mut values = Vec::new();
                let mut rest = bytes;
                while !rest.is_empty() {
                    let (n, taken) = varint(rest)?;
                    values.push(if zigzag {
                        (n >> 1) as i128 ^ -((n & 1) as i128)
                    } else {
                        n as i128
                    });
                    rest = &rest[taken..];
                }
                Some(values)
            }
            Reading::Text => {
                // Wherever a string of digits stands with its length
                // before it (in a tuple, say, beside other fields).
                let mut values = Vec::new();
                let mut at = 0;
                while at < bytes.len() {
                    let len = usize::from(bytes[at]);
                    let text = bytes
                        .get(at + 1..at + 1 + len)
                        .filter(|_| (1..=40).contains(&len))
                        .and_then(|text| std::str::from_utf8(text).ok())
                        .and_then(|text| text.parse::<i128>().ok());
                    match text {
                        Some(value) => {
                            values.push(value);
                            at += 1 + len;
                        }
                        None => at += 1,
                    }
                }
                Some(values)
            }
        }
    }

    /// Every result of `answers` in this reading; an answer it cannot read
    /// gives none.
    fn results(self, answers: &[(u8, Vec<u8>)]) -> Vec<i128> {
        let mut results = Vec::new();
        for (tag, payload) in answers {
            match *tag {
                ALL => results.extend(self.read(payload).unwrap_or_default()),
                EACH => {
                    for item in outcomes(payload) {
                        results.extend(self.read(item).unwrap_or_default());
                    }
                }
                // A lone byte vector is no list of integers.
                _ => {}
            }
        }
        results
    }
}

/// The results of an [`EACH`] answer's items that were done: each
/// outcome is a tag, a varint length and that many bytes.
fn outcomes(mut payload: &[u8]) -> Vec<&[u8]> {
    let mut done = Vec::new();
    while let Some((&tag, rest)) = payload.split_first() {
        let Some((len, taken)) = varint(rest) else {
            break;
        };
        let Some(item) = usize::try_from(len)
            .ok()
            .and_then(|len| rest.get(taken..taken.checked_add(len)?))
        else {
            break;
        };
        if tag == DONE {
            done.push(item);
        }
        payload = &rest[taken + item.len()..];
    }
    done
}

/// The variable-length number `bytes` begins with (seven bits a byte,
/// low first, as `postcard` and the pool write them), and how many bytes
/// it took; `None` if it runs past the end or past eleven bytes.
fn varint(bytes: &[u8]) -> Option<(u128, usize)> {
    let mut n: u128 = 0;
    for (i, &byte) in bytes.iter().enumerate().take(11) {
        n |= u128::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Some((n, i + 1));
        }
    }
    None
}

/// The results read the way that leaves fewest of `listed` missing.
fn best_reading<'a>(
    answers: &[(u8, Vec<u8>)],
    listed: impl Iterator<Item = &'a i128> + Clone,
) -> Vec<i128> {
    let listed: Vec<i128> = listed.copied().collect();
    READINGS
        .iter()
        .map(|reading| reading.results(answers))
        .min_by_key(|results| missing(&listed, results).len())
        .unwrap_or_default()
}

/// The values of `listed` that `results` do not hold (each result backs
/// one value).
fn missing(listed: &[i128], results: &[i128]) -> Vec<i128> {
    let mut left: BTreeMap<i128, usize> = BTreeMap::new();
    for &result in results {
        *left.entry(result).or_default() += 1;
    }
    listed
        .iter()
        .filter(|value| match left.get_mut(value) {
            Some(count) if *count > 0 => {
                *count -= 1;
                false
            }
            _ => true,
        })
        .copied()
        .collect()
}

/// Values as a problem names them: the first three and how many more.
fn values_named(values: &[i128]) -> String {
    let first: Vec<String> = values.iter().take(3).map(|v| format!("`{v}`")).collect();
    match values.len() {
        1 => format!("the value {}", first[0]),
        n if n <= 3 => format!("the values {}", first.join(", ")),
        n => format!("the values {} and {} more", first.join(", "), n - 3),
    }
}

/// Results as the report shows them: the first twelve.
fn shown(results: &[i128]) -> String {
    if results.is_empty() {
        return "no result".to_owned();
    }
    let first: Vec<String> = results.iter().take(12).map(i128::to_string).collect();
    let more = results.len().saturating_sub(12);
    if more == 0 {
        format!("the results [{}]", first.join(", "))
    } else {
        format!("the results [{}, ...] ({more} more)", first.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_are_read_in_each_encoding_the_pool_gives() {
        let i64s: Vec<u8> = [1i64, 4, -9].iter().flat_map(|v| v.to_le_bytes()).collect();
        assert_eq!(
            Reading::Fixed {
                width: 8,
                signed: true
            }
            .read(&i64s),
            Some(vec![1, 4, -9])
        );
        assert_eq!(
            Reading::Fixed {
                width: 8,
                signed: true
            }
            .read(&i64s[1..]),
            None
        );
        let tuple = postcard::to_allocvec(&(3i64, 300i64)).expect("encoded");
        assert_eq!(
            Reading::Varint { zigzag: true }.read(&tuple),
            Some(vec![3, 300])
        );
        let floats: Vec<u8> = [1.0f64, 4.0, 2.5, -9.0]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        assert_eq!(
            Reading::Float { width: 8 }.read(&floats),
            Some(vec![1, 4, -9]),
            "whole numbers only"
        );
        let floats: Vec<u8> = [16.0f32, 25.0]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        assert_eq!(
            Reading::Float { width: 4 }.read(&floats),
            Some(vec![16, 25])
        );
        let text =
            postcard::to_allocvec(&(81u64, "49".to_owned(), "100".to_owned())).expect("encoded");
        assert_eq!(Reading::Text.read(&text), Some(vec![49, 100]));
        let mut each = vec![DONE, 8];
        each.extend_from_slice(&16i64.to_le_bytes());
        each.extend_from_slice(&[1, 2, b'n', b'o']);
        assert_eq!(outcomes(&each), vec![&16i64.to_le_bytes()[..]]);
    }

    #[test]
    fn each_result_backs_one_value_listed() {
        assert_eq!(missing(&[1, 4, 4], &[4, 1, 9]), vec![4]);
        assert!(missing(&[1, 4], &[4, 1, 9]).is_empty());
    }
}
