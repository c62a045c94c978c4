//! [`Manager`]: a server process that keeps dicts, lists and namespaces
//! for other processes, like Python's `multiprocessing.Manager()`, and
//! serves them on an address for processes of other programs, like
//! `BaseManager(address=..., authkey=...)`.
//!
//! The server is a child [`Process`] listening on a [`Listener`]: a Unix
//! socket in a private directory with a random key for [`Manager::new`],
//! or the address and key given to [`Manager::with_address`]. Proxies
//! ([`DictProxy`], [`ListProxy`], [`Namespace`]) send it one request per
//! call (see `wire.rs`); each process has its own connection, made on
//! first use. A proxy crosses to a child, or into a pool task, as the
//! server's address, key and the object's id, so it works under every
//! start method; another program reaches an object by the name it was
//! given ([`Manager::dict_named`]).
//!
//! [`Listener`]: crate::Listener

mod dict;
mod list;
mod namespace;
mod proxy;
mod server;
mod wire;

use std::io::Read;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::connection::Address;
use crate::error::{Error, Result};
use crate::process::Process;

pub use dict::DictProxy;
pub use list::ListProxy;
pub use namespace::Namespace;
use proxy::Remote;
use server::unexpected;
use wire::{Kind, Reply, Request};

/// A server process keeping shared objects, like
/// `multiprocessing.Manager()`: make a [`dict`](Manager::dict),
/// [`list`](Manager::list) or [`namespace`](Manager::namespace), hand its
/// proxy to children or pool tasks, and every process sees the same object.
/// Dropping the manager that started the server stops it (as leaving
/// Python's `with Manager() as m:` does); proxies used after that fail
/// with an error.
///
/// Differs from Python: values are serde data of the type the proxy names;
/// there is no `manager.Lock()` or `manager.Queue()` (a
/// [`Lock`](crate::Lock) or [`Queue`](crate::Queue) crosses to children
/// itself), and instead of registered types, objects are shared with other
/// programs by name ([`dict_named`](Manager::dict_named)).
///
/// ```
/// use common::{Manager, Process};
///
/// fn record(d: common::DictProxy<String, u32>) {
///     d.insert("child", &std::process::id()).expect("the manager");
/// }
///
/// let manager = Manager::new()?;
/// let d = manager.dict()?;
/// let mut child = Process::with_args(record, d.clone());
/// child.start()?;
/// child.join()?;
/// assert_eq!(d.get("child")?, child.pid());
/// # Ok::<(), common::Error>(())
/// ```
#[derive(Debug)]
pub struct Manager {
    /// The server, if this manager started it.
    server: Option<Server>,
    remote: Arc<Remote>,
}

/// A server this manager started, and the directory of its socket.
#[derive(Debug)]
struct Server {
    process: Process,
    directory: Option<PathBuf>,
}

/// Numbers the managers this process starts.
static STARTED: AtomicU64 = AtomicU64::new(0);

/// How long a stopping manager's server has to end before it is killed.
const STOP_GRACE: Duration = Duration::from_secs(5);

/// How long a new server has to start listening.
const START_GRACE: Duration = Duration::from_secs(30);

impl Manager {
    /// Starts a manager's server process, like `Manager()`, by the start
    /// method in force, for this process and its children (a Unix socket
    /// in a private directory, with a random key).
    ///
    /// # Errors
    ///
    /// [`Error::Os`] when the directory, the socket or the process cannot
    /// be made; [`Error::Manager`] when the server does not come up.
    pub fn new() -> Result<Manager> {
        // The key first: with no descriptor to spare, nothing is made (a
        // directory made could not be removed then either).
        let mut authkey = vec![0u8; 32];
        std::fs::File::open("/dev/urandom")
            .and_then(|mut random| random.read_exact(&mut authkey))
            .map_err(|e| Error::os("read /dev/urandom", e))?;
        let number = STARTED.fetch_add(1, Ordering::Relaxed);
        let directory =
            std::env::temp_dir().join(format!("common-manager-{}-{number}", std::process::id()));
        std::fs::create_dir(&directory)
            .map_err(|e| Error::os("create a manager's directory", e))?;
        let made = private(&directory).and_then(|()| {
            Manager::start(Address::Unix(directory.join("socket")), authkey, number)
        });
        match made {
            Ok(mut manager) => {
                if let Some(server) = &mut manager.server {
                    server.directory = Some(directory);
                }
                Ok(manager)
            }
            Err(error) => {
                let _ = std::fs::remove_dir_all(&directory);
                Err(error)
            }
        }
    }

