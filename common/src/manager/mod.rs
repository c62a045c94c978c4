//! [`Manager`]: a server process that keeps dicts, lists and namespaces
//! for other processes, like Python's `multiprocessing.Manager()`.
//!
//! The server is a child [`Process`] listening on a Unix socket in a
//! private directory, with a random key (see
//! [`Listener`](crate::Listener)). Proxies ([`DictProxy`], [`ListProxy`],
//! [`Namespace`]) send it one request per call; each process has its own
//! connection, made on first use. A proxy crosses to a child, or into a
//! pool task, as the server's address, key and the object's id, so it works
//! under every start method.

mod proxy;
mod server;
mod wire;

use std::io::Read;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::error::{Error, Result};
use crate::process::Process;

use proxy::Remote;
pub use proxy::{DictProxy, ListProxy, Namespace};
use wire::{Kind, Reply, Request};

/// A server process keeping shared objects, like
/// `multiprocessing.Manager()`: make a [`dict`](Manager::dict),
/// [`list`](Manager::list) or [`namespace`](Manager::namespace), hand its
/// proxy to children or pool tasks, and every process sees the same object.
/// Dropping the manager stops the server (as leaving Python's `with
/// Manager() as m:` does); proxies used after that fail with an error.
///
/// Differs from Python: values are serde data of the type the proxy names;
/// there is no `manager.Lock()` or `manager.Queue()` (a
/// [`Lock`](crate::Lock) or [`Queue`](crate::Queue) crosses to children
/// itself), and no custom registered types.
///
/// ```
/// use common::{Manager, Process};
///
/// fn record(d: common::DictProxy<String, u32>) {
///     d.insert(&"child".to_owned(), &std::process::id()).expect("the manager");
/// }
///
/// let manager = Manager::new()?;
/// let d = manager.dict::<String, u32>()?;
/// let mut child = Process::with_args(record, d.clone());
/// child.start()?;
/// child.join()?;
/// assert_eq!(d.get(&"child".to_owned())?, child.pid());
/// # Ok::<(), common::Error>(())
/// ```
#[derive(Debug)]
pub struct Manager {
    server: Process,
    remote: Arc<Remote>,
    directory: PathBuf,
}

/// Numbers the managers this process starts.
static STARTED: AtomicU64 = AtomicU64::new(0);

/// How long a stopping manager's server has to end before it is killed.
const STOP_GRACE: Duration = Duration::from_secs(5);

impl Manager {
    /// Starts a manager's server process, like `Manager()`, by the start
    /// method in force.
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
        let directory = std::env::temp_dir().join(format!(
            "common-manager-{}-{}",
            std::process::id(),
            STARTED.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir(&directory)
            .map_err(|e| Error::os("create a manager's directory", e))?;
        let made = Manager::start(directory.clone(), authkey);
        if made.is_err() {
            let _ = std::fs::remove_dir_all(&directory);
        }
        made
    }

    fn start(directory: PathBuf, authkey: Vec<u8>) -> Result<Manager> {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&directory, std::fs::Permissions::from_mode(0o700))
            .map_err(|e| Error::os("chmod a manager's directory", e))?;
        let address = directory.join("socket");
        let (ready, theirs) = crate::pipe()?;
        let mut server =
            Process::with_args(server::serve, (address.clone(), authkey.clone(), theirs));
        server.set_name(format!("SyncManager-{}", STARTED.load(Ordering::Relaxed)));
        server.start()?;
        match ready.recv_timeout::<bool>(Duration::from_secs(30)) {
            Ok(true) => {}
            _ => {
                let _ = server.kill();
                return Err(Error::Manager("the server did not start".to_owned()));
            }
        }
        Ok(Manager {
            server,
            remote: Remote::new(address, authkey),
            directory,
        })
    }

    fn create(&self, kind: Kind) -> Result<u64> {
        match self.remote.ask(&Request::Create(kind))? {
            Reply::Id(id) => Ok(id),
            other => Err(server::unexpected(other)),
        }
    }

    /// A new, empty shared dict, like `manager.dict()`.
    pub fn dict<K, V>(&self) -> Result<DictProxy<K, V>> {
        Ok(DictProxy::new(
            Arc::clone(&self.remote),
            self.create(Kind::Dict)?,
        ))
    }

    /// A new, empty shared list, like `manager.list()`.
    pub fn list<T>(&self) -> Result<ListProxy<T>> {
        Ok(ListProxy::new(
            Arc::clone(&self.remote),
            self.create(Kind::List)?,
        ))
    }

    /// A new shared namespace, like `manager.Namespace()`.
    pub fn namespace(&self) -> Result<Namespace> {
        Ok(Namespace::new(
            Arc::clone(&self.remote),
            self.create(Kind::Namespace)?,
        ))
    }

    /// The server's process id.
    pub fn pid(&self) -> Option<u32> {
        self.server.pid()
    }

    /// Stops the server, like `manager.shutdown()` (dropping it does too).
    pub fn shutdown(self) -> Result<()> {
        drop(self);
        Ok(())
    }
}

impl Drop for Manager {
    fn drop(&mut self) {
        let _ = self.remote.ask(&Request::Shutdown);
        if !self.server.join_timeout(STOP_GRACE).unwrap_or(false) {
            let _ = self.server.kill();
        }
        let _ = self.server.join();
        let _ = std::fs::remove_dir_all(&self.directory);
    }
}
