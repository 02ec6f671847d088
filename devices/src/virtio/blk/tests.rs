use super::*;
use crate::irq::testing::Levels;
use crate::virtio::testing::{accept_all_features, blk_header, Buf, Driver, MemDisk, AVAIL, DESC, QSIZE, USED};
use crate::virtio::*;
use crate::IrqLine;
use std::sync::Arc;

fn setup(disk: MemDisk) -> (VirtioCore, Driver, Arc<Levels>) {
    let drv = Driver::new();
    let levels = Arc::new(Levels::default());
    let mut core = VirtioCore::new(Box::new(VirtioBlk::new(Box::new(disk), "ferrite-disk-0")), drv.mem.clone(), IrqLine::new(levels.clone(), 0));
    accept_all_features(&mut core);
    assert_ne!(core.status() & STATUS_FEATURES_OK, 0);
    let q = core.queue_mut().unwrap();
    q.size = QSIZE;
    q.desc_table = DESC;
    q.avail_ring = AVAIL;
    q.used_ring = USED;
    core.enable_queue(true);
    core.set_status(STATUS_ACKNOWLEDGE | STATUS_DRIVER | STATUS_FEATURES_OK | STATUS_DRIVER_OK);
    (core, drv, levels)
}

#[test]
fn write_then_read_back_through_the_queue() {
    let disk = MemDisk::new(64 << 10, false);
    let (mut core, mut drv, levels) = setup(disk.clone());
    let data: Vec<u8> = (0..1024).map(|i| (i * 7) as u8).collect();
    let a = drv.submit(&[Buf::Out(&blk_header(T_OUT, 3)), Buf::Out(&data[..600]), Buf::Out(&data[600..]), Buf::In(1)]);
    core.notify(0);
    assert_eq!(drv.bytes(a[3], 1), [S_OK]);
    assert_eq!(drv.used(), (1, (0, 1)));
    assert_eq!(&disk.data.lock().unwrap()[3 * 512..5 * 512], &data[..]);
    assert!(levels.get(0), "interrupt raised");
    assert_eq!(core.take_isr(), ISR_QUEUE);
    assert!(!levels.get(0), "reading ISR lowers it");
    let a = drv.submit(&[Buf::Out(&blk_header(T_IN, 3)), Buf::In(100), Buf::In(924), Buf::In(1)]);
    core.notify(0);
    assert_eq!(drv.bytes(a[3], 1), [S_OK]);
    assert_eq!(drv.used(), (2, (4, 1025)));
    assert_eq!([drv.bytes(a[1], 100), drv.bytes(a[2], 924)].concat(), data);
}

#[test]
fn flush_id_discard_and_errors() {
    let disk = MemDisk::new(64 << 10, false);
    let (mut core, mut drv, _) = setup(disk.clone());
    let a = drv.submit(&[Buf::Out(&blk_header(T_FLUSH, 0)), Buf::In(1)]);
    core.notify(0);
    assert_eq!((drv.bytes(a[1], 1)[0], *disk.flushes.lock().unwrap()), (S_OK, 1));
    let a = drv.submit(&[Buf::Out(&blk_header(T_GET_ID, 0)), Buf::In(20), Buf::In(1)]);
    core.notify(0);
    assert_eq!(&drv.bytes(a[1], 14), b"ferrite-disk-0");
    assert_eq!(drv.used().1 .1, 21);
    let mut seg = vec![0u8; 16];
    seg[..8].copy_from_slice(&2u64.to_le_bytes());
    seg[8..12].copy_from_slice(&4u32.to_le_bytes());
    let a = drv.submit(&[Buf::Out(&blk_header(T_DISCARD, 0)), Buf::Out(&seg), Buf::In(1)]);
    core.notify(0);
    assert_eq!(drv.bytes(a[2], 1), [S_OK]);
    let d = disk.data.lock().unwrap().clone();
    assert!(d[1024..3072].iter().all(|&b| b == 0) && d[3072] == 6 && d[1023] == 1);
    // Past the end of the disk, a partial sector, an unknown type.
    let a = drv.submit(&[Buf::Out(&blk_header(T_IN, 127)), Buf::In(1024), Buf::In(1)]);
    core.notify(0);
    assert_eq!(drv.bytes(a[2], 1), [S_IOERR]);
    let a = drv.submit(&[Buf::Out(&blk_header(T_OUT, 0)), Buf::Out(&[1; 100]), Buf::In(1)]);
    core.notify(0);
    assert_eq!(drv.bytes(a[2], 1), [S_IOERR]);
    let a = drv.submit(&[Buf::Out(&blk_header(99, 0)), Buf::In(1)]);
    core.notify(0);
    assert_eq!(drv.bytes(a[1], 1), [S_UNSUPP]);
    assert_eq!(core.status() & STATUS_NEEDS_RESET, 0, "request errors are not protocol errors");
}

#[test]
fn read_only_disks_refuse_writes() {
    let disk = MemDisk::new(8192, true);
    let (mut core, mut drv, _) = setup(disk.clone());
    assert_ne!(core.driver_features() & F_RO, 0);
    assert_eq!(core.driver_features() & F_DISCARD, 0);
    let a = drv.submit(&[Buf::Out(&blk_header(T_OUT, 0)), Buf::Out(&[0xaa; 512]), Buf::In(1)]);
    core.notify(0);
    assert_eq!(drv.bytes(a[2], 1), [S_IOERR]);
    assert_eq!(disk.data.lock().unwrap()[0], 0);
    assert_eq!(core.read_config(0, 8), 16, "capacity in sectors");
}