    /// Starts a manager's server process listening at `address`, to which
    /// processes of other programs (on other machines, over TCP) can
    /// [`connect`](Manager::connect) with `authkey`, like
    /// `BaseManager(address=..., authkey=...).start()`. Over TCP, port 0
    /// takes a free port: [`address`](Manager::address) says which.
    ///
    /// Anyone who can reach the address and knows the key can read and
    /// change every object, as in Python: listen on `127.0.0.1` unless
    /// other machines must connect, and use a key hard to guess.
    ///
    /// # Errors
    ///
    /// [`Error::Manager`] when the server cannot listen there (the port is
    /// taken, the path exists) or does not come up.
    ///
    /// ```
    /// use common::Manager;
    ///
    /// let server = Manager::with_address(("127.0.0.1", 0), b"secret")?;
    /// server.dict_named::<String, u32>("scores")?.insert("ada", &3)?;
    ///
    /// // In another program, which knows the address and the key:
    /// let client = Manager::connect(server.address().clone(), b"secret")?;
    /// assert_eq!(client.dict_named::<String, u32>("scores")?.get("ada")?, Some(3));
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn with_address(address: impl Into<Address>, authkey: &[u8]) -> Result<Manager> {
        let number = STARTED.fetch_add(1, Ordering::Relaxed);
        Manager::start(address.into(), authkey.to_vec(), number)
    }

    /// A manager whose server another program started (see
    /// [`with_address`](Manager::with_address)), at `address` with
    /// `authkey`, like `BaseManager(address=..., authkey=...).connect()`.
    /// Dropping it leaves the server running.
    ///
    /// # Errors
    ///
    /// [`Error::Os`] when nothing listens there,
    /// [`Error::AuthenticationFailed`] when the key is not the server's.
    pub fn connect(address: impl Into<Address>, authkey: &[u8]) -> Result<Manager> {
        let remote = Remote::new(address.into(), authkey.to_vec());
        remote.connect()?;
        Ok(Manager {
            server: None,
            remote,
        })
    }

    /// Starts server `number`, at `address` with `authkey`.
    fn start(address: Address, authkey: Vec<u8>, number: u64) -> Result<Manager> {
        let (ready, theirs) = crate::pipe()?;
        let mut process = Process::with_args(server::serve, (address, authkey.clone(), theirs));
        process.set_name(format!("SyncManager-{number}"));
        process.start()?;
        let address = match ready.recv_timeout(START_GRACE) {
            Ok(Ok(address)) => address,
            outcome => {
                let _ = process.kill();
                let _ = process.join();
                return Err(Error::Manager(match outcome {
                    Ok(Err(why)) => why,
                    _ => "the server did not start".to_owned(),
                }));
            }
        };
        Ok(Manager {
            server: Some(Server {
                process,
                directory: None,
            }),
            remote: Remote::new(address, authkey),
        })
    }

    /// Where the server listens, like `manager.address`.
    pub fn address(&self) -> &Address {
        &self.remote.address
    }

    fn create(&self, kind: Kind) -> Result<u64> {
        match self.remote.ask(&Request::Create(kind))? {
            Reply::Id(id) => Ok(id),
            other => Err(unexpected(other)),
        }
    }

    fn named(&self, kind: Kind, name: &str) -> Result<u64> {
        match self.remote.ask(&Request::Named(kind, name.to_owned()))? {
            Reply::Id(id) => Ok(id),
            other => Err(unexpected(other)),
        }
    }

    /// A new, empty shared dict, like `manager.dict()`.
    pub fn dict<K, V>(&self) -> Result<DictProxy<K, V>> {
        Ok(DictProxy::new(
            Arc::clone(&self.remote),
            self.create(Kind::Dict)?,
        ))
    }

