//! [`Slots`]: 64-bit atomics in memory shared with children.

use std::num::NonZeroUsize;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::ptr::NonNull;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use nix::sys::mman::{MapFlags, ProtFlags};

use crate::error::{Error, Result};

/// 64-bit atomic slots in memory shared with children (forked, or spawned
/// and sent the memory's descriptor). Each pool worker records in one how
/// far into its current job it is, so that if it dies, the parent knows
/// which item it died on without the worker having to say so item by item
/// through the pipe; [`Value`](crate::Value) and [`Array`](crate::Array)
/// are slots too.
///
/// The handles of one process share one mapping ([`Slots::clone`]
/// maps nothing): so each shared thing lies at one address in a process
/// and in its forked children, where an observer (the grader's
/// watchpoints) can find it.
pub(crate) struct Slots {
    /// The mapping's first slot and how many there are, kept here too so
    /// that an access reads no more than before.
    slots: NonNull<AtomicU64>,
    len: usize,
    mapping: Arc<Mapping>,
}

/// One mapping of the memory, unmapped when its last handle goes.
struct Mapping {
    slots: NonNull<AtomicU64>,
    len: usize,
    /// The memory, as a file a spawned worker can be sent and map too.
    memory: OwnedFd,
}

// SAFETY: a Slots is a mapping of shared memory that is only ever read and
// written through atomics (see `slot`), and unmapped once, by its owner's
// Drop; handing it to another thread, or sharing it between threads, is
// what the processes that map it already do.
unsafe impl Send for Mapping {}
// SAFETY: as above: every access through `&Mapping` is atomic.
unsafe impl Sync for Mapping {}
// SAFETY: as for `Mapping`, whose pointer and length a `Slots` copies and
// which it keeps alive.
unsafe impl Send for Slots {}
// SAFETY: as above.
unsafe impl Sync for Slots {}

impl Slots {
    /// `len` counters, all 0, in a file named for no kind in particular.
    pub(crate) fn new(len: usize) -> Result<Slots> {
        Slots::named(crate::sys::memory::Memory::Other, len)
    }

    /// `len` counters, all 0, in a file named for `kind`: the name `/proc`
    /// shows, by which an observer finds a value, an array, a queue (see
    /// `layout`).
    pub(crate) fn named(kind: crate::sys::memory::Memory, len: usize) -> Result<Slots> {
        let len = len.max(1);
        let memory =
            nix::sys::memfd::memfd_create(kind.file_name(), nix::sys::memfd::MFdFlags::MFD_CLOEXEC)
                .map_err(|e| Error::os("memfd_create", e))?;
        let bytes = len * std::mem::size_of::<AtomicU64>();
        nix::unistd::ftruncate(&memory, i64::try_from(bytes).expect("a few slots"))
            .map_err(|e| Error::os("ftruncate", e))?;
        Slots::map(memory, len)
    }

    /// Maps `len` counters from `memory`, made by [`Slots::new`] in this
    /// process or its parent.
    pub(crate) fn map(memory: OwnedFd, len: usize) -> Result<Slots> {
        let len = len.max(1);
        let bytes =
            NonZeroUsize::new(len * std::mem::size_of::<AtomicU64>()).expect("at least one slot");
        // SAFETY: a new shared mapping of a file sized for it; it aliases only
        // the other mappings of the same file, which are accessed atomically
        // too, and zero bytes are valid AtomicU64s.
        let slots = unsafe {
            nix::sys::mman::mmap(
                None,
                bytes,
                ProtFlags::PROT_READ | ProtFlags::PROT_WRITE,
                MapFlags::MAP_SHARED,
                &memory,
                0,
            )
        }
        .map_err(|e| Error::os("mmap", e))?;
        Ok(Slots {
            slots: slots.cast(),
            len,
            mapping: Arc::new(Mapping {
                slots: slots.cast(),
                len,
                memory,
            }),
        })
    }

    /// The file behind the counters, to send to a spawned worker.
    pub(crate) fn memory(&self) -> BorrowedFd<'_> {
        self.mapping.memory.as_fd()
    }

    /// How many counters there are.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Counter `slot` itself.
    pub(crate) fn slot(&self, slot: usize) -> &AtomicU64 {
        assert!(slot < self.len, "progress slot {slot} of {}", self.len);
        // SAFETY: in bounds (checked), mapped until `self` is dropped, and
        // only ever accessed atomically, here or in a forked copy.
        unsafe { self.slots.add(slot).as_ref() }
    }

    /// The memory of slots `first..` as a raw pointer, for a structure laid
    /// over them that is not atomics (the mutex in `places`).
    pub(super) fn raw(&self, first: usize) -> *mut u8 {
        assert!(first < self.len, "slot {first} of {}", self.len);
        // SAFETY: in bounds (checked) of the mapping, which lives as long
        // as `self`.
        unsafe { self.slots.add(first).cast::<u8>().as_ptr() }
    }

    /// The low half of slot `slot` as a 32-bit word (a futex): a slot used
    /// so is used only so.
    pub(crate) fn word(&self, slot: usize) -> &AtomicU32 {
        // SAFETY: the slot is 8 bytes, aligned to 8, in the mapping that
        // lives as long as `self`; its first 4 bytes are an aligned u32.
        unsafe { AtomicU32::from_ptr(self.raw(slot).cast()) }
    }

    /// Sets counter `slot`.
    pub(crate) fn set(&self, slot: usize, value: u64) {
        self.slot(slot).store(value, Ordering::Release);
    }

    /// Reads counter `slot`.
    pub(crate) fn get(&self, slot: usize) -> u64 {
        self.slot(slot).load(Ordering::Acquire)
    }

    /// Adds `delta` to counter `slot` (wrapping) in one atomic step;
    /// returns the value before.
    pub(crate) fn add(&self, slot: usize, delta: u64) -> u64 {
        self.slot(slot).fetch_add(delta, Ordering::AcqRel)
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        let bytes = self.len * std::mem::size_of::<AtomicU64>();
        // SAFETY: unmaps exactly the mapping made in `new`; no reference into
        // it outlives `self`.
        let _ = unsafe { nix::sys::mman::munmap(self.slots.cast(), bytes) };
    }
}

/// How slots cross to a spawned child: their memory, as a descriptor (see
/// `crossing`), and how many there are.
#[derive(serde::Serialize, serde::Deserialize)]
struct SlotsWire {
    #[serde(with = "crate::crossing")]
    memory: OwnedFd,
    len: usize,
}

impl serde::Serialize for Slots {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let memory = self.mapping.memory.try_clone().map_err(|e| {
            serde::ser::Error::custom(format!("cannot duplicate shared memory: {e}"))
        })?;
        serde::Serialize::serialize(
            &SlotsWire {
                memory,
                len: self.len,
            },
            serializer,
        )
    }
}

impl<'de> serde::Deserialize<'de> for Slots {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Slots, D::Error> {
        let wire = <SlotsWire as serde::Deserialize>::deserialize(deserializer)?;
        Slots::map(wire.memory, wire.len).map_err(serde::de::Error::custom)
    }
}

impl Clone for Slots {
    /// Another handle on the same mapping (no system call, so it cannot
    /// fail).
    fn clone(&self) -> Slots {
        Slots {
            slots: self.slots,
            len: self.len,
            mapping: Arc::clone(&self.mapping),
        }
    }
}

impl std::fmt::Debug for Slots {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Slots").field("len", &self.len).finish()
    }
}
