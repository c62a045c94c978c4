//! Pipes, and descriptors received over a socket (`SCM_RIGHTS`).

use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

use nix::fcntl::OFlag;

use crate::error::{Error, Result};

/// Creates a pipe whose ends close on `exec` (they are inherited by `fork`).
pub(crate) fn pipe() -> Result<(OwnedFd, OwnedFd)> {
    nix::unistd::pipe2(OFlag::O_CLOEXEC).map_err(|e| Error::os("pipe", e))
}

/// Asks for `fd`'s pipe to hold up to `bytes` (`F_SETPIPE_SZ`), as far as
/// the system allows (`/proc/sys/fs/pipe-max-size`, 1 MiB by default);
/// returns what it holds. A pool's pipes are widened so that a large job or
/// answer crosses in few system calls and without waiting on the reader.
pub(crate) fn widen_pipe(fd: &OwnedFd, bytes: usize) -> usize {
    // Read once: a pool widens four pipes per worker it starts.
    static MAX: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    let max = *MAX.get_or_init(|| {
        std::fs::read_to_string("/proc/sys/fs/pipe-max-size")
            .ok()
            .and_then(|text| text.trim().parse::<usize>().ok())
            .unwrap_or(1 << 20)
    });
    let want = libc::c_int::try_from(bytes.min(max)).unwrap_or(libc::c_int::MAX);
    nix::fcntl::fcntl(fd, nix::fcntl::FcntlArg::F_SETPIPE_SZ(want))
        .ok()
        .and_then(|size| usize::try_from(size).ok())
        .unwrap_or(64 * 1024)
}

/// Receives `count` file descriptors sent over `socket` in one message
/// (SCM_RIGHTS), as a spawned pool worker receives its pool's progress
/// counters and a spawned process the pipes among its arguments.
pub(crate) fn receive_fds(
    socket: &std::os::unix::net::UnixStream,
    count: usize,
) -> Option<Vec<OwnedFd>> {
    let mut byte = [0u8; 1];
    let mut iov = [std::io::IoSliceMut::new(&mut byte)];
    // Room for the most descriptors one message can carry (SCM_MAX_FD).
    let mut space = nix::cmsg_space!([RawFd; 253]);
    let message = nix::sys::socket::recvmsg::<()>(
        socket.as_raw_fd(),
        &mut iov,
        Some(&mut space),
        nix::sys::socket::MsgFlags::MSG_CMSG_CLOEXEC,
    )
    .ok()?;
    let mut received = Vec::new();
    for cmsg in message.cmsgs().ok()? {
        if let nix::sys::socket::ControlMessageOwned::ScmRights(fds) = cmsg {
            for fd in fds {
                // SAFETY: the kernel just installed this descriptor in this
                // process for us; nothing else owns it.
                received.push(unsafe { OwnedFd::from_raw_fd(fd) });
            }
        }
    }
    (received.len() == count).then_some(received)
}

/// Receives one message carrying one file descriptor over `socket`, as the
/// fork server receives each request: `Ok(None)` at end-of-file (the
/// sender is gone); `EMFILE` when a message came but its descriptor could
/// not be installed (this process's descriptor table is full, the one
/// reason the kernel drops a passed descriptor).
pub(crate) fn receive_fd(socket: &std::os::unix::net::UnixStream) -> nix::Result<Option<OwnedFd>> {
    use nix::sys::socket::{ControlMessageOwned, MsgFlags, recvmsg};
    let mut byte = [0u8; 1];
    let mut iov = [std::io::IoSliceMut::new(&mut byte)];
    let mut space = nix::cmsg_space!([RawFd; 1]);
    let message = loop {
        match recvmsg::<()>(
            socket.as_raw_fd(),
            &mut iov,
            Some(&mut space),
            MsgFlags::MSG_CMSG_CLOEXEC,
        ) {
            Err(nix::errno::Errno::EINTR) => {}
            received => break received?,
        }
    };
    if message.bytes == 0 {
        return Ok(None);
    }
    let mut fds = Vec::new();
    for cmsg in message.cmsgs()? {
        if let ControlMessageOwned::ScmRights(received) = cmsg {
            // SAFETY: the kernel just installed these descriptors in this
            // process for us; nothing else owns them.
            fds.extend(
                received
                    .into_iter()
                    .map(|fd| unsafe { OwnedFd::from_raw_fd(fd) }),
            );
        }
    }
    match fds.len() {
        0 => Err(nix::errno::Errno::EMFILE),
        1 => Ok(fds.pop()),
        // More than asked for: none is kept.
        _ => Err(nix::errno::Errno::EINVAL),
    }
}

/// Takes ownership of `fd`, a descriptor a system call just made for this
/// process (`accept4`), which nothing else owns.
pub(crate) fn own_fd(fd: RawFd) -> OwnedFd {
    // SAFETY: the caller passes a descriptor just returned by the kernel,
    // open and owned by no other value.
    unsafe { OwnedFd::from_raw_fd(fd) }
}