    /// A new shared dict holding `pairs`, like `manager.dict(pairs)`.
    ///
    /// ```
    /// let manager = common::Manager::new()?;
    /// let stock = manager.dict_from([("apples".to_owned(), 3), ("pears".to_owned(), 5)])?;
    /// assert_eq!(stock.get("pears")?, Some(5));
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn dict_from<K, V>(
        &self,
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Result<DictProxy<K, V>>
    where
        K: Serialize + DeserializeOwned + Eq + std::hash::Hash,
        V: Serialize + DeserializeOwned,
    {
        let dict = self.dict()?;
        dict.update(pairs)?;
        Ok(dict)
    }

    /// The shared dict kept under `name`, made empty if there is none yet:
    /// how processes of other programs reach the same dict (Python
    /// registers a function, `BaseManager.register('get_dict', ...)`).
    ///
    /// # Errors
    ///
    /// [`Error::Manager`] when `name` names a list or namespace.
    pub fn dict_named<K, V>(&self, name: &str) -> Result<DictProxy<K, V>> {
        Ok(DictProxy::new(
            Arc::clone(&self.remote),
            self.named(Kind::Dict, name)?,
        ))
    }

    /// A new, empty shared list, like `manager.list()`.
    pub fn list<T>(&self) -> Result<ListProxy<T>> {
        Ok(ListProxy::new(
            Arc::clone(&self.remote),
            self.create(Kind::List)?,
        ))
    }

    /// A new shared list holding `items`, like `manager.list(items)`.
    ///
    /// ```
    /// let manager = common::Manager::new()?;
    /// let squares = manager.list_from((1..=3).map(|n| n * n))?;
    /// assert_eq!(squares.to_vec()?, [1, 4, 9]);
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn list_from<T>(&self, items: impl IntoIterator<Item = T>) -> Result<ListProxy<T>>
    where
        T: Serialize + DeserializeOwned,
    {
        let list = self.list()?;
        list.extend(items)?;
        Ok(list)
    }

    /// The shared list kept under `name`, made empty if there is none yet
    /// (see [`dict_named`](Manager::dict_named)).
    pub fn list_named<T>(&self, name: &str) -> Result<ListProxy<T>> {
        Ok(ListProxy::new(
            Arc::clone(&self.remote),
            self.named(Kind::List, name)?,
        ))
    }

    /// A new shared namespace, like `manager.Namespace()`.
    pub fn namespace(&self) -> Result<Namespace> {
        Ok(Namespace::new(
            Arc::clone(&self.remote),
            self.create(Kind::Namespace)?,
        ))
    }

    /// The shared namespace kept under `name`, made empty if there is none
    /// yet (see [`dict_named`](Manager::dict_named)).
    pub fn namespace_named(&self, name: &str) -> Result<Namespace> {
        Ok(Namespace::new(
            Arc::clone(&self.remote),
            self.named(Kind::Namespace, name)?,
        ))
    }

    /// The server's process id, if this manager started it.
    pub fn pid(&self) -> Option<u32> {
        self.server.as_ref().and_then(|server| server.process.pid())
    }

    /// Stops the server, like `manager.shutdown()` (dropping it does too),
    /// if this manager started it; a manager that
    /// [`connect`](Manager::connect)ed leaves it running.
    pub fn shutdown(self) -> Result<()> {
        drop(self);
        Ok(())
    }
}

/// Makes `directory` reachable by its owner only.
fn private(directory: &std::path::Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(directory, std::fs::Permissions::from_mode(0o700))
        .map_err(|e| Error::os("chmod a manager's directory", e))
}

impl Drop for Manager {
    fn drop(&mut self) {
        let Some(server) = &self.server else {
            return;
        };
        let _ = self.remote.ask(&Request::Shutdown);
        if !server.process.join_timeout(STOP_GRACE).unwrap_or(false) {
            let _ = server.process.kill();
        }
        let _ = server.process.join();
        if let Some(directory) = &server.directory {
            let _ = std::fs::remove_dir_all(directory);
        }
    }
}
