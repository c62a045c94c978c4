//! In a worker: a job whose items are all large byte vectors (see `job`),
//! read from the task pipe a few at a time, as the items are run.
//!
//! Each vector is read straight into a vector of its own just before its
//! item runs, and is freed when the task is done with it, so the next one
//! is read into the same memory. Reading a whole job first (a chunk of
//! 250 items of 64 KiB is 16 MB) made every job fault in fresh pages, and
//! the faults, taken inside the pipe's lock, kept the parent waiting on
//! that lock: 2,000 items of 64 KiB took 40 ms rather than 25.

use std::collections::VecDeque;
use std::io;
use std::os::fd::BorrowedFd;

use super::item::put_varint;
use crate::sys;

/// How many bytes of vectors one `readv` reads at most, unless one vector
/// is larger: small vectors cost one system call between them, a large one
/// is read alone.
const BATCH: usize = 64 * 1024;

/// The byte vectors of a job being read: each a varint length then the
/// bytes, the lengths also in the job's header.
pub(super) struct Vectors<'a> {
    from: BorrowedFd<'a>,
    /// The payload's first bytes, read ahead with the header.
    ahead: &'a [u8],
    /// The lengths of the vectors not read yet.
    lengths: std::vec::IntoIter<u32>,
    /// Vectors read, not yet taken.
    ready: VecDeque<Vec<u8>>,
    /// Why reading stopped, if it did.
    failed: Option<io::Error>,
}

impl<'a> Vectors<'a> {
    /// The vectors of `lengths`, `len` bytes in all with their varints, of
    /// which `ahead` was read already (the rest is in `from`).
    pub(super) fn new(
        from: BorrowedFd<'a>,
        ahead: &'a [u8],
        lengths: Vec<u32>,
        len: usize,
    ) -> io::Result<Vectors<'a>> {
        let mut varint = Vec::new();
        let total = lengths.iter().fold(0usize, |sum, &length| {
            varint.clear();
            put_varint(u64::from(length), &mut varint);
            sum.saturating_add(varint.len() + length as usize)
        });
        if total != len || ahead.len() > len {
            return Err(disagree());
        }
        Ok(Vectors {
            from,
            ahead,
            lengths: lengths.into_iter(),
            ready: VecDeque::new(),
            failed: None,
        })
    }

    /// The next vector; once reading failed, why (and the error is kept
    /// for [`finish`](Self::finish)).
    pub(super) fn take(&mut self) -> Result<Vec<u8>, String> {
        if self.ready.is_empty()
            && self.failed.is_none()
            && let Err(error) = self.read_batch()
        {
            self.failed = Some(error);
        }
        match (&self.failed, self.ready.pop_front()) {
            (_, Some(vector)) => Ok(vector),
            (Some(error), None) => Err(format!("the job could not be read: {error}")),
            (None, None) => Err("fewer byte vectors than items".to_owned()),
        }
    }

    /// Reads what is left of the job, unused (a worker answers a job only
    /// once it has read all of it), and says whether reading it all went
    /// well.
    pub(super) fn finish(mut self) -> io::Result<()> {
        while self.failed.is_none() && self.lengths.len() > 0 {
            self.ready.clear();
            if let Err(error) = self.read_batch() {
                self.failed = Some(error);
            }
        }
        self.failed.map_or(Ok(()), Err)
    }

    /// Reads the next vectors, up to [`BATCH`] bytes of them (at least
    /// one), with one `readv` as far as the pipe allows.
    fn read_batch(&mut self) -> io::Result<()> {
        // Pieces: each vector's varint, then its bytes.
        let mut sizes = Vec::new();
        let mut expected = Vec::new();
        let mut bytes = 0;
        while let Some(&length) = self.lengths.as_slice().first() {
            let length = length as usize;
            if !sizes.is_empty() && bytes + length > BATCH {
                break;
            }
            self.lengths.next();
            let before = expected.len();
            put_varint(length as u64, &mut expected);
            sizes.extend([expected.len() - before, length]);
            bytes += length;
        }
        let mut pieces: Vec<Vec<u8>> = sizes.iter().map(|&size| Vec::with_capacity(size)).collect();
        for (piece, &size) in pieces.iter_mut().zip(&sizes) {
            let (now, rest) = self.ahead.split_at(size.min(self.ahead.len()));
            piece.extend_from_slice(now);
            self.ahead = rest;
        }
        sys::fill_vectors(self.from, &mut pieces, &sizes)?;
        let (varints, vectors): (Vec<_>, Vec<_>) = pieces
            .into_iter()
            .enumerate()
            .partition(|(k, _)| k % 2 == 0);
        if varints.into_iter().flat_map(|(_, v)| v).ne(expected) {
            return Err(disagree());
        }
        self.ready.extend(vectors.into_iter().map(|(_, v)| v));
        Ok(())
    }
}

