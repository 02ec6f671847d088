//! How many jump-cache entries each bucket holds per page (a counting filter): dropping the
//! translations of a virtual page scans its bucket only when the page may have entries there.
//!
//! Linux's TLB-miss handler replaces a TLB0 entry on every miss and each replacement drops the
//! old page's translations; most of those pages hold data, not code, and scanning their bucket
//! (some hundred entries, each a cache line) for nothing cost 4.5 % of a process-heavy job.

use crate::tlb::PAGE_BITS;

/// Counters per bucket. Pages that share a counter (it is a hash of the page number) only cost
/// a scan that finds nothing.
const COUNTERS: usize = 512;

/// Per bucket, a count of entries for each page hash.
#[repr(C)]
pub(crate) struct PageCensus<const BUCKETS: usize> {
    counts: [[u16; COUNTERS]; BUCKETS],
}

impl<const BUCKETS: usize> PageCensus<BUCKETS> {
    /// No entries.
    pub(crate) const EMPTY: Self = PageCensus { counts: [[0; COUNTERS]; BUCKETS] };

    /// The counter of the page of `vpc`: the page-number bits above those the bucket index
    /// mixes in (with the bucket, they tell apart the pages of a 128 MiB window), folded with
    /// the bits above them.
    fn counter(vpc: u64) -> usize {
        let high = vpc >> (PAGE_BITS + BUCKETS.trailing_zeros());
        (high ^ (high >> COUNTERS.trailing_zeros())) as usize & (COUNTERS - 1)
    }

    /// An entry for `vpc` was filled in `bucket`.
    pub(crate) fn add(&mut self, bucket: usize, vpc: u64) {
        let c = &mut self.counts[bucket][Self::counter(vpc)];
        *c = c.saturating_add(1);
    }

    /// An entry for `vpc` in `bucket` was dropped.
    pub(crate) fn remove(&mut self, bucket: usize, vpc: u64) {
        let c = &mut self.counts[bucket][Self::counter(vpc)];
        debug_assert!(*c > 0, "page census: removing an entry never added");
        *c = c.saturating_sub(1);
    }

    /// Whether `bucket` may hold entries for the page of `vpc`.
    pub(crate) fn may_hold(&self, bucket: usize, vpc: u64) -> bool {
        self.counts[bucket][Self::counter(vpc)] != 0
    }

    /// All entries were dropped.
    pub(crate) fn clear(&mut self) {
        *self = Self::EMPTY;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_pages_per_bucket() {
        let mut c = PageCensus::<64>::EMPTY;
        assert!(!c.may_hold(3, 0x1000_0000));
        c.add(3, 0x1000_0004);
        c.add(3, 0x1000_0ffc);
        assert!(c.may_hold(3, 0x1000_0000), "any PC of the page");
        assert!(!c.may_hold(4, 0x1000_0000), "another bucket");
        // A page 256 KiB on has another counter.
        assert!(!c.may_hold(3, 0x1004_0000));
        c.remove(3, 0x1000_0004);
        assert!(c.may_hold(3, 0x1000_0000), "one entry left");
        c.remove(3, 0x1000_0ffc);
        assert!(!c.may_hold(3, 0x1000_0000));
        c.add(3, 0x1000_0000);
        c.clear();
        assert!(!c.may_hold(3, 0x1000_0000));
    }
}
