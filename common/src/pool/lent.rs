//! [`Lent`]: a worker's large results whose pages its result pipe holds
//! (`vmsplice`), kept until the parent has read them.
//!
//! A pipe given pages instead of bytes reads them when the parent reads:
//! the worker must not free or change those bytes before then (freed, they
//! may be handed out again and written; even the allocator's bookkeeping
//! writes into a freed block). So each lent result is kept, with where its
//! last byte lies in everything the worker has sent, until the pipe's
//! count of unread bytes says the parent is past it. Process exit is safe:
//! the pipe keeps the pages, unchanged, after the worker's memory is gone.

use std::collections::VecDeque;
use std::io::IoSlice;
use std::os::fd::BorrowedFd;

use crate::sys;

/// The least result worth handing over as pages.
pub(super) const LEND_MIN: usize = 1 << 20;

/// The least answer worth handing over as pages: the worker then neither
/// copies it into the pipe nor holds the pipe's lock while it does, which
/// kept the parent waiting on that lock to read it.
const LEND_ANSWER_MIN: usize = 256 * 1024;

/// The largest buffer kept for the next answers.
const RETURN_MAX: usize = 16 << 20;

/// The results lent to a worker's result pipe, and how many bytes it has
/// been sent in all.
pub(super) struct Lent {
    kept: VecDeque<(u64, Vec<u8>)>,
    /// Answer buffers the parent has read past, for the next answers.
    returned: Vec<Vec<u8>>,
    sent: u64,
    /// Whether the pipe takes pages: until it refuses (a spawned worker
    /// answers on a socket).
    splicing: bool,
}

impl Lent {
    pub(super) fn new() -> Lent {
        Lent {
            kept: VecDeque::new(),
            returned: Vec::new(),
            sent: 0,
            splicing: true,
        }
    }

    /// Counts `bytes` sent by plain writes.
    pub(super) fn wrote(&mut self, bytes: usize) {
        self.sent += bytes as u64;
    }

    /// Sends `result` down `pipe` as pages if it can, keeping it until the
    /// parent has read it; `Err(result)` if it must be written instead.
    /// Blocks while the pipe is full.
    pub(super) fn lend(&mut self, pipe: BorrowedFd<'_>, result: Vec<u8>) -> Result<(), Vec<u8>> {
        self.lend_from(pipe, result, LEND_MIN)
    }

    /// Sends an answer of [`LEND_ANSWER_MIN`] bytes or more down `pipe` as
    /// pages, as [`lend`](Lent::lend) does a result, and gives back an
    /// empty buffer for the next answer: one the parent has read past, or
    /// a new one. `Err(answer)` if it must be written instead.
    pub(super) fn lend_answer(
        &mut self,
        pipe: BorrowedFd<'_>,
        answer: Vec<u8>,
    ) -> Result<Vec<u8>, Vec<u8>> {
        let capacity = answer.capacity();
        self.lend_from(pipe, answer, LEND_ANSWER_MIN)?;
        self.release(pipe);
        Ok(self
            .returned
            .pop()
            .unwrap_or_else(|| Vec::with_capacity(capacity)))
    }

    /// [`lend`](Lent::lend), for results of at least `least` bytes.
    fn lend_from(
        &mut self,
        pipe: BorrowedFd<'_>,
        result: Vec<u8>,
        least: usize,
    ) -> Result<(), Vec<u8>> {
        if !self.splicing || result.len() < least {
            return Err(result);
        }
        let mut at = 0;
        while at < result.len() {
            match sys::splice_pages(pipe, &[IoSlice::new(&result[at..])], true) {
                Ok(n) => at += n,
                Err(nix::errno::Errno::EINTR) => {}
                Err(_) if at == 0 => {
                    self.splicing = false;
                    return Err(result);
                }
                Err(_) => {
                    // The pipe broke halfway: the parent is gone or reads
                    // no more; what is left is never read.
                    break;
                }
            }
        }
        self.sent += at as u64;
        self.kept.push_back((self.sent, result));
        Ok(())
    }

