//! The handshake that lets a [`Listener`](crate::Listener) and a
//! [`client`](crate::client) prove to each other that they know the same
//! authentication key, without sending it.
//!
//! The listener sends a random 32-byte challenge, the client answers with
//! its HMAC-SHA256 under the key, the listener checks it (in constant time)
//! and says `welcome` or `failure`; then the same the other way round.
//! Python does the same, with its own message format, so the two do not
//! talk to each other. A handshake has [`HANDSHAKE`] to finish, so a silent
//! peer cannot hold up `accept` for good, and its messages may be at most
//! [`LONGEST`] bytes: a peer that sends more has failed, whatever it sends.

use std::io::Read;
use std::time::Duration;

use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::Connection;
use crate::error::{Error, Result};

/// How long either side of a handshake waits for the other.
pub const HANDSHAKE: Duration = Duration::from_secs(10);

/// The longest message of a handshake.
const LONGEST: usize = 64;

const CHALLENGE: &[u8] = b"#CHALLENGE#";
const WELCOME: &[u8] = b"#WELCOME#";
const FAILURE: &[u8] = b"#FAILURE#";

/// Sends a challenge and checks the answer; tells the peer the verdict.
pub(super) fn deliver_challenge<T>(conn: &Connection<T>, key: &[u8]) -> Result<()> {
    let mut nonce = [0u8; 32];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut random| random.read_exact(&mut nonce))
        .map_err(|e| Error::os("read /dev/urandom", e))?;
    conn.send_bytes(&[CHALLENGE, &nonce].concat())?;
    let answer = receive(conn)?;
    if mac(key).chain_update(nonce).verify_slice(&answer).is_ok() {
        conn.send_bytes(WELCOME)
    } else {
        let _ = conn.send_bytes(FAILURE);
        Err(Error::AuthenticationFailed)
    }
}

/// Answers the peer's challenge; fails unless it says welcome.
pub(super) fn answer_challenge<T>(conn: &Connection<T>, key: &[u8]) -> Result<()> {
    let challenge = receive(conn)?;
    let Some(nonce) = challenge.strip_prefix(CHALLENGE) else {
        return Err(Error::AuthenticationFailed);
    };
    let answer = mac(key).chain_update(nonce).finalize().into_bytes();
    conn.send_bytes(&answer)?;
    match receive(conn) {
        Ok(verdict) if verdict == WELCOME => Ok(()),
        _ => Err(Error::AuthenticationFailed),
    }
}

/// The peer's next handshake message, if it comes in time and is short.
fn receive<T>(conn: &Connection<T>) -> Result<Vec<u8>> {
    conn.recv_bytes_limited(LONGEST, HANDSHAKE)
        .map_err(|_| Error::AuthenticationFailed)
}

fn mac(key: &[u8]) -> Hmac<Sha256> {
    <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes a key of any length")
}
