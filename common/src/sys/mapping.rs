//! [`Mapping`]: a file mapped shared (a POSIX shared memory block), read
//! and written by copies and by 64-bit atomic words, never by references
//! that another process could change under.

use std::num::NonZeroUsize;
use std::os::fd::OwnedFd;
use std::ptr::NonNull;
use std::sync::atomic::AtomicU64;

use nix::sys::mman::{MapFlags, ProtFlags};

use crate::error::{Error, Result};

/// `len` bytes of a file, mapped shared.
pub(crate) struct Mapping {
    ptr: NonNull<u8>,
    len: usize,
}

// SAFETY: the mapping is only read and written through copies and atomics
// (below), which other processes mapping the same file do as well; another
// thread doing so is no different.
unsafe impl Send for Mapping {}
// SAFETY: as above.
unsafe impl Sync for Mapping {}

impl Mapping {
    /// Maps the first `len` bytes (at least one) of `file`, read and write.
    pub(crate) fn map(file: &OwnedFd, len: usize) -> Result<Mapping> {
        let size = NonZeroUsize::new(len.max(1)).expect("at least one byte");
        // SAFETY: a new shared mapping of a file at least `len` long (the
        // caller sized it); it aliases only other mappings of that file,
        // which are accessed by copies and atomics as here.
        let ptr = unsafe {
            nix::sys::mman::mmap(
                None,
                size,
                ProtFlags::PROT_READ | ProtFlags::PROT_WRITE,
                MapFlags::MAP_SHARED,
                file,
                0,
            )
        }
        .map_err(|e| Error::os("mmap", e))?;
        Ok(Mapping {
            ptr: ptr.cast(),
            len,
        })
    }

    /// How many bytes it has.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    fn check(&self, offset: usize, count: usize) {
        assert!(
            offset.checked_add(count).is_some_and(|end| end <= self.len),
            "bytes {offset}..{} out of a shared memory block of {}",
            offset.saturating_add(count),
            self.len
        );
    }

    /// Copies `out.len()` bytes from `offset` into `out`.
    pub(crate) fn read(&self, offset: usize, out: &mut [u8]) {
        self.check(offset, out.len());
        // SAFETY: in bounds (checked); `out` is ours and cannot overlap a
        // shared mapping's bytes, which are only ever copied.
        unsafe {
            std::ptr::copy_nonoverlapping(
                self.ptr.as_ptr().add(offset),
                out.as_mut_ptr(),
                out.len(),
            );
        }
    }

    /// Copies `data` into the block at `offset`.
    pub(crate) fn write(&self, offset: usize, data: &[u8]) {
        self.check(offset, data.len());
        // SAFETY: as in `read`, the other way.
        unsafe {
            std::ptr::copy_nonoverlapping(data.as_ptr(), self.ptr.as_ptr().add(offset), data.len());
        }
    }

    /// The 64-bit word at `offset` (a multiple of 8), as an atomic.
    pub(crate) fn word(&self, offset: usize) -> &AtomicU64 {
        self.check(offset, 8);
        assert!(offset.is_multiple_of(8), "a word at offset {offset}");
        // SAFETY: in bounds and aligned (the mapping is page-aligned and the
        // offset a multiple of 8), live as long as `self`; the word is only
        // accessed atomically or by byte copies.
        unsafe { AtomicU64::from_ptr(self.ptr.as_ptr().add(offset).cast()) }
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: unmaps exactly the mapping made in `map`; no reference
        // into it outlives `self`.
        let _ = unsafe { nix::sys::mman::munmap(self.ptr.cast(), self.len.max(1)) };
    }
}
