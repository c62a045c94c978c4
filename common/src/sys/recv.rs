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
    // SAFETY: an all-zero msghdr is valid (no name, no control data).
    let mut message: libc::msghdr = unsafe { std::mem::zeroed() };
    message.msg_iov = pieces.as_mut_ptr();
    message.msg_iovlen = pieces.len();
    // SAFETY: every iovec lies in memory borrowed mutably here (the head,
    // the vector's reserved spare room, the overflow), which `recvmsg`
    // writes only within; the msghdr points at the live array.
    let got = unsafe { libc::recvmsg(fd.as_raw_fd(), &raw mut message, libc::MSG_DONTWAIT) };
    let got = usize::try_from(got).map_err(|_| Errno::last())?;
    let truncated = message.msg_flags & libc::MSG_TRUNC != 0;
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
