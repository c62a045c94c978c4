//! The manager's server process: it owns every shared object and answers
//! requests from any number of connections, one at a time, so each request
//! is whole (no other process sees half of it).

use std::collections::HashMap;
use std::os::fd::AsFd;
use std::time::Duration;

use indexmap::IndexMap;

use super::wire::{Bytes, Kind, Reply, Request};
use crate::connection::{Address, Connection, Listener, wait};
use crate::error::Error;
use crate::sys::spin::Spin;

/// How long the server waits for the rest of a request a client started.
const REQUEST: Duration = Duration::from_secs(10);

/// What the server was asked to serve, and where it says how that went:
/// the address it listens at (port 0 made real), or why it cannot.
pub(super) type Start = (Address, Vec<u8>, Connection<Result<Address, String>>);

enum Object {
    /// A dict or namespace: its entries in insertion order, as Python's.
    Map(IndexMap<Bytes, Bytes>),
    List(Vec<Bytes>),
}

/// An object, its kind, and its version (bumped by every change to it).
struct Entry {
    kind: Kind,
    object: Object,
    version: u64,
}

/// Every object the server keeps.
#[derive(Default)]
struct Objects {
    entries: HashMap<u64, Entry>,
    names: HashMap<String, u64>,
}

/// The server's entry point, run in its own process: listens at `address`
/// with `authkey`, says where on `ready` (or why it cannot), then serves
/// until told to stop or its parent goes.
pub(super) fn serve((address, authkey, ready): Start) {
    let listener = match Listener::bind(address.clone(), Some(&authkey)) {
        Ok(listener) => listener,
        Err(error) => {
            let _ = ready.send(&Err(format!("cannot listen at {address}: {error}")));
            std::process::exit(1);
        }
    };
    if ready.send(&Ok(listener.address().clone())).is_err() {
        return;
    }
    drop(ready);
    let mut objects = Objects::default();
    let mut clients: Vec<Connection<Reply>> = Vec::new();
    let mut turns = Turns::default();
    loop {
        // A client that was just answered often asks again at once: its
        // socket alone is tried, spinning (see `sys::spin`), before all are
        // polled (one system call a request fewer), but only for so many
        // requests in a row (see `Turns`).
        if let Some(i) = turns.fast() {
            let mut spin = Spin::new(None);
            let received = loop {
                match clients[i].try_recv_as::<Request>(crate::sys::deadline_in(REQUEST)) {
                    Ok(None) if spin.pause() => {}
                    received => break received,
                }
            };
            match received {
                Ok(None) => turns.end(),
                received => match answer(&mut objects, &clients[i], received) {
                    Served::Answered => turns.answered(i),
                    Served::Gone => {
                        clients.remove(i);
                        turns.end();
                    }
                    Served::Stop => return,
                },
            }
            if turns.fast().is_some() {
                continue;
            }
        }
        let mut fds = vec![listener.as_fd()];
        fds.extend(clients.iter().map(AsFd::as_fd));
        let Ok(ready) = wait(&fds, None) else {
            return;
        };
        turns.end();
        let mut gone = Vec::new();
        for &i in &ready {
            if i == 0 {
                // A client that fails the handshake is simply not let in.
                if let Ok(client) = listener.accept() {
                    clients.push(client);
                }
                continue;
            }
            let client = &clients[i - 1];
            let received = client.recv_as::<Request>(crate::sys::deadline_in(REQUEST));
            match answer(&mut objects, client, received) {
                Served::Answered => turns.answered(i - 1),
                Served::Gone => gone.push(i - 1),
                Served::Stop => return,
            }
        }
        if !gone.is_empty() {
            turns.end();
        }
        for i in gone.into_iter().rev() {
            clients.remove(i);
        }
    }
}

/// How many requests in a row the client answered last may have from the
/// fast path before every socket (the listener's too) is polled.
const STREAK: usize = 64;