#[test]
fn malformed_requests_put_the_device_in_needs_reset() {
    let disk = MemDisk::new(8192, false);
    let (mut core, mut drv, levels) = setup(disk);
    // No status byte.
    drv.submit(&[Buf::Out(&blk_header(T_IN, 0))]);
    core.notify(0);
    assert_ne!(core.status() & STATUS_NEEDS_RESET, 0);
    assert!(levels.get(0));
    assert_eq!(core.take_isr(), ISR_CONFIG);
    // A broken device ignores further notifications until the driver resets it.
    let a = drv.submit(&[Buf::Out(&blk_header(T_FLUSH, 0)), Buf::In(1)]);
    drv.mem.write(a[1], &[0xff]).unwrap();
    core.notify(0);
    assert_eq!(drv.bytes(a[1], 1), [0xff]);
    core.set_status(0);
    assert_eq!(core.status(), 0);
    // A descriptor pointing outside RAM.
    let (mut core, drv, _) = setup(MemDisk::new(8192, false));
    drv.raw_desc(0, 0xffff_0000, 16, 0, 0);
    let mut drv = drv;
    drv.publish(0);
    core.notify(0);
    assert_ne!(core.status() & STATUS_NEEDS_RESET, 0);
}

#[test]
fn features_without_version_1_are_refused() {
    let drv = Driver::new();
    let mut core = VirtioCore::new(Box::new(VirtioBlk::new(Box::new(MemDisk::new(4096, false)), "")), drv.mem.clone(), IrqLine::disconnected());
    core.set_status(STATUS_ACKNOWLEDGE | STATUS_DRIVER);
    core.set_driver_features_word(core.device_features_word());
    core.set_status(STATUS_ACKNOWLEDGE | STATUS_DRIVER | STATUS_FEATURES_OK);
    assert_eq!(core.status() & STATUS_FEATURES_OK, 0);
}

#[test]
fn large_buffers_are_copied_in_chunks() {
    let pieces: Vec<Segment> = chunks(Segment { addr: 0x1000, len: 2 * CHUNK + 5 }).collect();
    assert_eq!(
        pieces,
        vec![
            Segment { addr: 0x1000, len: CHUNK },
            Segment { addr: 0x1000 + u64::from(CHUNK), len: CHUNK },
            Segment { addr: 0x1000 + 2 * u64::from(CHUNK), len: 5 },
        ]
    );
    assert_eq!(chunks(Segment { addr: 0, len: 0 }).count(), 0);
}

/// Random requests, some of them corrupted at random: every outcome is a completed request
/// or the NEEDS_RESET state, never a panic or an access outside the test RAM.
#[test]
fn random_garbage_never_panics() {
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let (mut broken, mut served) = (0, 0);
    for round in 0..300 {
        let disk = MemDisk::new(64 << 10, round % 5 == 0);
        let (mut core, mut drv, _) = setup(disk);
        for _ in 0..1 + next() % 4 {
            let ty = [T_IN, T_OUT, T_FLUSH, T_GET_ID, T_DISCARD, T_WRITE_ZEROES, 77][(next() % 7) as usize];
            let data = vec![0x5a; (next() % 3) as usize * 512 + if next() % 4 == 0 { 7 } else { 0 }];
            let hdr = blk_header(ty, next() % 160);
            if ty == T_OUT || ty == T_DISCARD || ty == T_WRITE_ZEROES {
                drv.submit(&[Buf::Out(&hdr), Buf::Out(&data), Buf::In(1)]);
            } else {
                drv.submit(&[Buf::Out(&hdr), Buf::In(data.len()), Buf::In(1)]);
            }
        }
        if next() % 2 == 0 {
            // Corrupt one descriptor: wild address, length, flags or next.
            let i = (next() % u64::from(QSIZE)) as u16;
            let addr = if next() % 2 == 0 { next() } else { 0x10000 + next() % 0xe0000 };
            drv.raw_desc(i, addr, (next() % 5000) as u32, (next() % 8) as u16, (next() % 20) as u16);
        }
        if next() % 8 == 0 {
            drv.mem.write_le16(AVAIL + 2, next() as u16).unwrap();
        }
        core.notify(0);
        let used = drv.mem.read_le16(USED + 2).unwrap();
        assert!(used <= 4, "used index {used} beyond what was made available");
        served += u32::from(used);
        broken += u32::from(core.status() & STATUS_NEEDS_RESET != 0);
    }
    // The garbage must exercise both outcomes, or this test proves nothing.
    assert!(served > 100 && broken > 20, "served {served} requests, {broken} rounds broke the device");
}

#[test]
fn segments_are_grouped_into_runs_of_at_most_one_chunk() {
    let seg = |addr: u64, len: u32| Segment { addr, len };
    // 256 pages of 4 KiB (a 1 MiB request), then a full chunk, then a small tail.
    let mut segs: Vec<Segment> = (0..256).map(|i| seg(0x10_0000 + i * 0x2000, 4096)).collect();
    segs.push(seg(0x900_0000, CHUNK));
    segs.push(seg(0xa00_0000, 512));
    let runs: Vec<(&[Segment], u32)> = runs(&segs).collect();
    assert_eq!(runs.iter().map(|r| r.1).collect::<Vec<_>>(), vec![CHUNK, CHUNK, CHUNK, CHUNK, CHUNK, 512]);
    // Every segment once, in order, and each run's total is its segments' sum.
    let flat: Vec<Segment> = runs.iter().flat_map(|r| r.0.iter().copied()).collect();
    assert_eq!(flat, segs);
    assert!(runs.iter().all(|(r, t)| r.iter().map(|s| s.len).sum::<u32>() == *t));
    assert_eq!(super::runs(&[]).count(), 0);
}
