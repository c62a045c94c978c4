//! Messages as records on a `SOCK_SEQPACKET` socket, under every
//! [`Connection`](crate::Connection): the kernel delivers a record whole or
//! not at all, so a message never arrives torn, even when its writer is
//! killed in the middle of sending.
//!
//! # Records
//!
//! A message goes as one or more records, each a flag byte (`FIRST`,
//! `LAST`) and a piece of the message; the first also carries the whole
//! message's length (8 bytes, little-endian) after its flag. The first
//! record holds at most [`HEAD`] bytes of the message, the others up to a
//! size set by the socket's send buffer (widened to [`SEND_BUFFER`] where
//! the system allows). So the reader takes a first record into a small
//! buffer of its own, and then, knowing the length, makes the message's
//! vector once and receives every further record straight into its place:
//! a large message is copied once on each side (into the socket, out of
//! it), and a small one moves in one system call each way.
//!
//! # Torn messages
//!
//! If the writer dies (or its timed send gives up) before the last record,
//! the reader drops the partial message when the next one's first record
//! comes, and drops stray tails that begin with no first record: the
//! channel stays usable and loses only the torn message. A reader that
//! gives up at its deadline in the middle of a message drops it the same
//! way.

use std::io::IoSlice;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::sync::OnceLock;
use std::time::Instant;

use nix::errno::Errno;
use nix::sys::socket::{MsgFlags, sendmsg, setsockopt, sockopt};

use crate::error::{Error, Result};
use crate::sys::recv::{Landed, Scratch, recv_record};
use crate::sys::spin::Spin;

/// The most bytes of a message its first record carries.
pub(crate) const HEAD: usize = 16 * 1024;

/// The send buffer asked for each socket: a larger one lets a large
/// message go in fewer, larger records (the system may allow less:
/// `net.core.wmem_max`, 208 KiB by default, of which the kernel grants
/// twice).
pub(crate) const SEND_BUFFER: usize = 1 << 20;

const FIRST: u8 = 1;
const LAST: u8 = 2;
/// A first record's header: the flag and the message's length.
const FIRST_HEADER: usize = 9;

/// A record as an observer finds it: whether it begins a message, whether
/// it ends one, and its piece of the message; `None` for bytes that are no
/// record.
pub(crate) fn record_parts(record: &[u8]) -> Option<(bool, bool, &[u8])> {
    let (&flags, rest) = record.split_first()?;
    let last = flags & LAST != 0;
    if flags & FIRST != 0 {
        let piece = rest.get(FIRST_HEADER - 1..)?;
        Some((true, last, piece))
    } else {
        Some((false, last, rest))
    }
}

/// A connected pair of `SOCK_SEQPACKET` sockets: (read end, write end).
pub(crate) fn pair() -> Result<(OwnedFd, OwnedFd)> {
    use nix::sys::socket::{AddressFamily, SockFlag, SockType, socketpair};
    let (a, b) = socketpair(
        AddressFamily::Unix,
        SockType::SeqPacket,
        None,
        SockFlag::SOCK_CLOEXEC | SockFlag::SOCK_NONBLOCK,
    )
    .map_err(|e| Error::os("socketpair", e))?;
    widen(&a);
    widen(&b);
    Ok((a, b))
}

/// Asks for [`SEND_BUFFER`] bytes of send buffer on `socket` (as far as
/// the system allows: nothing fails if it allows less).
pub(crate) fn widen(socket: &OwnedFd) {
    let _ = setsockopt(socket, sockopt::SndBuf, &SEND_BUFFER);
}

/// The largest record this process sends after a first one: half the
/// send buffer a widened socket gets (so that two are in flight at once),
/// between 32 KiB and 1 MiB. Asked of the kernel once. Larger records are
/// fewer system calls and fewer wake-ups of a waiting reader: 500 messages
/// of 1 MiB (`bench --measure pipe_bytes`, a 2 MiB buffer granted) took
/// 76 ms at the median with records of 256 KiB, 49 ms with 512 KiB and
/// 39 ms with 1 MiB, and their slowest of 30-40 runs 91, 62 and 50 ms.
fn record_size(socket: &OwnedFd) -> usize {
    static SIZE: OnceLock<usize> = OnceLock::new();
    *SIZE.get_or_init(|| {
        let granted = nix::sys::socket::getsockopt(socket, sockopt::SndBuf).unwrap_or(0);
        (granted / 2 / 4096 * 4096).clamp(32 << 10, 1 << 20)
    })
}