/// Whose socket the server tries alone next: the client answered last, if
/// it has had fewer than [`STREAK`] answers since the last poll of all, so
/// that a client asking without pause keeps neither the others nor a new
/// connection waiting for more than that many of its requests.
#[derive(Default)]
struct Turns {
    /// The client answered last, and its answers since the last poll.
    last: Option<(usize, usize)>,
}

impl Turns {
    /// The client to try alone now, if any.
    fn fast(&self) -> Option<usize> {
        self.last
            .filter(|&(_, streak)| streak < STREAK)
            .map(|(i, _)| i)
    }

    /// Client `i` was answered.
    fn answered(&mut self, i: usize) {
        let streak = match self.last {
            Some((last, streak)) if last == i => streak + 1,
            _ => 1,
        };
        self.last = Some((i, streak));
    }

    /// Every socket was polled, the client's socket stayed empty through a
    /// spin, or the clients changed: no client has a turn until one is
    /// answered.
    fn end(&mut self) {
        self.last = None;
    }
}

/// What became of a client's request.
enum Served {
    /// It was answered.
    Answered,
    /// The client is gone (or stopped in the middle of a request).
    Gone,
    /// It asked the server to stop, and was told done.
    Stop,
}

/// Answers what `client` sent (`received`).
fn answer(
    objects: &mut Objects,
    client: &Connection<Reply>,
    received: Result<Option<Request>, Error>,
) -> Served {
    let reply = match received {
        Ok(Some(Request::Shutdown)) => {
            let _ = client.send(&Reply::Done);
            return Served::Stop;
        }
        Ok(Some(request)) => objects.answer(request),
        Err(error @ Error::WrongType { .. }) => Reply::Refused(format!("not a request: {error}")),
        Ok(None) | Err(_) => return Served::Gone,
    };
    if client.send(&reply).is_err() {
        return Served::Gone;
    }
    Served::Answered
}

impl Objects {
    fn create(&mut self, kind: Kind) -> u64 {
        let id = self.entries.len() as u64 + 1;
        let object = match kind {
            Kind::Dict | Kind::Namespace => Object::Map(IndexMap::new()),
            Kind::List => Object::List(Vec::new()),
        };
        self.entries.insert(
            id,
            Entry {
                kind,
                object,
                version: 0,
            },
        );
        id
    }

    fn answer(&mut self, request: Request) -> Reply {
        match request {
            Request::Create(kind) => Reply::Id(self.create(kind)),
            Request::Named(kind, name) => match self.names.get(&name) {
                Some(id) if self.entries.get(id).is_some_and(|e| e.kind == kind) => Reply::Id(*id),
                Some(_) => Reply::Refused(format!("{name:?} names an object of another kind")),
                None => {
                    let id = self.create(kind);
                    self.names.insert(name, id);
                    Reply::Id(id)
                }
            },
            Request::Len(id) => match self.entries.get(&id).map(|e| &e.object) {
                Some(Object::List(list)) => Reply::Len(list.len()),
                Some(Object::Map(map)) => Reply::Len(map.len()),
                None => Reply::Refused("no such object".to_owned()),
            },
            Request::Clear(id) => match self.entries.get_mut(&id) {
                Some(entry) => {
                    entry.version += 1;
                    match &mut entry.object {
                        Object::List(list) => list.clear(),
                        Object::Map(map) => map.clear(),
                    }
                    Reply::Done
                }
                None => Reply::Refused("no such object".to_owned()),
            },
            Request::Shutdown => Reply::Done,
            request => self.answer_map(request),
        }
    }

