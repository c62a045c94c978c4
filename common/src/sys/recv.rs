//! Receiving one record of a `SOCK_SEQPACKET` socket in pieces: a header
//! into a buffer that is not zeroed first ([`Scratch`]), the body straight
//! into the spare room of the vector it belongs to, and what does not fit
//! into an overflow.

use std::mem::MaybeUninit;
use std::os::fd::{AsRawFd, BorrowedFd};

use nix::errno::Errno;

/// Up to `N` bytes received, on the stack, never zeroed: only the bytes a
/// record filled are ever read.
pub(crate) struct Scratch<const N: usize> {
    bytes: [MaybeUninit<u8>; N],
    len: usize,
}

impl<const N: usize> Scratch<N> {
    /// An empty buffer.
    pub(crate) fn new() -> Scratch<N> {
        Scratch {
            bytes: [const { MaybeUninit::uninit() }; N],
            len: 0,
        }
    }

    /// The bytes the last record filled.
    pub(crate) fn filled(&self) -> &[u8] {
        // SAFETY: the first `len` bytes were written (by the kernel, or by
        // `fill`) since `len` was set.
        unsafe { std::slice::from_raw_parts(self.bytes.as_ptr().cast(), self.len) }
    }

    /// Makes the buffer hold `parts`, one after another, as far as they
    /// fit.
    pub(crate) fn fill(&mut self, parts: &[&[u8]]) {
        let mut len = 0;
        for part in parts {
            let take = part.len().min(N - len);
            for (to, &from) in self.bytes[len..len + take].iter_mut().zip(*part) {
                to.write(from);
            }
            len += take;
        }
        self.len = len;
    }

    fn piece(&mut self) -> libc::iovec {
        libc::iovec {
            iov_base: self.bytes.as_mut_ptr().cast(),
            iov_len: N,
        }
    }
}

/// How a record of [`recv_record`] landed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Landed {
    /// Bytes onto the end of the body.
    pub(crate) body: usize,
    /// The record was longer than the three pieces (`MSG_TRUNC`): the rest
    /// is lost.
    pub(crate) truncated: bool,
}

/// Receives one record from `fd` (non-blocking: `EAGAIN` when none waits)
/// into `head`, then up to `room` bytes onto the end of `body` (its length
/// grows by what landed there), then `overflow`. `Ok(None)`: the other end
/// is closed.
pub(crate) fn recv_record<const H: usize, const O: usize>(
    fd: BorrowedFd<'_>,
    head: &mut Scratch<H>,
    body: &mut Vec<u8>,
    room: usize,
    overflow: &mut Scratch<O>,
) -> nix::Result<Option<Landed>> {
    body.reserve(room);
    let spare = body.spare_capacity_mut();
    let room = room.min(spare.len());
    let mut pieces = [
        head.piece(),
        libc::iovec {
            iov_base: spare.as_mut_ptr().cast(),
            iov_len: room,
        },
        overflow.piece(),
    ];
    let receive = |pieces: &mut [libc::iovec; 3]| {
        // SAFETY: an all-zero msghdr is valid (no name, no control data).
        let mut message: libc::msghdr = unsafe { std::mem::zeroed() };
        message.msg_iov = pieces.as_mut_ptr();
        message.msg_iovlen = pieces.len();
        // SAFETY: every iovec lies in memory borrowed mutably here (the
        // head, the vector's reserved spare room, the overflow), which
        // `recvmsg` writes only within; the msghdr points at the live array.
        let got = unsafe { libc::recvmsg(fd.as_raw_fd(), &raw mut message, libc::MSG_DONTWAIT) };
        let got = usize::try_from(got).map_err(|_| Errno::last())?;
        Ok::<_, Errno>((got, message.msg_flags & libc::MSG_TRUNC != 0))
    };
    let (got, truncated) = match receive(&mut pieces)? {
        // The end, or a record that came as the other end closed: the
        // kernel looks at the queue, finds it empty, and only then, under
        // another lock, at whether the other end has closed, so a record
        // sent just before the close can land between the two looks and
        // the call say "end" with it queued (`__unix_dgram_recvmsg`). A
        // child that sends its answer and exits at once lost it this way
        // about once in 30,000-40,000 starts on a loaded machine (`q4-why-pool`
        // ended in "the other end of the pipe was closed"). Every send is
        // queued before the close that ends the other side, so once the
        // end has been seen a second look finds all that was sent.
        (0, false) => receive(&mut pieces)?,
        landed => landed,
    };
    if got == 0 && !truncated {
        return Ok(None);
    }
    head.len = got.min(H);
    let body_got = (got - head.len).min(room);
    overflow.len = got - head.len - body_got;
    // SAFETY: the kernel filled the pieces in order: these `body_got` bytes
    // past the vector's length are initialised.
    unsafe { body.set_len(body.len() + body_got) };
    Ok(Some(Landed {
        body: body_got,
        truncated,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use nix::sys::socket::{AddressFamily, MsgFlags, SockFlag, SockType, send, socketpair};
    use std::os::fd::{AsFd, OwnedFd};

    /// A record sent just before its writer closes is received, not taken
    /// for the end: a thread sends a record on each of many fresh pairs
    /// and closes at once, while this thread looks again and again, as a
    /// reader spinning for a child's answer does. Without the second look,
    /// four runs of five failed here, 2-4 records of 100,000 lost (a
    /// debug build, the machine loaded).
    #[test]
    fn a_record_sent_just_before_the_close_is_not_lost() {
        const PAIRS: usize = 100_000;
        let (hand, writers) = std::sync::mpsc::channel::<OwnedFd>();
        let sender = std::thread::spawn(move || {
            for writer in writers {
                send(writer.as_raw_fd(), b"record", MsgFlags::MSG_NOSIGNAL).expect("sent");
            }
        });
        let mut lost = 0;
        for _ in 0..PAIRS {
            let (reader, writer) = socketpair(
                AddressFamily::Unix,
                SockType::SeqPacket,
                None,
                SockFlag::SOCK_NONBLOCK | SockFlag::SOCK_CLOEXEC,
            )
            .expect("socketpair");
            hand.send(writer).expect("the sender runs");
            let mut head = Scratch::<16>::new();
            let landed = loop {
                let empty = &mut Scratch::<0>::new();
                match recv_record(reader.as_fd(), &mut head, &mut Vec::new(), 0, empty) {
                    Err(Errno::EAGAIN) => {}
                    landed => break landed.expect("received"),
                }
            };
            match landed {
                Some(_) => assert_eq!(head.filled(), b"record"),
                None => lost += 1,
            }
        }
        drop(hand);
        sender.join().expect("the sender ends");
        assert_eq!(lost, 0, "records taken for the end, of {PAIRS} pairs");
    }
}