fn disagree() -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, "a job's lengths disagree")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::os::fd::AsFd;

    /// A payload of `vectors` as the parent lays it out.
    fn payload(vectors: &[Vec<u8>]) -> Vec<u8> {
        let mut out = Vec::new();
        for vector in vectors {
            put_varint(vector.len() as u64, &mut out);
            out.extend_from_slice(vector);
        }
        out
    }

    fn lengths(vectors: &[Vec<u8>]) -> Vec<u32> {
        vectors.iter().map(|v| v.len() as u32).collect()
    }

    #[test]
    fn vectors_come_whole_from_what_was_read_ahead_and_the_pipe() {
        let vectors: Vec<Vec<u8>> = [5000, 70_000, 4096, 4096, 100_000]
            .iter()
            .enumerate()
            .map(|(i, &len)| (0..len).map(|b| (b * 7 + i) as u8).collect())
            .collect();
        let bytes = payload(&vectors);
        // Read ahead: the first vector and part of the second.
        let (ahead, rest) = bytes.split_at(5000 + 2 + 1000);
        let (read, write) = std::io::pipe().expect("pipe");
        let writer = std::thread::spawn({
            let rest = rest.to_vec();
            move || {
                let mut write = write;
                write.write_all(&rest).expect("write");
            }
        });
        let mut stream =
            Vectors::new(read.as_fd(), ahead, lengths(&vectors), bytes.len()).expect("lengths");
        for vector in &vectors {
            assert_eq!(&stream.take().expect("a vector"), vector);
        }
        assert!(stream.take().is_err(), "no more than there were");
        stream.finish().expect("all read");
        writer.join().expect("writer");
    }

    #[test]
    fn finish_reads_what_was_not_taken_and_a_short_pipe_fails() {
        let vectors = vec![vec![1u8; 8192], vec![2u8; 8192], vec![3u8; 8192]];
        let bytes = payload(&vectors);
        let (read, mut write) = std::io::pipe().expect("pipe");
        let writer = std::thread::spawn({
            let bytes = bytes.clone();
            move || {
                write.write_all(&bytes).expect("write");
                write.write_all(b"next").expect("write");
            }
        });
        let mut stream =
            Vectors::new(read.as_fd(), &[], lengths(&vectors), bytes.len()).expect("lengths");
        assert_eq!(stream.take().expect("the first"), vectors[0]);
        stream.finish().expect("the rest read");
        writer.join().expect("writer");
        let mut next = [0u8; 4];
        std::io::Read::read_exact(&mut &read, &mut next).expect("what follows the job");
        assert_eq!(&next, b"next", "the job was read to its end, no further");

        // The pipe closes halfway through: an error, never a hang.
        let (read, mut write) = std::io::pipe().expect("pipe");
        write.write_all(&bytes[..10_000]).expect("write");
        drop(write);
        let mut stream =
            Vectors::new(read.as_fd(), &[], lengths(&vectors), bytes.len()).expect("lengths");
        let taken = stream.take();
        assert!(
            taken.is_err(),
            "read with the others, in one batch: {taken:?}"
        );
        assert!(stream.finish().is_err());
    }

    #[test]
    fn lengths_that_disagree_are_refused() {
        let (read, _write) = std::io::pipe().expect("pipe");
        assert!(Vectors::new(read.as_fd(), &[], vec![4096, 4096], 8000).is_err());
        // A varint in the pipe that differs from the header's length.
        let (read, mut write) = std::io::pipe().expect("pipe");
        let mut bytes = payload(&[vec![0u8; 4096]]);
        bytes[0] ^= 1;
        write.write_all(&bytes).expect("write");
        let mut stream = Vectors::new(read.as_fd(), &[], vec![4096], bytes.len()).expect("sizes");
        assert!(stream.take().is_err());
    }
}
