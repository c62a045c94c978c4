//! The manager's server process: it owns every shared object and answers
//! requests from any number of connections, one at a time, so each request
//! is whole (no other process sees half of it).

use std::collections::HashMap;
use std::os::fd::AsFd;
use std::path::PathBuf;
use std::time::Duration;

use super::wire::{Kind, Reply, Request};
use crate::connection::{Connection, Listener, wait};
use crate::error::Error;

/// How long the server waits for the rest of a request a client started.
const REQUEST: Duration = Duration::from_secs(10);

enum Object {
    Map(HashMap<Vec<u8>, Vec<u8>>),
    List(Vec<Vec<u8>>),
}

/// The server's entry point, run in its own process: listens at `path`
/// with `authkey`, says `true` on `ready` once it does (or `false` if it
/// cannot), then serves until told to stop or its parent goes.
pub(super) fn serve((path, authkey, ready): (PathBuf, Vec<u8>, Connection)) {
    let listener = match Listener::bind(&path, Some(&authkey)) {
        Ok(listener) => listener,
        Err(error) => {
            let _ = ready.send(&false);
            eprintln!("manager: {error}");
            std::process::exit(1);
        }
    };
    if ready.send(&true).is_err() {
        return;
    }
    drop(ready);
    let mut objects: HashMap<u64, Object> = HashMap::new();
    let mut clients: Vec<Connection> = Vec::new();
    loop {
        let mut fds = vec![listener.as_fd()];
        fds.extend(clients.iter().map(AsFd::as_fd));
        let Ok(ready) = wait(&fds, None) else {
            return;
        };
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
            let request = match client.recv_timeout::<Request>(REQUEST) {
                Err(error @ Error::WrongType { .. }) => Err(error),
                Err(_) => {
                    gone.push(i - 1);
                    continue;
                }
                Ok(request) => Ok(request),
            };
            let reply = match request {
                Ok(Request::Shutdown) => {
                    let _ = client.send(&Reply::Done);
                    return;
                }
                Ok(request) => answer(&mut objects, request),
                Err(error) => Reply::Refused(format!("not a request: {error}")),
            };
            if client.send(&reply).is_err() {
                gone.push(i - 1);
            }
        }
        for i in gone.into_iter().rev() {
            clients.remove(i);
        }
    }
}

fn answer(objects: &mut HashMap<u64, Object>, request: Request) -> Reply {
    let refused = |why: &str| Reply::Refused(why.to_owned());
    match request {
        Request::Create(kind) => {
            let id = objects.len() as u64 + 1;
            objects.insert(
                id,
                match kind {
                    Kind::Dict | Kind::Namespace => Object::Map(HashMap::new()),
                    Kind::List => Object::List(Vec::new()),
                },
            );
            Reply::Id(id)
        }
        Request::Get(id, key) => match objects.get(&id) {
            Some(Object::Map(map)) => Reply::Value(map.get(&key).cloned()),
            _ => refused("no such dict"),
        },
        Request::Set(id, key, value) => match objects.get_mut(&id) {
            Some(Object::Map(map)) => {
                map.insert(key, value);
                Reply::Done
            }
            _ => refused("no such dict"),
        },
        Request::Remove(id, key) => match objects.get_mut(&id) {
            Some(Object::Map(map)) => Reply::Value(map.remove(&key)),
            _ => refused("no such dict"),
        },
        Request::Items(id) => match objects.get(&id) {
            Some(Object::Map(map)) => {
                Reply::Pairs(map.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            }
            _ => refused("no such dict"),
        },
        Request::At(id, index) => match objects.get(&id) {
            Some(Object::List(list)) => Reply::Value(list.get(index).cloned()),
            _ => refused("no such list"),
        },
        Request::SetAt(id, index, value) => match objects.get_mut(&id) {
            Some(Object::List(list)) => match list.get_mut(index) {
                Some(item) => {
                    *item = value;
                    Reply::Done
                }
                None => Reply::Refused(format!(
                    "index {index} out of range for a list of {}",
                    list.len()
                )),
            },
            _ => refused("no such list"),
        },
        Request::Push(id, value) => match objects.get_mut(&id) {
            Some(Object::List(list)) => {
                list.push(value);
                Reply::Done
            }
            _ => refused("no such list"),
        },
        Request::Pop(id) => match objects.get_mut(&id) {
            Some(Object::List(list)) => Reply::Value(list.pop()),
            _ => refused("no such list"),
        },
        Request::All(id) => match objects.get(&id) {
            Some(Object::List(list)) => Reply::Values(list.clone()),
            _ => refused("no such list"),
        },
        Request::Len(id) => match objects.get(&id) {
            Some(Object::List(list)) => Reply::Len(list.len()),
            Some(Object::Map(map)) => Reply::Len(map.len()),
            None => refused("no such object"),
        },
        Request::Shutdown => Reply::Done,
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
