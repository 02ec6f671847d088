use super::*;
use crate::irq::testing::Levels;
use crate::pci::config::{BAR0, COMMAND};
use ferrite_softmmu::{MemOp, Ram};

const BASE: u64 = 0xf_e000_8000;

struct Scratch {
    cfg: ConfigSpace,
    reg: u32,
}

impl PciFunction for Scratch {
    fn config(&self) -> &ConfigSpace {
        &self.cfg
    }
    fn config_mut(&mut self) -> &mut ConfigSpace {
        &mut self.cfg
    }
    fn bar_read(&mut self, _bar: usize, offset: u64, _size: u32) -> u64 {
        if offset == 0x10 { u64::from(self.reg) } else { 0 }
    }
    fn bar_write(&mut self, _bar: usize, offset: u64, _size: u32, value: u64) {
        if offset == 0x10 {
            self.reg = value as u32;
        }
    }
}

fn be32() -> MemOp {
    MemOp::new(2, false, Endian::Big, 0)
}
fn le32() -> MemOp {
    MemOp::new(2, false, Endian::Little, 0)
}
fn le16() -> MemOp {
    MemOp::new(1, false, Endian::Little, 0)
}

fn machine() -> (Arc<AddressSpace>, Arc<Mutex<Mpc8540PciHost>>, Arc<Levels>) {
    let space = Arc::new(AddressSpace::new());
    space.add_ram("ram", 0, Arc::new(Ram::new(0x10000).unwrap())).unwrap();
    let levels = Arc::new(Levels::default());
    let intx = [0, 1, 2, 3].map(|i| IrqLine::new(levels.clone(), i + 1));
    let host = Arc::new(Mutex::new(Mpc8540PciHost::new(Arc::downgrade(&space), intx)));
    space.add_mmio("pci", BASE, REGS_SIZE, host.clone(), Endian::Big).unwrap();
    (space, host, levels)
}

fn cfg_addr(slot: u8, reg: u32) -> u64 {
    u64::from(0x8000_0000 | u32::from(slot) << 11 | reg)
}

#[test]
fn cfg_addr_is_big_endian_and_cfg_data_little_endian() {
    let (space, _host, _) = machine();
    space.store(BASE + CFG_ADDR, be32(), cfg_addr(0, 0));
    assert_eq!(space.load(BASE + CFG_ADDR, be32()), 0x8000_0000);
    // Linux reads CFG_DATA with in_le32: vendor in the low half.
    assert_eq!(space.load(BASE + CFG_DATA, le32()), 0x0030_1957);
    // The same bytes read big-endian come out swapped.
    assert_eq!(space.load(BASE + CFG_DATA, be32()), 0x5719_3000);
    // Sub-word access at CFG_DATA + 2 reaches config offset 2 (device ID).
    assert_eq!(space.load(BASE + CFG_DATA + 2, le16()), 0x0030);
    space.store(BASE + CFG_ADDR, be32(), cfg_addr(0, 8));
    assert_eq!(space.load(BASE + CFG_DATA, le32()) >> 8, 0x0b_20_00, "class: PowerPC processor");
    // An empty slot and a disabled address read all ones.
    space.store(BASE + CFG_ADDR, be32(), cfg_addr(3, 0));
    assert_eq!(space.load(BASE + CFG_DATA, le32()), 0xffff_ffff);
    space.store(BASE + CFG_ADDR, be32(), 0);
    assert_eq!(space.load(BASE + CFG_DATA, le32()), 0xffff_ffff);
    // A little-endian store through CFG_DATA lands in the register unswapped.
    space.store(BASE + CFG_ADDR, be32(), cfg_addr(0, 0x3c));
    space.store(BASE + CFG_DATA, le16(), 0x0042);
    assert_eq!(space.load(BASE + CFG_DATA, le32()) & 0xff, 0x42);
}

