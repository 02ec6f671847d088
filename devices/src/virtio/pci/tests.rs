use super::*;
use crate::irq::testing::Levels;
use crate::pci::config::{BAR0, CAPABILITY_LIST, COMMAND, COMMAND_MEMORY, STATUS, STATUS_INTERRUPT};
use crate::pci::{devfn, PciBus, Space};
use crate::virtio::blk::{S_OK, T_IN};
use crate::virtio::testing::{blk_header, Buf, Driver, MemDisk, AVAIL, DESC, QSIZE, USED};
use crate::virtio::*;
use crate::IrqLine;
use std::collections::HashMap;
use std::sync::Arc;

const BAR_ADDR: u64 = 0xe000_0000;
const DF: u8 = devfn(1, 0);

/// Walks the capability list as Linux's virtio_pci_modern does: cfg_type -> (bar, offset, extra).
fn virtio_caps(bus: &mut PciBus) -> HashMap<u8, (u8, u32, u32)> {
    let mut caps = HashMap::new();
    let mut at = bus.config_read(DF, CAPABILITY_LIST, 1) as usize;
    while at != 0 {
        assert_eq!(bus.config_read(DF, at, 1), u32::from(CAP_ID_VENDOR));
        let ty = bus.config_read(DF, at + 3, 1) as u8;
        let bar = bus.config_read(DF, at + 4, 1) as u8;
        let off = bus.config_read(DF, at + 8, 4);
        let extra = match ty {
            CAP_NOTIFY => bus.config_read(DF, at + 16, 4),
            CAP_PCI_CFG => at as u32,
            _ => 0,
        };
        caps.insert(ty, (bar, off, extra));
        at = bus.config_read(DF, at + 1, 1) as usize;
    }
    caps
}

#[test]
fn linux_style_probe_and_request_over_pci() {
    let mut drv = Driver::new();
    let disk = MemDisk::new(64 << 10, false);
    let levels = Arc::new(Levels::default());
    let core = VirtioCore::new(Box::new(VirtioBlk::new(Box::new(disk), "")), drv.mem.clone(), IrqLine::new(levels.clone(), 0));
    let mut bus = PciBus::new();
    bus.plug(DF, Box::new(VirtioPci::new(core)));
    assert_eq!(bus.config_read(DF, 0, 4), 0x1042_1af4, "modern virtio-blk IDs");
    assert_eq!(bus.config_read(DF, 0x3d, 1), 1, "INTA");
    let caps = virtio_caps(&mut bus);
    assert_eq!(caps[&CAP_COMMON], (4, 0x0000, 0));
    assert_eq!(caps[&CAP_NOTIFY], (4, 0x3000, NOTIFY_MULTIPLIER));
    assert_eq!(caps[&CAP_ISR].1, 0x1000);
    assert_eq!(caps[&CAP_DEVICE].1, 0x2000);
    // Size and place the 64-bit BAR, turn on memory decoding.
    bus.config_write(DF, BAR0 + 16, 4, 0xffff_ffff);
    assert_eq!(bus.config_read(DF, BAR0 + 16, 4), 0xffff_c00c);
    bus.config_write(DF, BAR0 + 16, 4, BAR_ADDR as u32);
    bus.config_write(DF, BAR0 + 20, 4, 0);
    bus.config_write(DF, COMMAND, 2, u32::from(COMMAND_MEMORY));
    let common = |off: u64| BAR_ADDR + off;
    let rd = |bus: &mut PciBus, off: u64, size: u32| bus.read(Space::Memory, common(off), size);
    let wr = |bus: &mut PciBus, off: u64, size: u32, v: u64| bus.write(Space::Memory, common(off), size, v);
    wr(&mut bus, 0x14, 1, u64::from(STATUS_ACKNOWLEDGE | STATUS_DRIVER));
    for sel in 0..2 {
        wr(&mut bus, 0x00, 4, sel);
        let f = rd(&mut bus, 0x04, 4);
        wr(&mut bus, 0x08, 4, sel);
        wr(&mut bus, 0x0c, 4, f);
    }
    wr(&mut bus, 0x14, 1, u64::from(STATUS_ACKNOWLEDGE | STATUS_DRIVER | STATUS_FEATURES_OK));
    assert_ne!(rd(&mut bus, 0x14, 1) as u8 & STATUS_FEATURES_OK, 0);
    assert_eq!(rd(&mut bus, 0x12, 2), 1, "one queue");
    wr(&mut bus, 0x16, 2, 0);
    assert_eq!(rd(&mut bus, 0x18, 2), 256, "queue size offered");
    assert_eq!(rd(&mut bus, 0x1a, 2), 0xffff, "no MSI-X vector");
    wr(&mut bus, 0x18, 2, u64::from(QSIZE));
    for (off, addr) in [(0x20, DESC), (0x28, AVAIL), (0x30, USED)] {
        wr(&mut bus, off, 4, addr & 0xffff_ffff);
        wr(&mut bus, off + 4, 4, addr >> 32);
    }
    wr(&mut bus, 0x1c, 2, 1);
    wr(&mut bus, 0x14, 1, u64::from(STATUS_ACKNOWLEDGE | STATUS_DRIVER | STATUS_FEATURES_OK | STATUS_DRIVER_OK));
    assert_eq!(bus.read(Space::Memory, BAR_ADDR + 0x2000, 4), 128, "capacity through the device cfg");
    let a = drv.submit(&[Buf::Out(&blk_header(T_IN, 2)), Buf::In(512), Buf::In(1)]);
    let notify_off = rd(&mut bus, 0x1e, 2);
    bus.write(Space::Memory, BAR_ADDR + 0x3000 + notify_off * u64::from(NOTIFY_MULTIPLIER), 2, 0);
    assert_eq!(drv.bytes(a[2], 1), [S_OK]);
    assert!(drv.bytes(a[1], 512).iter().all(|&b| b == 2));
    assert!(levels.get(0));
    assert_ne!(bus.config_read(DF, STATUS, 2) as u16 & STATUS_INTERRUPT, 0);
    // INTx disable masks the line without losing the pending status.
    bus.config_write(DF, COMMAND, 2, u32::from(COMMAND_MEMORY | COMMAND_INTX_DISABLE));
    assert!(!levels.get(0));
    bus.config_write(DF, COMMAND, 2, u32::from(COMMAND_MEMORY));
    assert!(levels.get(0));
    assert_eq!(bus.read(Space::Memory, BAR_ADDR + 0x1000, 1), u64::from(ISR_QUEUE));
    assert!(!levels.get(0));
    assert_eq!(bus.read(Space::Memory, BAR_ADDR + 0x1000, 1), 0, "ISR clears on read");
    // The pci_cfg capability reaches the same registers without the BAR.
    let cap = caps[&CAP_PCI_CFG].2 as usize;
    bus.config_write(DF, cap + 4, 1, BAR as u32);
    bus.config_write(DF, cap + 8, 4, 0x12);
    bus.config_write(DF, cap + 12, 4, 2);
    assert_eq!(bus.config_read(DF, cap + 16, 4), 1, "num_queues via pci_cfg");
    // Bus reset: the device is reset too.
    bus.reset();
    bus.config_write(DF, BAR0 + 16, 4, BAR_ADDR as u32);
    bus.config_write(DF, COMMAND, 2, u32::from(COMMAND_MEMORY));
    assert_eq!(rd(&mut bus, 0x14, 1), 0);
}
