use super::*;
use crate::dma::testing::VecMemory;

const DESC: u64 = 0x1000;
const AVAIL: u64 = 0x2000;
const USED: u64 = 0x3000;
const RAM: usize = 0x10000;

struct Driver {
    mem: VecMemory,
    q: Queue,
    avail_idx: u16,
}

impl Driver {
    fn new() -> Driver {
        let mut q = Queue::new(8);
        q.desc_table = DESC;
        q.avail_ring = AVAIL;
        q.used_ring = USED;
        q.ready = true;
        Driver { mem: VecMemory::new(0, RAM), q, avail_idx: 0 }
    }

    fn desc_at(&self, table: u64, i: u16, addr: u64, len: u32, flags: u16, next: u16) {
        let mut b = [0u8; 16];
        b[..8].copy_from_slice(&addr.to_le_bytes());
        b[8..12].copy_from_slice(&len.to_le_bytes());
        b[12..14].copy_from_slice(&flags.to_le_bytes());
        b[14..].copy_from_slice(&next.to_le_bytes());
        self.mem.write(table + 16 * u64::from(i), &b).unwrap();
    }

    fn desc(&self, i: u16, addr: u64, len: u32, flags: u16, next: u16) {
        self.desc_at(DESC, i, addr, len, flags, next);
    }

    fn publish(&mut self, head: u16) {
        let slot = u64::from(self.avail_idx % 8);
        self.mem.write_le16(AVAIL + 4 + 2 * slot, head).unwrap();
        self.avail_idx = self.avail_idx.wrapping_add(1);
        self.mem.write_le16(AVAIL + 2, self.avail_idx).unwrap();
    }

    fn pop(&mut self) -> Result<Option<Chain>, QueueError> {
        self.q.pop(&self.mem)
    }
}

#[test]
fn chain_is_split_into_readable_and_writable_buffers() {
    let mut d = Driver::new();
    d.desc(3, 0x4000, 16, DESC_F_NEXT, 5);
    d.desc(5, 0x5000, 512, DESC_F_NEXT | DESC_F_WRITE, 6);
    d.desc(6, 0x6000, 1, DESC_F_WRITE, 0);
    assert_eq!(d.pop().unwrap(), None, "nothing available yet");
    d.publish(3);
    let c = d.pop().unwrap().unwrap();
    assert_eq!(c.head, 3);
    assert_eq!(c.readable, vec![Segment { addr: 0x4000, len: 16 }]);
    assert_eq!(c.writable, vec![Segment { addr: 0x5000, len: 512 }, Segment { addr: 0x6000, len: 1 }]);
    assert_eq!((c.readable_len(), c.writable_len()), (16, 513));
    assert_eq!(d.pop().unwrap(), None);
    d.q.push_used(&d.mem, 3, 513).unwrap();
    assert_eq!(d.mem.read_le16(USED + 2).unwrap(), 1);
    assert_eq!(d.mem.read_le32(USED + 4).unwrap(), 3);
    assert_eq!(d.mem.read_le32(USED + 8).unwrap(), 513);
    assert!(d.q.needs_interrupt(&d.mem).unwrap());
    d.mem.write_le16(AVAIL, AVAIL_F_NO_INTERRUPT).unwrap();
    assert!(!d.q.needs_interrupt(&d.mem).unwrap(), "driver suppressed interrupts");
}

#[test]
fn ring_indices_wrap() {
    let mut d = Driver::new();
    d.desc(0, 0x4000, 4, 0, 0);
    for i in 0..20u32 {
        d.publish(0);
        assert_eq!(d.pop().unwrap().unwrap().head, 0);
        d.q.push_used(&d.mem, 0, i).unwrap();
    }
    assert_eq!(d.mem.read_le16(USED + 2).unwrap(), 20);
    assert_eq!(d.mem.read_le32(USED + 4 + 8 * (19 % 8) + 4).unwrap(), 19);
}

#[test]
fn indirect_tables_are_followed_once_negotiated() {
    let mut d = Driver::new();
    const TABLE: u64 = 0x8000;
    d.desc_at(TABLE, 0, 0x4000, 16, DESC_F_NEXT, 2);
    d.desc_at(TABLE, 2, 0x5000, 64, DESC_F_WRITE, 0);
    d.desc(1, TABLE, 3 * 16, DESC_F_INDIRECT, 0);
    d.publish(1);
    assert_eq!(d.pop(), Err(QueueError::Indirect("not negotiated")));
    let mut d = Driver::new();
    d.q.indirect = true;
    d.desc_at(TABLE, 0, 0x4000, 16, DESC_F_NEXT, 2);
    d.desc_at(TABLE, 2, 0x5000, 64, DESC_F_WRITE, 0);
    d.desc(1, TABLE, 3 * 16, DESC_F_INDIRECT, 0);
    d.publish(1);
    let c = d.pop().unwrap().unwrap();
    assert_eq!(c.head, 1);
    assert_eq!(c.readable, vec![Segment { addr: 0x4000, len: 16 }]);
    assert_eq!(c.writable, vec![Segment { addr: 0x5000, len: 64 }]);
}