#[test]
fn outbound_window_appears_only_once_programmed() {
    let (space, host, _) = machine();
    let mut cfg = ConfigSpace::new(0x1af4, 0x1042, 0, 1);
    cfg.set_bar(1, Bar { size: 0x1000, kind: BarKind::Mem32 { prefetch: false } });
    host.lock().unwrap().plug(1, Box::new(Scratch { cfg, reg: 0x1234_5678 })).unwrap();
    assert!(host.lock().unwrap().plug(1, Box::new(HostFunction::new())).is_err());
    // Assign BAR1 at PCI 0xe000_2000 and turn decoding on, as Linux does.
    space.store(BASE + CFG_ADDR, be32(), cfg_addr(1, BAR0 as u32 + 4));
    space.store(BASE + CFG_DATA, le32(), 0xffff_ffff);
    assert_eq!(space.load(BASE + CFG_DATA, le32()), 0xffff_f000, "BAR sizing through the bridge");
    space.store(BASE + CFG_DATA, le32(), 0xe000_2000);
    space.store(BASE + CFG_ADDR, be32(), cfg_addr(1, COMMAND as u32));
    space.store(BASE + CFG_DATA, le16(), 0x2);
    let cpu = 0xc_0000_2010;
    assert!(space.lookup(cpu).is_none(), "no window before the ATMU is programmed");
    // Outbound window 1: CPU 0xC_0000_0000 -> PCI 0xE000_0000, 512 MiB (Linux's values).
    space.store(BASE + OUTBOUND1, be32(), 0xe0000);
    space.store(BASE + OUTBOUND1 + 8, be32(), 0xc00000);
    space.store(BASE + OUTBOUND1 + 0x10, be32(), 0x8004_4000 | 28);
    assert_eq!(space.load(BASE + OUTBOUND1 + 0x10, be32()), 0x8004_401c);
    assert_eq!(space.load(cpu, le32()), 0x1234_5678);
    space.store(cpu, le32(), 0xcafe_f00d);
    assert_eq!(space.load(cpu, le32()), 0xcafe_f00d);
    assert_eq!(space.load(cpu, be32()), 0x0df0_feca, "the window is little-endian");
    // Disabling the window removes it; re-enabling brings it back.
    space.store(BASE + OUTBOUND1 + 0x10, be32(), 0);
    assert!(space.lookup(cpu).is_none());
    space.store(BASE + OUTBOUND1 + 0x10, be32(), 0x8004_4000 | 28);
    assert_eq!(space.load(cpu, le32()), 0xcafe_f00d);
    // An I/O window (RTT = 8) maps PCI I/O space: nothing decodes there.
    space.store(BASE + OUTBOUND1 + 0x20 + 8, be32(), 0xfe1000);
    space.store(BASE + OUTBOUND1 + 0x20 + 0x10, be32(), 0x8008_8000 | 15);
    assert_eq!(space.lookup(0xf_e100_0000).map(|r| r.size), Some(0x10000));
    assert_eq!(space.load(0xf_e100_0010, le32()), 0xffff_ffff);
    // A machine reset unmaps every window and disables decoding.
    space.reset_devices();
    assert!(space.lookup(cpu).is_none() && space.lookup(0xf_e100_0000).is_none());
}

#[test]
fn intx_swizzle_matches_qemu() {
    let (_space, host, levels) = machine();
    let h = host.lock().unwrap();
    // Slot 1 INTA -> output 1 -> (board) MPIC source 2, as in QEMU's interrupt-map.
    h.intx_line(1, 0).raise();
    assert!(levels.get(2));
    h.intx_line(2, 3).raise();
    assert!(levels.get(2), "slot 2 INTD -> output 1 as well");
    h.intx_line(1, 0).lower();
    assert!(levels.get(2), "still held by slot 2");
    h.intx_line(2, 3).lower();
    assert!(!levels.get(2));
    h.intx_line(3, 0).raise();
    assert!(levels.get(4));
}
