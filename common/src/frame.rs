//! Length-prefixed messages over pipes and sockets: a pool's jobs and
//! outcomes, a [`Connection`](crate::Connection)'s and a
//! [`Queue`](crate::Queue)'s values, and a spawned child's boot frame.
//!
//! A frame is a little-endian `u32` byte count followed by that many bytes of
//! `postcard`. Reads are unbuffered, so that `poll` on the pipe tells the
//! truth about what is left to read.

use std::io::{self, Read, Write};

use serde::Serialize;
use serde::de::DeserializeOwned;

/// Encodes `message` as one frame, ready to write.
pub(crate) fn encode<T: Serialize + ?Sized>(message: &T) -> io::Result<Vec<u8>> {
    let body = postcard::to_stdvec(message).map_err(io::Error::other)?;
    let len = u32::try_from(body.len()).map_err(|_| io::Error::other("frame over 4 GiB"))?;
    let mut frame = Vec::with_capacity(4 + body.len());
    frame.extend_from_slice(&len.to_le_bytes());
    frame.extend_from_slice(&body);
    Ok(frame)
}

/// Writes `message` as one frame, in one `write` call where the pipe allows.
pub(crate) fn write<T: Serialize + ?Sized>(to: &mut impl Write, message: &T) -> io::Result<()> {
    to.write_all(&encode(message)?)
}

/// Takes the first whole frame out of `buffer`, if it holds one: bytes
/// read without waiting, as they came, so that a writer stopped in the
/// middle of a frame never blocks the reader.
pub(crate) fn take<T: DeserializeOwned>(buffer: &mut Vec<u8>) -> Option<io::Result<T>> {
    let len: [u8; 4] = buffer.get(..4)?.try_into().expect("four bytes");
    let end = 4 + u32::from_le_bytes(len) as usize;
    if buffer.len() < end {
        return None;
    }
    let message = postcard::from_bytes(&buffer[4..end])
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e));
    buffer.drain(..end);
    Some(message)
}

/// Reads one frame. `Ok(None)` means the writer closed the pipe between
/// frames; a pipe closed inside a frame is an error.
pub(crate) fn read<T: DeserializeOwned>(from: &mut impl Read) -> io::Result<Option<T>> {
    let mut len = [0u8; 4];
    match from.read_exact(&mut len) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let mut body = vec![0u8; u32::from_le_bytes(len) as usize];
    from.read_exact(&mut body)?;
    postcard::from_bytes(&body)
        .map(Some)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}
