//! [`SharedMemory`]: a block of bytes any process can open by its name,
//! like `multiprocessing.shared_memory.SharedMemory`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use nix::fcntl::OFlag;
use nix::sys::stat::Mode;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::{Error, Result};
use crate::sys::Mapping;

/// A block of shared memory with a name (POSIX shared memory, in
/// `/dev/shm`), like `shared_memory.SharedMemory`: one process
/// [`create`](SharedMemory::create)s it, any other
/// [`open`](SharedMemory::open)s it by [`name`](SharedMemory::name) (or is
/// given a handle, which crosses as its name, even inside a pool task).
///
/// Bytes are copied in and out ([`write`](SharedMemory::write),
/// [`read`](SharedMemory::read)) rather than lent as a slice another
/// process could change under the borrower; to keep several writers from
/// interleaving, hold a [`Lock`](crate::Lock). Unlike Python's, the
/// creating handle unlinks the name when dropped (Python leaves that to an
/// explicit `unlink` and its resource tracker), so no block outlives its
/// program; the memory itself lasts while any process maps it.
///
/// ```
/// use common::{Process, SharedMemory};
///
/// fn shout(block: SharedMemory) {
///     let mut text = block.read(0, 5);
///     text.make_ascii_uppercase();
///     block.write(0, &text);
/// }
///
/// let block = SharedMemory::create(16)?;
/// block.write(0, b"hello");
/// let mut child = Process::with_args(shout, block.clone());
/// child.start()?;
/// child.join()?;
/// assert_eq!(block.read(0, 5), b"HELLO");
/// # Ok::<(), common::Error>(())
/// ```
pub struct SharedMemory {
    name: String,
    /// Shared by this handle's clones, which unmap it with the last.
    mapping: Arc<Mapping>,
    /// Whether this handle created the block (and unlinks it when dropped).
    owner: bool,
}

/// Numbers the blocks this process creates.
static CREATED: AtomicU64 = AtomicU64::new(0);

impl SharedMemory {
    /// A new block of `size` bytes, all zero, under a fresh name, like
    /// `SharedMemory(create=True, size=size)`.
    ///
    /// ```
    /// let block = common::SharedMemory::create(4)?;
    /// assert_eq!(block.size(), 4);
    /// assert_eq!(block.read(0, 4), [0; 4]);
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn create(size: usize) -> Result<SharedMemory> {
        let name = format!(
            "common_{}_{}",
            std::process::id(),
            CREATED.fetch_add(1, Ordering::Relaxed)
        );
        SharedMemory::create_named(&name, size)
    }

    /// A new block of `size` bytes named `name`, like
    /// `SharedMemory(name, create=True, size=size)`; an error if the name
    /// is taken.
    pub fn create_named(name: &str, size: usize) -> Result<SharedMemory> {
        let file = nix::sys::mman::shm_open(
            path(name)?.as_str(),
            OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_RDWR | OFlag::O_CLOEXEC,
            Mode::S_IRUSR | Mode::S_IWUSR,
        )
        .map_err(|e| Error::os("shm_open (create)", e))?;
        let sized = i64::try_from(size)
            .map_err(|_| Error::os("ftruncate", std::io::Error::other("size too large")))
            .and_then(|size| {
                nix::unistd::ftruncate(&file, size).map_err(|e| Error::os("ftruncate", e))
            });
        if let Err(error) = sized {
            let _ = nix::sys::mman::shm_unlink(path(name)?.as_str());
            return Err(error);
        }
        Ok(SharedMemory {
            name: name.to_owned(),
            mapping: Arc::new(Mapping::map(&file, size)?),
            owner: true,
        })
    }

    /// The block named `name`, made by another process (or this one), like
    /// `SharedMemory(name)`.
    ///
    /// ```
    /// let block = common::SharedMemory::create(8)?;
    /// let same = common::SharedMemory::open(block.name())?;
    /// same.write(0, b"x");
    /// assert_eq!(block.read(0, 1), b"x");
    /// assert!(common::SharedMemory::open("no_such_block_here").is_err());
    /// # Ok::<(), common::Error>(())
    /// ```
    pub fn open(name: &str) -> Result<SharedMemory> {
        let file = nix::sys::mman::shm_open(
            path(name)?.as_str(),
            OFlag::O_RDWR | OFlag::O_CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| Error::os("shm_open", e))?;
        let size = nix::sys::stat::fstat(&file)
            .map_err(|e| Error::os("fstat", e))?
            .st_size;
        Ok(SharedMemory {
            name: name.to_owned(),
            mapping: Arc::new(Mapping::map(&file, usize::try_from(size).unwrap_or(0))?),
            owner: false,
        })
    }

    /// The block's name, like `shm.name`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its size in bytes, like `shm.size`.
    pub fn size(&self) -> usize {
        self.mapping.len()
    }

    /// A copy of `len` bytes from `offset`, like `bytes(shm.buf[o:o+len])`.
    /// Panics when out of bounds, as Python raises `IndexError`.
    pub fn read(&self, offset: usize, len: usize) -> Vec<u8> {
        let mut out = vec![0; len];
        self.mapping.read(offset, &mut out);
        out
    }

    /// Copies `data` in at `offset`, like `shm.buf[o:o+len] = data`.
    /// Panics when out of bounds.
    pub fn write(&self, offset: usize, data: &[u8]) {
        self.mapping.write(offset, data);
    }

    /// Removes the name, like `shm.unlink()`: nobody can open the block any
    /// more; those that have it keep it. Done by the creating handle's drop
    /// too.
    pub fn unlink(&self) -> Result<()> {
        nix::sys::mman::shm_unlink(path(&self.name)?.as_str())
            .map_err(|e| Error::os("shm_unlink", e))
    }

    /// The 64-bit word at byte `offset`, for [`ShareableList`](crate::ShareableList).
    pub(super) fn word(&self, offset: usize) -> &AtomicU64 {
        self.mapping.word(offset)
    }
}

/// The path `shm_open` takes for `name`: one component, after a `/`.
fn path(name: &str) -> Result<String> {
    if name.is_empty() || name.contains('/') || name.contains('\0') || name.len() > 200 {
        return Err(Error::os(
            "shm_open",
            std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("{name:?} is not a shared memory name (1 to 200 bytes, no '/')"),
            ),
        ));
    }
    Ok(format!("/{name}"))
}

impl Clone for SharedMemory {
    /// Another handle on the same block, sharing this one's mapping (no
    /// system call, so it cannot fail); it does not unlink the name, as
    /// the handle of [`open`](SharedMemory::open) does not.
    fn clone(&self) -> SharedMemory {
        SharedMemory {
            name: self.name.clone(),
            mapping: Arc::clone(&self.mapping),
            owner: false,
        }
    }
}

impl Drop for SharedMemory {
    fn drop(&mut self) {
        if self.owner {
            let _ = self.unlink();
        }
    }
}

impl std::fmt::Debug for SharedMemory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedMemory")
            .field("name", &self.name)
            .field("size", &self.size())
            .finish()
    }
}

impl Serialize for SharedMemory {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        self.name.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for SharedMemory {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        SharedMemory::open(&name).map_err(serde::de::Error::custom)
    }
}