    /// Frees the results the parent has read past.
    pub(super) fn release(&mut self, pipe: BorrowedFd<'_>) {
        if self.kept.is_empty() {
            return;
        }
        let Ok(unread) = sys::unread(pipe) else {
            return;
        };
        let read = self.sent.saturating_sub(unread as u64);
        while self.kept.front().is_some_and(|(end, _)| *end <= read) {
            let (_, mut buffer) = self.kept.pop_front().expect("looked at above");
            // A couple are kept for the next answers; a large result's
            // memory goes back.
            if self.returned.len() < 2 && buffer.capacity() <= RETURN_MAX {
                buffer.clear();
                self.returned.push(buffer);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;
    use std::os::fd::AsFd;

    /// A 1 MiB pipe's two ends, and nothing lent to it yet.
    fn lending_pipe() -> (std::fs::File, std::os::fd::OwnedFd, Lent) {
        let (rx, tx) = sys::pipe().expect("pipe");
        sys::widen_pipe(&tx, 1 << 20);
        (std::fs::File::from(rx), tx, Lent::new())
    }

    #[test]
    fn a_lent_result_is_kept_until_the_reader_is_past_its_end() {
        let (mut reader, tx, mut lent) = lending_pipe();
        nix::unistd::write(&tx, &[9; 10]).expect("write");
        lent.wrote(10);
        let result: Vec<u8> = (0..64 << 10).map(|i| (i % 251) as u8).collect();
        let expected = result.clone();
        lent.lend_from(tx.as_fd(), result, 1)
            .expect("a pipe takes pages");
        lent.release(tx.as_fd());
        assert_eq!(lent.kept.len(), 1, "nothing read yet");
        let mut head = vec![0; 10 + (32 << 10)];
        reader.read_exact(&mut head).expect("read");
        lent.release(tx.as_fd());
        assert_eq!(lent.kept.len(), 1, "half read");
        let mut rest = vec![0; 32 << 10];
        reader.read_exact(&mut rest).expect("read");
        lent.release(tx.as_fd());
        assert!(lent.kept.is_empty(), "read whole: let go");
        head.drain(..10);
        head.extend_from_slice(&rest);
        assert!(head == expected, "the reader got the bytes lent");
    }

    #[test]
    fn an_answer_buffer_comes_back_once_the_reader_is_past_it() {
        let (mut reader, tx, mut lent) = lending_pipe();
        let first = vec![1u8; LEND_ANSWER_MIN];
        let address = first.as_ptr();
        let next = lent.lend_answer(tx.as_fd(), first).expect("lent");
        assert_ne!(next.as_ptr(), address, "still in the pipe: a new buffer");
        assert!(next.capacity() >= LEND_ANSWER_MIN, "as large as the last");
        let mut read = vec![0; LEND_ANSWER_MIN];
        reader.read_exact(&mut read).expect("read");
        assert!(read.iter().all(|&b| b == 1), "the bytes lent");
        let second = vec![2u8; LEND_ANSWER_MIN];
        let again = lent.lend_answer(tx.as_fd(), second).expect("lent");
        assert_eq!(again.as_ptr(), address, "read past: the first comes back");
        assert!(again.is_empty());
        reader.read_exact(&mut read).expect("read");
        assert!(read.iter().all(|&b| b == 2), "unchanged by the reuse");
        // A small answer is written, not lent.
        assert_eq!(lent.lend_answer(tx.as_fd(), vec![3; 10]), Err(vec![3; 10]));
    }

    #[test]
    fn a_socket_refuses_pages_and_the_result_comes_back() {
        let (a, _b) = std::os::unix::net::UnixStream::pair().expect("socket pair");
        let mut lent = Lent::new();
        let back = lent.lend_from(a.as_fd(), vec![1; 4096], 1);
        assert_eq!(back, Err(vec![1; 4096]));
        assert!(!lent.splicing, "not tried again");
    }
}