/// Sets up one malformed chain at head 0 and returns what popping it gives.
fn malformed(setup: impl FnOnce(&Driver)) -> Result<Option<Chain>, QueueError> {
    let mut d = Driver::new();
    d.q.indirect = true;
    setup(&d);
    d.publish(0);
    d.pop()
}

#[test]
fn malformed_chains_are_errors_not_crashes() {
    // Buffer beyond the end of RAM, and one whose end wraps around the address space.
    assert!(matches!(malformed(|d| d.desc(0, RAM as u64 - 4, 8, 0, 0)), Err(QueueError::Dma(_))));
    assert!(matches!(malformed(|d| d.desc(0, u64::MAX - 3, 8, 0, 0)), Err(QueueError::Dma(_))));
    // A loop 0 -> 1 -> 0, and a self-loop.
    assert_eq!(
        malformed(|d| {
            d.desc(0, 0x4000, 4, DESC_F_NEXT, 1);
            d.desc(1, 0x4000, 4, DESC_F_NEXT, 0);
        }),
        Err(QueueError::Loop)
    );
    assert_eq!(malformed(|d| d.desc(0, 0x4000, 4, DESC_F_NEXT, 0)), Err(QueueError::Loop));
    // `next` past the table.
    assert_eq!(malformed(|d| d.desc(0, 0x4000, 4, DESC_F_NEXT, 8)), Err(QueueError::Index(8)));
    // Readable after writable.
    assert_eq!(
        malformed(|d| {
            d.desc(0, 0x4000, 4, DESC_F_NEXT | DESC_F_WRITE, 1);
            d.desc(1, 0x4000, 4, 0, 0);
        }),
        Err(QueueError::Order)
    );
    // Indirect: nested, with NEXT, bad length, table outside RAM, loop inside the table.
    assert_eq!(
        malformed(|d| {
            d.desc(0, 0x8000, 16, DESC_F_INDIRECT, 0);
            d.desc_at(0x8000, 0, 0x9000, 16, DESC_F_INDIRECT, 0);
        }),
        Err(QueueError::Indirect("nested table"))
    );
    assert_eq!(malformed(|d| d.desc(0, 0x8000, 16, DESC_F_INDIRECT | DESC_F_NEXT, 1)), Err(QueueError::Indirect("combined with NEXT")));
    assert_eq!(malformed(|d| d.desc(0, 0x8000, 20, DESC_F_INDIRECT, 0)), Err(QueueError::Indirect("bad table length")));
    assert!(matches!(malformed(|d| d.desc(0, RAM as u64 - 16, 32, DESC_F_INDIRECT, 0)), Err(QueueError::Dma(_))));
    assert_eq!(
        malformed(|d| {
            d.desc(0, 0x8000, 32, DESC_F_INDIRECT, 0);
            d.desc_at(0x8000, 0, 0x4000, 4, DESC_F_NEXT, 1);
            d.desc_at(0x8000, 1, 0x4000, 4, DESC_F_NEXT, 0);
        }),
        Err(QueueError::Loop)
    );
}

#[test]
fn bad_ring_state_is_an_error() {
    let mut d = Driver::new();
    d.mem.write_le16(AVAIL + 2, 9).unwrap();
    assert_eq!(d.pop(), Err(QueueError::AvailIndex { avail: 9, seen: 0 }));
    let mut d = Driver::new();
    d.publish(8);
    assert_eq!(d.pop(), Err(QueueError::Index(8)), "head past the table");
    let mut d = Driver::new();
    d.q.avail_ring = RAM as u64 - 2;
    assert!(matches!(d.pop(), Err(QueueError::Dma(_))), "ring outside RAM");
    let mut d = Driver::new();
    d.q.size = 6;
    d.publish(0);
    assert_eq!(d.pop(), Ok(None), "a size that is not a power of two is never used");
}

#[test]
fn event_index_suppresses_interrupts_and_asks_for_kicks() {
    let mut d = Driver::new();
    d.q.event_idx = true;
    d.desc(0, 0x4000, 4, DESC_F_WRITE, 0);
    let used_event_at = AVAIL + 4 + 2 * 8;
    let avail_event_at = USED + 4 + 8 * 8;
    d.publish(0);
    d.publish(0);
    d.pop().unwrap().unwrap();
    assert_eq!(d.mem.read_le16(avail_event_at).unwrap(), 1, "avail_event follows our progress");
    d.q.push_used(&d.mem, 0, 4).unwrap();
    assert!(d.q.needs_interrupt(&d.mem).unwrap(), "first interrupt always goes out");
    // The driver asks to be interrupted only once used index passes 5.
    d.mem.write_le16(used_event_at, 5).unwrap();
    d.pop().unwrap().unwrap();
    d.q.push_used(&d.mem, 0, 4).unwrap();
    assert!(!d.q.needs_interrupt(&d.mem).unwrap());
    // The driver has consumed both and wants to hear about the next one (used_event = 2).
    d.mem.write_le16(used_event_at, 2).unwrap();
    for _ in 0..2 {
        d.publish(0);
    }
    d.pop().unwrap().unwrap();
    d.q.push_used(&d.mem, 0, 4).unwrap();
    assert!(d.q.needs_interrupt(&d.mem).unwrap(), "used index went from 2 to 3, past used_event 2");
    assert!(!d.q.needs_interrupt(&d.mem).unwrap(), "nothing new since");
}