/// Sends `value` as records by `deadline` (`None`: however long it
/// takes). `false` if the deadline passed first (a value cut short is
/// dropped by its reader).
pub(crate) fn send_value(to: &OwnedFd, value: &[u8], deadline: Option<Instant>) -> Result<bool> {
    let mut header = [0u8; FIRST_HEADER];
    header[1..].copy_from_slice(&(value.len() as u64).to_le_bytes());
    let mut limit = HEAD;
    let mut sent = loop {
        let head = value.len().min(limit);
        header[0] = FIRST | if head == value.len() { LAST } else { 0 };
        match sized(
            send_record(to, &header, &value[..head], deadline),
            &mut limit,
        )? {
            Some(true) => break head,
            Some(false) => return Ok(false),
            None => {}
        }
    };
    let mut limit = record_size(to);
    while sent < value.len() {
        let piece = (value.len() - sent).min(limit);
        let flag = [if sent + piece == value.len() { LAST } else { 0 }];
        match sized(
            send_record(to, &flag, &value[sent..sent + piece], deadline),
            &mut limit,
        )? {
            Some(true) => sent += piece,
            Some(false) => return Ok(false),
            None => {}
        }
    }
    Ok(true)
}

/// What a record's send came to: `None` if the record was too large for
/// the socket's send buffer (narrower than this process's own: made
/// elsewhere, or the system's default lowered), and `limit`, the most a
/// record carries, is halved for the next try.
fn sized(sent: Result<bool>, limit: &mut usize) -> Result<Option<bool>> {
    match sent {
        Ok(sent) => Ok(Some(sent)),
        Err(Error::Os { source, .. })
            if source.raw_os_error() == Some(libc::EMSGSIZE) && *limit > 256 =>
        {
            *limit /= 2;
            Ok(None)
        }
        Err(error) => Err(error),
    }
}

/// Sends one record, `header` then `body`, by `deadline`; `false` if the
/// deadline passed first.
fn send_record(
    to: &OwnedFd,
    header: &[u8],
    body: &[u8],
    deadline: Option<Instant>,
) -> Result<bool> {
    let pieces = [IoSlice::new(header), IoSlice::new(body)];
    loop {
        match sendmsg::<()>(
            to.as_fd().as_raw_fd(),
            &pieces,
            &[],
            MsgFlags::MSG_NOSIGNAL,
            None,
        ) {
            Ok(_) => return Ok(true),
            Err(Errno::EAGAIN | Errno::EINTR | Errno::ENOBUFS) => {
                if !writable(to, deadline)? {
                    return Ok(false);
                }
            }
            Err(e) => return Err(Error::os("send a message", e)),
        }
    }
}

/// A first record's buffer: its header and [`HEAD`] bytes.
type First = Scratch<{ FIRST_HEADER + HEAD }>;

/// Receives one whole value by `deadline` (`None`: however long it
/// takes); `None` if the deadline passed first.
pub(crate) fn receive_value(from: &OwnedFd, deadline: Option<Instant>) -> Result<Option<Vec<u8>>> {
    Ok(
        match receive_value_waiting(from, Waiting::new(deadline), deadline)? {
            Received::Value(value) => Some(value),
            Received::Nothing | Received::Cut => None,
        },
    )
}

/// Receives one whole value if its first record is here already (`None`
/// at once if not: nothing is consumed); the rest of a value sent in
/// several records by `rest_deadline`.
pub(crate) fn try_receive_value(
    from: &OwnedFd,
    rest_deadline: Option<Instant>,
) -> Result<Option<Vec<u8>>> {
    match receive_value_waiting(from, Waiting::new(Some(Instant::now())), rest_deadline)? {
        Received::Value(value) => Ok(Some(value)),
        Received::Nothing => Ok(None),
        Received::Cut => Err(Error::os(
            "receive a message",
            std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "the rest of a message did not come in time",
            ),
        )),
    }
}

/// What [`receive_value_waiting`] got.
enum Received {
    Value(Vec<u8>),
    /// No message began by the deadline.
    Nothing,
    /// A message began, but its rest did not come by the deadline.
    Cut,
}

/// [`receive_value`], waiting for a first record by `waiting` and for the
/// records after it by `rest_deadline`.
fn receive_value_waiting(
    from: &OwnedFd,
    mut waiting: Waiting,
    rest_deadline: Option<Instant>,
) -> Result<Received> {
    let mut first = First::new();
    loop {
        let Some(landed) = receive(
            from,
            &mut first,
            &mut Vec::new(),
            0,
            &mut Scratch::<0>::new(),
            &mut waiting,
        )?
        else {
            return Ok(Received::Nothing);
        };
        // A record too long for a first one is a later record: with no
        // first before it, a stray tail of a torn message.
        let mut torn = landed.truncated;
        loop {
            let record = first.filled();
            if torn || record.len() < FIRST_HEADER || record[0] & FIRST == 0 {
                break;
            }
            let head = &record[FIRST_HEADER..];
            if record[0] & LAST != 0 {
                return Ok(Received::Value(head.to_vec()));
            }
            let total = u64::from_le_bytes(record[1..FIRST_HEADER].try_into().expect("8 bytes"));
            let total = usize::try_from(total).unwrap_or(usize::MAX);
            let mut value = Vec::new();
            value.try_reserve_exact(total).map_err(|_| {
                Error::os(
                    "receive a message",
                    std::io::Error::from(std::io::ErrorKind::OutOfMemory),
                )
            })?;
            value.extend_from_slice(head);
            let mut rest = Waiting::new(rest_deadline);
            match receive_rest(from, &mut value, total, &mut first, &mut rest)? {
                // The next message's first record came instead: it is in
                // `first` now.
                Rest::Next { truncated } => torn = truncated,
                Rest::Whole => return Ok(Received::Value(value)),
                Rest::TimedOut => return Ok(Received::Cut),
            }
        }
    }
}

