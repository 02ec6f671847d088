use super::*;
use crate::irq::testing::Levels;
use crate::virtio::testing::{Buf, Driver, AVAIL, DESC, QSIZE, USED};
use crate::virtio::*;
use crate::IrqLine;
use std::sync::Arc;

#[test]
fn rng_over_mmio() {
    let mut drv = Driver::new();
    let levels = Arc::new(Levels::default());
    let rng = VirtioRng::new(Box::new(|b: &mut [u8]| b.fill(0x5a)));
    let mut dev = VirtioMmio::new(VirtioCore::new(Box::new(rng), drv.mem.clone(), IrqLine::new(levels.clone(), 0)));
    assert_eq!(dev.read(R_MAGIC, 4), 0x7472_6976);
    assert_eq!(dev.read(R_VERSION, 4), 2);
    assert_eq!(dev.read(R_DEVICE_ID, 4), u64::from(DEVICE_RNG));
    dev.write(R_STATUS, 4, u64::from(STATUS_ACKNOWLEDGE | STATUS_DRIVER));
    for sel in 0..2 {
        dev.write(R_DEVICE_FEATURES_SEL, 4, sel);
        let f = dev.read(R_DEVICE_FEATURES, 4);
        dev.write(R_DRIVER_FEATURES_SEL, 4, sel);
        dev.write(R_DRIVER_FEATURES, 4, f);
    }
    dev.write(R_STATUS, 4, u64::from(STATUS_ACKNOWLEDGE | STATUS_DRIVER | STATUS_FEATURES_OK));
    assert_ne!(dev.read(R_STATUS, 4) as u8 & STATUS_FEATURES_OK, 0);
    dev.write(R_QUEUE_SEL, 4, 0);
    assert_eq!(dev.read(R_QUEUE_NUM_MAX, 4), 64);
    dev.write(R_QUEUE_NUM, 4, u64::from(QSIZE));
    for (lo, addr) in [(R_QUEUE_DESC_LOW, DESC), (R_QUEUE_DRIVER_LOW, AVAIL), (R_QUEUE_DEVICE_LOW, USED)] {
        dev.write(lo, 4, addr & 0xffff_ffff);
        dev.write(lo + 4, 4, addr >> 32);
    }
    dev.write(R_QUEUE_READY, 4, 1);
    assert_eq!(dev.read(R_QUEUE_READY, 4), 1);
    dev.write(R_QUEUE_NUM, 4, 4);
    dev.write(R_STATUS, 4, u64::from(STATUS_ACKNOWLEDGE | STATUS_DRIVER | STATUS_FEATURES_OK | STATUS_DRIVER_OK));
    let a = drv.submit(&[Buf::In(48)]);
    dev.write(R_QUEUE_NOTIFY, 4, 0);
    assert_eq!(drv.used(), (1, (0, 48)));
    assert_eq!(drv.bytes(a[0], 48), vec![0x5a; 48]);
    assert!(levels.get(0));
    assert_eq!(dev.read(R_INTERRUPT_STATUS, 4), u64::from(ISR_QUEUE));
    dev.write(R_INTERRUPT_ACK, 4, u64::from(ISR_QUEUE));
    assert!(!levels.get(0));
    // Narrow register accesses are ignored; reset clears everything.
    assert_eq!(dev.read(R_MAGIC, 2), 0);
    dev.write(R_STATUS, 4, 0);
    assert_eq!(dev.read(R_QUEUE_READY, 4), 0);
}