    /// The requests on a dict or namespace.
    fn answer_map(&mut self, request: Request) -> Reply {
        let id = match &request {
            Request::Get(id, _)
            | Request::Set(id, ..)
            | Request::Update(id, _)
            | Request::Remove(id, _)
            | Request::Items(id)
            | Request::Keys(id)
            | Request::Values(id) => *id,
            _ => return self.answer_list(request),
        };
        let Some(Entry {
            object: Object::Map(map),
            version,
            ..
        }) = self.entries.get_mut(&id)
        else {
            return Reply::Refused("no such dict".to_owned());
        };
        match request {
            Request::Get(_, key) => Reply::Value(map.get(&key).cloned()),
            Request::Set(_, key, value) => {
                *version += 1;
                map.insert(key, value);
                Reply::Done
            }
            Request::Update(_, pairs) => {
                *version += 1;
                map.extend(pairs);
                Reply::Done
            }
            // Python's dict keeps the order of the rest.
            Request::Remove(_, key) => {
                *version += 1;
                Reply::Value(map.shift_remove(&key))
            }
            Request::Items(_) => {
                Reply::Pairs(map.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            }
            Request::Keys(_) => Reply::Values(map.keys().cloned().collect()),
            Request::Values(_) => Reply::Values(map.values().cloned().collect()),
            _ => unreachable!("a dict's request, matched above"),
        }
    }

    /// The requests on a list.
    fn answer_list(&mut self, request: Request) -> Reply {
        let id = match &request {
            Request::At(id, _)
            | Request::SetAt(id, ..)
            | Request::Push(id, _)
            | Request::Extend(id, _)
            | Request::Pop(id)
            | Request::All(id)
            | Request::Reverse(id)
            | Request::Snapshot(id)
            | Request::ReplaceIf(id, ..) => *id,
            other => return Reply::Refused(format!("not a request here: {other:?}")),
        };
        let Some(Entry {
            object: Object::List(list),
            version,
            ..
        }) = self.entries.get_mut(&id)
        else {
            return Reply::Refused("no such list".to_owned());
        };
        match request {
            Request::At(_, index) => Reply::Value(list.get(index).cloned()),
            Request::SetAt(_, index, value) => match list.get_mut(index) {
                Some(item) => {
                    *version += 1;
                    *item = value;
                    Reply::Done
                }
                None => Reply::Refused(format!(
                    "index {index} out of range for a list of {}",
                    list.len()
                )),
            },
            Request::Push(_, value) => {
                *version += 1;
                list.push(value);
                Reply::Done
            }
            Request::Extend(_, values) => {
                *version += 1;
                list.extend(values);
                Reply::Done
            }
            Request::Pop(_) => {
                *version += 1;
                Reply::Value(list.pop())
            }
            Request::All(_) => Reply::Values(list.clone()),
            Request::Reverse(_) => {
                *version += 1;
                list.reverse();
                Reply::Done
            }
            Request::Snapshot(_) => Reply::Snapshot(*version, list.clone()),
            Request::ReplaceIf(_, seen, values) if seen == *version => {
                *version += 1;
                *list = values;
                Reply::Done
            }
            Request::ReplaceIf(..) => Reply::Stale,
            _ => unreachable!("a list's request, matched above"),
        }
    }
}

/// Why a reply did not fit the request, as an error.
pub(super) fn unexpected(reply: Reply) -> Error {
    let message = match reply {
        Reply::Refused(why) => why,
        other => format!("unexpected reply {other:?}"),
    };
    Error::Manager(message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_has_the_fast_path_for_at_most_streak_answers_in_a_row() {
        let mut turns = Turns::default();
        assert_eq!(turns.fast(), None, "no client answered yet");
        for _ in 0..STREAK - 1 {
            turns.answered(3);
            assert_eq!(turns.fast(), Some(3));
        }
        turns.answered(3);
        assert_eq!(
            turns.fast(),
            None,
            "after {STREAK} in a row, all are polled"
        );
        turns.end();
        turns.answered(3);
        assert_eq!(turns.fast(), Some(3), "a poll of all starts a new streak");
        turns.answered(1);
        turns.answered(3);
        assert_eq!(
            turns.last,
            Some((3, 1)),
            "another client's answer breaks a streak"
        );
        turns.end();
        assert_eq!(turns.fast(), None);
    }
}