/// How the rest of a message went.
enum Rest {
    /// It came whole.
    Whole,
    /// It was torn: the first record of the next message came instead, and
    /// is in the first-record buffer (`truncated`: longer than a first
    /// record can be, so garbage).
    Next {
        truncated: bool,
    },
    TimedOut,
}

/// Receives the records after the first of a message of `total` bytes,
/// straight onto the end of `value`.
fn receive_rest(
    from: &OwnedFd,
    value: &mut Vec<u8>,
    total: usize,
    first: &mut First,
    waiting: &mut Waiting,
) -> Result<Rest> {
    let mut flag = Scratch::<1>::new();
    // A record longer than the room left belongs to another message (a
    // first record): the overflow catches what does not fit.
    let mut overflow = First::new();
    loop {
        let before = value.len();
        let room = total.saturating_sub(before);
        let Some(landed) = receive(from, &mut flag, value, room, &mut overflow, waiting)? else {
            return Ok(Rest::TimedOut);
        };
        let flags = flag.filled().first().copied().unwrap_or(0);
        if flags & FIRST != 0 {
            // Torn: this record begins the next message. Move it to the
            // first-record buffer and forget what came of this one.
            first.fill(&[&[flags], &value[before..], overflow.filled()]);
            value.truncate(before);
            return Ok(Rest::Next {
                truncated: landed.truncated,
            });
        }
        if flags & LAST != 0 {
            return Ok(Rest::Whole);
        }
    }
}

/// Receives one record into `head`, then up to `room` bytes onto `body`,
/// then `overflow`; `None` at the deadline.
fn receive<const H: usize, const O: usize>(
    from: &OwnedFd,
    head: &mut Scratch<H>,
    body: &mut Vec<u8>,
    room: usize,
    overflow: &mut Scratch<O>,
    waiting: &mut Waiting,
) -> Result<Option<Landed>> {
    loop {
        match recv_record(from.as_fd(), head, body, room, overflow) {
            Ok(Some(landed)) => return Ok(Some(landed)),
            Ok(None) => return Err(Error::PipeClosed),
            Err(Errno::EAGAIN | Errno::EINTR) => {
                if !waiting.readable(from)? {
                    return Ok(None);
                }
            }
            Err(e) => return Err(Error::os("receive a message", e)),
        }
    }
}

/// A wait for records by a deadline: first a spin of looks again and
/// again (the other end is often about to answer: see `sys::spin`), then
/// sleeps in `poll`.
struct Waiting {
    deadline: Option<Instant>,
    /// The spin; `None` once it is over.
    spin: Option<Spin>,
}

impl Waiting {
    fn new(deadline: Option<Instant>) -> Waiting {
        Waiting {
            deadline,
            spin: Some(Spin::new(deadline)),
        }
    }

    /// Waits until `fd` may be readable: a pause of the spin, or a sleep
    /// once the spin is over; `false` once the deadline has passed.
    fn readable(&mut self, fd: &OwnedFd) -> Result<bool> {
        if self
            .deadline
            .is_some_and(|deadline| Instant::now() >= deadline)
        {
            return Ok(false);
        }
        if let Some(spin) = self.spin.as_mut() {
            if spin.pause() {
                return Ok(true);
            }
            self.spin = None;
        }
        readable(fd, self.deadline)
    }
}

fn readable(fd: &OwnedFd, deadline: Option<Instant>) -> Result<bool> {
    let mut fds = [nix::poll::PollFd::new(
        fd.as_fd(),
        nix::poll::PollFlags::POLLIN,
    )];
    crate::sys::poll_until(&mut fds, deadline).map_err(|e| Error::os("poll a socket", e))
}

fn writable(fd: &OwnedFd, deadline: Option<Instant>) -> Result<bool> {
    ready(fd, deadline, nix::poll::PollFlags::POLLOUT)
}