/// Reads at most `max` bytes from `fd` onto the end of `buffer`, straight
/// into its spare room (no zeroing, no bounce buffer). `Ok(0)`: end of
/// file; `EAGAIN` as an error for a non-blocking `fd` with nothing to read.
pub(crate) fn read_onto(
    fd: BorrowedFd<'_>,
    buffer: &mut Vec<u8>,
    max: usize,
) -> nix::Result<usize> {
    buffer.reserve(max);
    let spare = buffer.spare_capacity_mut();
    let len = spare.len().min(max);
    // SAFETY: `read` writes at most `len` bytes into the spare capacity,
    // which is allocated and ours; only the bytes it reports written are
    // then counted as the vector's.
    let read = unsafe { libc::read(fd.as_raw_fd(), spare.as_mut_ptr().cast(), len) };
    let read = usize::try_from(read).map_err(|_| nix::errno::Errno::last())?;
    // SAFETY: the kernel initialised exactly `read` bytes past the length.
    unsafe { buffer.set_len(buffer.len() + read) };
    Ok(read)
}

/// Hands the pages under `slices` to the pipe `fd` instead of copying them
/// (`vmsplice`): the reader copies them straight out of this process's
/// memory. The pipe takes the bytes as they are when the reader reads
/// them, so the caller must leave them unchanged (and allocated, or at
/// least not reused) until the reader has read them all. `EINVAL` or
/// `EBADF`: `fd` is not a pipe.
/// `wait`: block while the pipe is full (else `EAGAIN`).
pub(crate) fn splice_pages(
    fd: BorrowedFd<'_>,
    slices: &[std::io::IoSlice<'_>],
    wait: bool,
) -> nix::Result<usize> {
    use nix::fcntl::SpliceFFlags;
    let flags = if wait {
        SpliceFFlags::empty()
    } else {
        SpliceFFlags::SPLICE_F_NONBLOCK
    };
    nix::fcntl::vmsplice(fd, slices, flags)
}

/// How many bytes wait in the pipe `fd` (either end) for its reader
/// (`FIONREAD`).
pub(crate) fn unread(fd: BorrowedFd<'_>) -> nix::Result<usize> {
    let mut count: libc::c_int = 0;
    // SAFETY: FIONREAD writes one int, into `count`, which is live.
    let done = unsafe { libc::ioctl(fd.as_raw_fd(), libc::FIONREAD, &raw mut count) };
    nix::errno::Errno::result(done)?;
    Ok(usize::try_from(count).unwrap_or(0))
}

/// Reads into each of `vectors` until it holds the matching one of
/// `lengths` bytes, in order, from `fd` (blocking): one `readv` takes as
/// much as the pipe holds, straight into place. An early end of file is
/// an error.
pub(crate) fn fill_vectors(
    fd: BorrowedFd<'_>,
    vectors: &mut [Vec<u8>],
    lengths: &[usize],
) -> std::io::Result<()> {
    /// The most pieces one `readv` fills (the kernel's limit).
    const GATHER: usize = 1024;
    assert_eq!(vectors.len(), lengths.len(), "a length for each vector");
    for (vector, &length) in vectors.iter_mut().zip(lengths) {
        vector.reserve_exact(length.saturating_sub(vector.len()));
    }
    let mut first = 0;
    loop {
        while first < vectors.len() && vectors[first].len() >= lengths[first] {
            first += 1;
        }
        if first == vectors.len() {
            return Ok(());
        }
        let mut slices: Vec<libc::iovec> = vectors[first..]
            .iter_mut()
            .zip(&lengths[first..])
            .take(GATHER)
            .map(|(vector, &length)| {
                let missing = length.saturating_sub(vector.len());
                libc::iovec {
                    iov_base: vector.spare_capacity_mut().as_mut_ptr().cast(),
                    iov_len: missing,
                }
            })
            .collect();
        // SAFETY: each iovec lies in the spare capacity of a vector borrowed
        // mutably here (reserved above to hold its length), allocated and
        // unused; `readv` writes only there.
        let read = unsafe {
            libc::readv(
                fd.as_raw_fd(),
                slices.as_mut_ptr(),
                i32::try_from(slices.len()).expect("at most GATHER"),
            )
        };
        let mut read = match usize::try_from(read) {
            Ok(0) => return Err(std::io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => n,
            Err(_) if nix::errno::Errno::last() == nix::errno::Errno::EINTR => continue,
            Err(_) => return Err(std::io::Error::last_os_error()),
        };
        for (vector, &length) in vectors[first..].iter_mut().zip(&lengths[first..]) {
            let took = length.saturating_sub(vector.len()).min(read);
            // SAFETY: the kernel filled the pieces in order: these `took`
            // bytes past this vector's length are initialised.
            unsafe { vector.set_len(vector.len() + took) };
            read -= took;
            if read == 0 {
                break;
            }
        }
    }
}
