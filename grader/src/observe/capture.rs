//! Reading a run's output: a thread per stream reads its pipe into memory,
//! so that what it read is kept even if the pipe never closes.

use std::io::Read;
use std::sync::{Arc, Mutex, PoisonError, mpsc};
use std::thread;
use std::time::Duration;

/// How much of each output stream is kept; the rest is read and counted.
pub const OUTPUT_CAP: usize = 1 << 20;

/// Output captured from one stream.
#[derive(Debug, Clone, Default)]
pub struct Captured {
    /// The first [`OUTPUT_CAP`] bytes.
    pub bytes: Vec<u8>,
    /// How many bytes were written in all.
    pub total: u64,
}

impl Captured {
    /// The kept bytes as text, with invalid UTF-8 replaced.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }
}

/// A thread reading one output stream.
pub(super) struct Capture {
    captured: Arc<Mutex<Captured>>,
    done: mpsc::Receiver<()>,
}

/// Starts reading `stream` on a thread of its own.
pub(super) fn capture(mut stream: impl Read + Send + 'static) -> Capture {
    let captured = Arc::new(Mutex::new(Captured::default()));
    let (tx, done) = mpsc::channel();
    let shared = Arc::clone(&captured);
    thread::spawn(move || {
        let mut buffer = [0u8; 64 * 1024];
        while let Ok(n) = stream.read(&mut buffer) {
            if n == 0 {
                break;
            }
            let mut captured = shared.lock().unwrap_or_else(PoisonError::into_inner);
            let room = OUTPUT_CAP.saturating_sub(captured.bytes.len());
            captured.bytes.extend_from_slice(&buffer[..n.min(room)]);
            captured.total += n as u64;
        }
        drop(tx);
    });
    Capture { captured, done }
}

impl Capture {
    /// Whether the pipe closes within `wait` (or already has).
    pub(super) fn closed_within(&self, wait: Duration) -> bool {
        matches!(
            self.done.recv_timeout(wait),
            Err(mpsc::RecvTimeoutError::Disconnected)
        )
    }

    /// What was read, once the pipe closes or `wait` has passed (a stray
    /// process may hold it open; its reader is abandoned).
    pub(super) fn collect(self, wait: Duration) -> Captured {
        self.closed_within(wait);
        self.captured
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}
