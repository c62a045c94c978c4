//! Faulting in a large buffer's pages before it is filled.

use std::ffi::c_void;

/// Asks the kernel to allocate the pages under `buffer`'s spare capacity
/// now, in one call (`MADV_POPULATE_WRITE`, Linux 5.14), rather than one
/// page fault at a time as a `read` fills them: for a result of hundreds of
/// megabytes the faults are most of the cost of taking it from a pipe. The
/// contents do not change; an older kernel refuses and nothing happens.
/// Spare room under 64 KiB is left to fault as it fills.
pub(crate) fn prefault<T>(buffer: &mut Vec<T>) {
    let spare = buffer.spare_capacity_mut();
    let page = 4096;
    let start = (spare.as_mut_ptr() as usize).next_multiple_of(page);
    let end = (spare.as_mut_ptr() as usize + std::mem::size_of_val(spare)) / page * page;
    // Below this, the faults cost less than the call.
    if end <= start + (64 << 10) {
        return;
    }
    // SAFETY: the range lies inside memory this vector owns and does not
    // use yet; populating pages for writing leaves what they hold alone.
    unsafe {
        libc::madvise(start as *mut c_void, end - start, libc::MADV_POPULATE_WRITE);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// How many of the pages under `range` are resident, by `mincore`.
    fn resident(start: usize, len: usize) -> usize {
        let mut flags = vec![0u8; len.div_ceil(4096)];
        // SAFETY: `flags` has a byte for each page of the range, which lies
        // inside an allocation of the caller's.
        let done = unsafe { libc::mincore(start as *mut c_void, len, flags.as_mut_ptr()) };
        assert_eq!(done, 0, "mincore");
        flags.iter().filter(|&&f| f & 1 == 1).count()
    }

    #[test]
    fn the_spare_room_is_made_resident_and_the_contents_stay() {
        // Above glibc's largest mmap threshold (32 MiB), so the buffer is a
        // fresh mapping: a smaller one may come from memory another test
        // of this binary used and freed, resident already.
        let mut buffer: Vec<u8> = Vec::with_capacity(40 << 20);
        buffer.extend_from_slice(b"kept");
        let start = (buffer.as_ptr() as usize + 4096).next_multiple_of(4096);
        let len = 4 << 20;
        assert!(
            resident(start, len) < len / 4096,
            "fresh pages are not all there yet"
        );
        prefault(&mut buffer);
        assert_eq!(resident(start, len), len / 4096, "every page is there");
        assert_eq!(buffer, b"kept");
    }
}
