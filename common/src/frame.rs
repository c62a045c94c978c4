//! Length-prefixed messages over pipes and sockets: a pool's job headers
//! and a spawned child's boot frame.
//!
//! A frame is a little-endian `u32` byte count followed by that many bytes of
//! `postcard`. Reads are unbuffered, so that `poll` on the pipe tells the
//! truth about what is left to read.

use std::io::{self, Read};

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

/// The bytes of a frame's length.
pub(crate) const LEN_BYTES: usize = 4;

/// The length of the body that follows a frame's length bytes.
pub(crate) fn body_len(len: [u8; LEN_BYTES]) -> usize {
    u32::from_le_bytes(len) as usize
}

/// A frame's body, decoded.
pub(crate) fn decode<T: DeserializeOwned>(body: &[u8]) -> io::Result<T> {
    postcard::from_bytes(body).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

/// Reads one frame. `Ok(None)` means the writer closed the pipe between
/// frames; a pipe closed inside a frame is an error.
pub(crate) fn read<T: DeserializeOwned>(from: &mut impl Read) -> io::Result<Option<T>> {
    let mut len = [0u8; LEN_BYTES];
    match from.read_exact(&mut len) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let mut body = vec![0u8; body_len(len)];
    from.read_exact(&mut body)?;
    decode(&body).map(Some)
}