/// Waits until `fd` is ready for `events`, by `deadline`, spinning a
/// little before it sleeps: the other end is often about to answer.
fn ready(fd: &OwnedFd, deadline: Option<Instant>, events: nix::poll::PollFlags) -> Result<bool> {
    let mut fds = [nix::poll::PollFd::new(fd.as_fd(), events)];
    crate::sys::poll_until_spinning(&mut fds, deadline).map_err(|e| Error::os("poll a socket", e))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Sends `message` from a thread (it may not fit the socket's buffer)
    /// while this thread receives it.
    fn through(message: Vec<u8>) -> Vec<u8> {
        let (reader, writer) = pair().expect("pair");
        let sender = std::thread::spawn(move || {
            assert!(send_value(&writer, &message, None).expect("sent"));
            writer
        });
        let got = receive_value(&reader, None)
            .expect("received")
            .expect("no deadline");
        drop(sender.join().expect("the sender ends"));
        got
    }

    #[test]
    fn messages_of_every_size_arrive_whole() {
        for len in [0, 1, HEAD - 1, HEAD, HEAD + 1, 3 << 20] {
            let message: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
            assert_eq!(through(message.clone()), message, "{len} bytes");
        }
    }

    #[test]
    fn a_socket_with_a_narrow_send_buffer_gets_smaller_records() {
        let (reader, writer) = pair().expect("pair");
        // The kernel's least: far below the records this process sends.
        setsockopt(&writer, sockopt::SndBuf, &0).expect("narrowed");
        let message: Vec<u8> = (0..1 << 20).map(|i| (i % 253) as u8).collect();
        let expected = message.clone();
        let sender = std::thread::spawn(move || {
            assert!(send_value(&writer, &message, None).expect("sent"));
            writer
        });
        let got = receive_value(&reader, None).expect("received");
        drop(sender.join().expect("the sender ends"));
        assert_eq!(got, Some(expected));
    }

    /// What an observer copies of each record as it is received parses
    /// back into the message, whatever its size.
    #[test]
    fn an_observer_reassembles_each_message_from_its_records() {
        for len in [0, 5, HEAD, 3 * HEAD + 7] {
            let (reader, writer) = pair().expect("pair");
            let message: Vec<u8> = (0..len).map(|i| (i % 249) as u8).collect();
            let sent = message.clone();
            let sender = std::thread::spawn(move || {
                assert!(send_value(&writer, &sent, None).expect("sent"));
                writer
            });
            let mut whole = Vec::new();
            loop {
                let mut record = vec![0u8; 1 << 20];
                let n = loop {
                    match nix::sys::socket::recv(reader.as_raw_fd(), &mut record, MsgFlags::empty())
                    {
                        Err(Errno::EAGAIN) => std::thread::yield_now(),
                        got => break got.expect("a record"),
                    }
                };
                let (first, last, piece) = record_parts(&record[..n]).expect("a record");
                assert_eq!(
                    first,
                    whole.is_empty(),
                    "the first record begins the message"
                );
                whole.extend_from_slice(piece);
                if last {
                    break;
                }
            }
            drop(sender.join().expect("the sender ends"));
            assert_eq!(whole, message, "{len} bytes");
        }
    }

    #[test]
    fn a_torn_message_and_a_stray_tail_are_dropped() {
        let (reader, writer) = pair().expect("pair");
        // A stray tail: a later record with no first before it.
        send_record(&writer, &[0], b"stray", None).expect("sent");
        // A first record of 20 bytes, then nothing more of it: torn.
        let mut header = [FIRST; FIRST_HEADER];
        header[1..].copy_from_slice(&20u64.to_le_bytes());
        send_record(&writer, &header, b"torn", None).expect("sent");
        let whole: Vec<u8> = (0..HEAD * 3).map(|i| i as u8).collect();
        assert!(send_value(&writer, &whole, None).expect("sent"));
        assert!(send_value(&writer, b"small", None).expect("sent"));
        let got = receive_value(&reader, None).expect("received");
        assert_eq!(got.as_deref(), Some(&whole[..]));
        let got = receive_value(&reader, None).expect("received");
        assert_eq!(got.as_deref(), Some(&b"small"[..]));
        assert_eq!(
            receive_value(&reader, Some(Instant::now())).expect("looked"),
            None,
            "nothing more"
        );
    }

    #[test]
    fn a_reader_gives_up_at_its_deadline_and_the_end_is_seen() {
        let (reader, writer) = pair().expect("pair");
        let soon = Instant::now() + std::time::Duration::from_millis(20);
        assert_eq!(receive_value(&reader, Some(soon)).expect("looked"), None);
        assert!(Instant::now() >= soon);
        drop(writer);
        assert!(matches!(
            receive_value(&reader, None),
            Err(Error::PipeClosed)
        ));
    }
}
