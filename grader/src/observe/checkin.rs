//! The check-in socket, from the grader's side: who connected, by the
//! kernel's account, and holding them at the rendezvous.
//!
//! Nothing here ever blocks: connections are accepted, answered and read
//! without waiting, a bounded number per tick, so that no program can
//! stretch a run past its timeout with connections that never write, or
//! write half a label, or come by the thousand.

use std::io::{Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};

use nix::sys::socket::{getsockopt, sockopt};
use nix::unistd::Pid;

use crate::procfs;

/// How many connections are taken per look; more wait for the next.
const PER_TICK: usize = 64;

/// How many check-ins a run may make; later connections are closed.
const MOST: usize = 4096;

/// A process that checked in, as the kernel describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckIn {
    /// Its pid, from `SO_PEERCRED`, as the grader sees it.
    pub pid: Pid,
    /// Its pid inside the run's PID namespace, which is what the program
    /// itself sees and prints (the same as `pid` without one).
    pub ns_pid: Pid,
    /// Its parent, from `/proc` while it was held.
    pub ppid: Option<Pid>,
    /// The name it gave, such as `Process-1` (as far as it wrote it).
    pub label: String,
}

/// The connections of a run.
pub(super) struct Desk {
    listener: UnixListener,
    /// Every check-in, in order.
    pub(super) checkins: Vec<CheckIn>,
    /// Connections whose label is still coming: (check-in index, stream).
    reading: Vec<(usize, UnixStream, Vec<u8>)>,
}

impl Desk {
    pub(super) fn new(listener: UnixListener) -> Desk {
        Desk {
            listener,
            checkins: Vec::new(),
            reading: Vec::new(),
        }
    }

    /// Takes in pending connections: each is looked up, answered `s` (its
    /// parent may go on), and returned to be held or let go.
    pub(super) fn accept(&mut self) -> Vec<(Pid, UnixStream)> {
        let mut new = Vec::new();
        for _ in 0..PER_TICK {
            let Ok((stream, _)) = self.listener.accept() else {
                break;
            };
            if self.checkins.len() >= MOST || stream.set_nonblocking(true).is_err() {
                continue;
            }
            let Ok(credentials) = getsockopt(&stream, sockopt::PeerCredentials) else {
                continue;
            };
            let pid = Pid::from_raw(credentials.pid());
            let ppid = procfs::stat(pid).map(|s| s.ppid);
            let ns_pid = procfs::ns_pid(pid).unwrap_or(pid);
            let mut stream = stream;
            if stream.write_all(b"s").is_err() {
                continue;
            }
            self.checkins.push(CheckIn {
                pid,
                ns_pid,
                ppid,
                label: String::new(),
            });
            if let Ok(reader) = stream.try_clone() {
                self.reading
                    .push((self.checkins.len() - 1, reader, Vec::new()));
            }
            new.push((pid, stream));
        }
        self.read_labels();
        new
    }

    /// Reads what has come of the labels, without waiting.
    fn read_labels(&mut self) {
        let checkins = &mut self.checkins;
        self.reading.retain_mut(|(index, stream, label)| {
            let mut buffer = [0u8; 256];
            let done = match stream.read(&mut buffer) {
                Ok(0) => true,
                Ok(n) => {
                    label.extend_from_slice(&buffer[..n]);
                    label.contains(&b'\n') || label.len() >= 256
                }
                Err(e) => e.kind() != std::io::ErrorKind::WouldBlock,
            };
            let text = String::from_utf8_lossy(label);
            checkins[*index].label = text.split('\n').next().unwrap_or_default().to_owned();
            !done
        });
    }
}

/// Second answer: lets a held process go on.
pub(super) fn answer(mut stream: UnixStream) {
    let _ = stream.write_all(b"g");
}
