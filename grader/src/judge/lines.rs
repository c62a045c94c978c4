//! The run's stdout as the tracer recorded it: the writes, one after the
//! other in the order their bytes entered the stream, cut into lines, each
//! line with the processes that wrote its bytes; and the account of the
//! bytes read against the bytes written.
//!
//! A line belongs to a process only if that process wrote every byte of
//! it: a line whose text one process wrote and whose newline another did
//! belongs to no one.

use nix::unistd::Pid;

use crate::observe::{Events, Observation};

/// One line of stdout (without its newline), by the kernel's account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Line {
    pub(super) text: String,
    /// The processes that wrote its bytes, each once, in order.
    pub(super) writers: Vec<Pid>,
    /// The write that made its first byte (an index into the writes).
    pub(super) first: usize,
    /// The write that made its last byte (its newline, if it has one).
    pub(super) last: usize,
}

impl Line {
    /// The one process that wrote all of it, if one did.
    pub(super) fn owner(&self) -> Option<Pid> {
        match self.writers.as_slice() {
            [pid] => Some(*pid),
            _ => None,
        }
    }
}

/// The lines of stdout as written, in order.
pub(super) fn lines(events: &Events) -> Vec<Line> {
    let mut lines = Vec::new();
    let mut text = Vec::new();
    let mut writers: Vec<Pid> = Vec::new();
    let mut first = 0;
    for (index, write) in events.writes.iter().enumerate() {
        for &byte in &write.bytes {
            if text.is_empty() && writers.is_empty() {
                first = index;
            }
            if !writers.contains(&write.pid) {
                writers.push(write.pid);
            }
            if byte == b'\n' {
                lines.push(Line {
                    text: String::from_utf8_lossy(&text).into_owned(),
                    writers: std::mem::take(&mut writers),
                    first,
                    last: index,
                });
                text.clear();
            } else {
                text.push(byte);
            }
        }
    }
    if !writers.is_empty() {
        lines.push(Line {
            text: String::from_utf8_lossy(&text).into_owned(),
            writers,
            first,
            last: events.writes.len() - 1,
        });
    }
    lines
}

/// What is wrong with the account of stdout, if anything: every byte read
/// must be a byte of a write the tracer saw, in the same order. Not
/// checked past the caps (the output fails on its size then) or untraced.
pub(super) fn unaccounted(seen: &Observation) -> Option<String> {
    let events = seen.traced.as_ref().ok()?;
    let read = &seen.stdout;
    if events.over_copy_cap || read.total > read.bytes.len() as u64 {
        return None;
    }
    let written: Vec<u8> = events
        .writes
        .iter()
        .flat_map(|w| w.bytes.iter().copied())
        .collect();
    if written == read.bytes {
        return None;
    }
    let at = written
        .iter()
        .zip(&read.bytes)
        .take_while(|(a, b)| a == b)
        .count();
    let line_start = read.bytes[..at.min(read.bytes.len())]
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    let line_end = read.bytes[line_start..]
        .iter()
        .position(|&b| b == b'\n')
        .map_or(read.bytes.len(), |i| line_start + i);
    let line = String::from_utf8_lossy(&read.bytes[line_start..line_end]);
    Some(format!(
        "the output could not be attributed: the grader read {} bytes from stdout and saw \
         writes of {} bytes, which agree only up to byte {at} (in the line `{line}`); the rest \
         came by a route the grader does not watch (a descriptor other than 1) or was changed \
         after it was written",
        read.bytes.len(),
        written.len(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::observe::Written;

    fn write(pid: i32, bytes: &str) -> Written {
        Written {
            pid: Pid::from_raw(pid),
            bytes: bytes.as_bytes().to_vec(),
            unjoined: Vec::new(),
            taken: Vec::new(),
        }
    }

    #[test]
    fn a_line_belongs_to_every_process_that_wrote_a_byte_of_it() {
        let events = Events {
            writes: vec![
                write(1, "Process 1: Printing 1"),
                write(2, "\nProcess 2: "),
                write(2, "Printing 2\n"),
                write(1, "All processes"),
            ],
            ..Events::default()
        };
        let got: Vec<(String, Vec<i32>, usize)> = lines(&events)
            .into_iter()
            .map(|l| {
                let pids = l.writers.iter().map(|p| p.as_raw()).collect();
                (l.text, pids, l.first)
            })
            .collect();
        assert_eq!(
            got,
            [
                ("Process 1: Printing 1".to_owned(), vec![1, 2], 0),
                ("Process 2: Printing 2".to_owned(), vec![2], 1),
                ("All processes".to_owned(), vec![1], 3),
            ]
        );
        let owners: Vec<Option<i32>> = lines(&events)
            .iter()
            .map(|l| l.owner().map(Pid::as_raw))
            .collect();
        assert_eq!(owners, [None, Some(2), Some(1)]);
    }
}
