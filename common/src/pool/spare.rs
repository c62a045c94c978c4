//! Byte buffers the parent keeps for reuse: an answered job's, a decoded
//! answer's.
//!
//! A `map` of a million integers moves 8 MB each way, and most of the
//! parent's time went to memory rather than to the items: a fresh buffer
//! for each job and each answer is faulted in page by page (the allocator
//! hands such large blocks back to the kernel once freed), and unmapped
//! again afterwards. Memory that held an answered job or a decoded answer
//! is already the parent's: the next job is encoded into it, the next
//! answer read into it.

/// The least capacity worth keeping: below it the allocator keeps the
/// memory itself.
const KEEP_MIN: usize = 64 * 1024;

/// The most capacity kept in all.
const KEEP_TOTAL: usize = 16 << 20;

/// The most buffers kept.
const KEEP_COUNT: usize = 16;

/// Buffers kept for reuse, empty.
#[derive(Default)]
pub(super) struct Spare {
    buffers: Vec<Vec<u8>>,
    /// Their capacities in all.
    total: usize,
}

impl Spare {
    /// Keeps `buffer` for reuse (emptied), if it is large enough to be
    /// worth it and there is room; else frees it.
    pub(super) fn put(&mut self, mut buffer: Vec<u8>) {
        let capacity = buffer.capacity();
        if capacity < KEEP_MIN
            || self.total + capacity > KEEP_TOTAL
            || self.buffers.len() == KEEP_COUNT
        {
            return;
        }
        buffer.clear();
        self.total += capacity;
        self.buffers.push(buffer);
    }

    /// An empty buffer of at least `capacity` bytes: the smallest kept one
    /// that is large enough, else a new one.
    pub(super) fn take(&mut self, capacity: usize) -> Vec<u8> {
        let fitting = self
            .buffers
            .iter()
            .enumerate()
            .filter(|(_, buffer)| buffer.capacity() >= capacity)
            .min_by_key(|(_, buffer)| buffer.capacity())
            .map(|(at, _)| at);
        fitting.map(|at| self.remove(at)).unwrap_or_else(|| {
            let mut buffer = Vec::with_capacity(capacity);
            crate::sys::prefault(&mut buffer);
            buffer
        })
    }

    /// The largest buffer kept, or a new empty one: for a worker's inbox,
    /// whose next answer's size is not known yet.
    pub(super) fn take_largest(&mut self) -> Vec<u8> {
        let largest = (0..self.buffers.len()).max_by_key(|&at| self.buffers[at].capacity());
        largest.map(|at| self.remove(at)).unwrap_or_default()
    }

    fn remove(&mut self, at: usize) -> Vec<u8> {
        let buffer = self.buffers.swap_remove(at);
        self.total -= buffer.capacity();
        buffer
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kept_buffer_comes_back_empty_with_its_memory() {
        let mut spare = Spare::default();
        let mut buffer = Vec::with_capacity(1 << 20);
        buffer.extend_from_slice(b"an answer");
        let address = buffer.as_ptr();
        spare.put(buffer);
        let again = spare.take(4096);
        assert_eq!(again.as_ptr(), address, "the same memory");
        assert!(again.is_empty());
        let fresh = spare.take(4096);
        assert_ne!(fresh.as_ptr(), address, "taken once");
        drop(again);
    }

    #[test]
    fn the_smallest_that_fits_is_taken_and_the_largest_for_an_inbox() {
        let mut spare = Spare::default();
        for size in [4 << 20, 1 << 20, 2 << 20] {
            spare.put(Vec::with_capacity(size));
        }
        assert!(
            spare.take(1_500_000).capacity() < 4 << 20,
            "not the largest"
        );
        assert!(spare.take_largest().capacity() >= 4 << 20);
        assert_eq!(
            spare.total,
            spare.buffers.iter().map(Vec::capacity).sum::<usize>()
        );
    }

    #[test]
    fn small_buffers_and_too_many_are_not_kept() {
        let mut spare = Spare::default();
        spare.put(Vec::with_capacity(1024));
        assert!(spare.buffers.is_empty(), "the allocator keeps small ones");
        for _ in 0..100 {
            spare.put(Vec::with_capacity(1 << 20));
        }
        assert!(spare.buffers.len() <= KEEP_COUNT);
        assert!(spare.total <= KEEP_TOTAL);
        spare.put(Vec::with_capacity(KEEP_TOTAL));
        assert!(spare.total <= KEEP_TOTAL, "bounded in bytes too");
    }
}
