//! The 256-byte configuration space of one PCI function (type-0 header): identity registers,
//! command/status, BARs whose size the guest discovers by writing all ones, the capability
//! list and the interrupt pin.
//!
//! Writes go through per-byte masks, as on hardware: `wmask` bits are writable, `w1cmask`
//! bits are cleared by writing 1 (status), everything else is read-only. A BAR of size S has
//! its low log2(S) address bits read-only zero, which is what makes sizing work.

/// Vendor ID (16 bits).
pub const VENDOR_ID: usize = 0x00;
/// Device ID (16 bits).
pub const DEVICE_ID: usize = 0x02;
/// Command register (16 bits).
pub const COMMAND: usize = 0x04;
/// Status register (16 bits).
pub const STATUS: usize = 0x06;
/// Revision ID (8 bits), followed by the 24-bit class code.
pub const REVISION_ID: usize = 0x08;
/// Cache line size (8 bits).
pub const CACHE_LINE_SIZE: usize = 0x0c;
/// Latency timer (8 bits).
pub const LATENCY_TIMER: usize = 0x0d;
/// Header type (8 bits).
pub const HEADER_TYPE: usize = 0x0e;
/// First base address register.
pub const BAR0: usize = 0x10;
/// Subsystem vendor ID (16 bits).
pub const SUBSYSTEM_VENDOR_ID: usize = 0x2c;
/// Subsystem ID (16 bits).
pub const SUBSYSTEM_ID: usize = 0x2e;
/// Expansion ROM base (unimplemented: reads 0).
pub const ROM_ADDRESS: usize = 0x30;
/// Capabilities pointer (8 bits).
pub const CAPABILITY_LIST: usize = 0x34;
/// Interrupt line (8 bits, scratch for the OS).
pub const INTERRUPT_LINE: usize = 0x3c;
/// Interrupt pin (8 bits): 0 none, 1..4 INTA..INTD.
pub const INTERRUPT_PIN: usize = 0x3d;

/// Command: respond to I/O space accesses.
pub const COMMAND_IO: u16 = 0x1;
/// Command: respond to memory space accesses.
pub const COMMAND_MEMORY: u16 = 0x2;
/// Command: may master the bus (DMA).
pub const COMMAND_MASTER: u16 = 0x4;
/// Command: INTx assertion disabled.
pub const COMMAND_INTX_DISABLE: u16 = 0x400;
/// Status: INTx asserted (read-only, mirrors the device's interrupt state).
pub const STATUS_INTERRUPT: u16 = 0x8;
/// Status: a capability list is present.
pub const STATUS_CAP_LIST: u16 = 0x10;
/// Status bits the guest clears by writing 1 (parity, aborts, SERR).
const STATUS_W1C: u16 = 0xf900;

/// Capability ID of vendor-specific capabilities (virtio's).
pub const CAP_ID_VENDOR: u8 = 0x09;

/// Number of BARs in a type-0 header.
pub const NUM_BARS: usize = 6;
/// Size of a configuration space (conventional PCI).
pub const CONFIG_SIZE: usize = 256;

/// What a BAR decodes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BarKind {
    /// 32-bit memory space.
    Mem32 {
        /// Prefetchable.
        prefetch: bool,
    },
    /// 64-bit memory space (uses this BAR and the next).
    Mem64 {
        /// Prefetchable.
        prefetch: bool,
    },
    /// I/O space.
    Io,
}

/// A BAR the function implements.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bar {
    /// Size in bytes: a power of two, at least 16 (memory) or 4 (I/O).
    pub size: u64,
    /// Address space and width.
    pub kind: BarKind,
}

/// Where the guest has placed a BAR.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BarMapping {
    /// BAR index.
    pub index: usize,
    /// PCI bus address of the first byte.
    pub base: u64,
    /// Size in bytes.
    pub size: u64,
    /// I/O space (else memory space).
    pub io: bool,
}

/// The configuration space of one function.
#[derive(Clone)]
pub struct ConfigSpace {
    data: [u8; CONFIG_SIZE],
    wmask: [u8; CONFIG_SIZE],
    w1cmask: [u8; CONFIG_SIZE],
    bars: [Option<Bar>; NUM_BARS],
    next_cap: usize,
    last_cap: Option<usize>,
    reset_image: Option<Box<[u8; CONFIG_SIZE]>>,
}

impl ConfigSpace {
    /// A type-0 header with the given identity; class is `(base << 16) | (sub << 8) | prog_if`.
    pub fn new(vendor: u16, device: u16, class: u32, revision: u8) -> ConfigSpace {
        let mut c = ConfigSpace {
            data: [0; CONFIG_SIZE],
            wmask: [0; CONFIG_SIZE],
            w1cmask: [0; CONFIG_SIZE],
            bars: [None; NUM_BARS],
            next_cap: 0x40,
            last_cap: None,
            reset_image: None,
        };
        c.set16(VENDOR_ID, vendor);
        c.set16(DEVICE_ID, device);
        c.data[REVISION_ID] = revision;
        c.data[REVISION_ID + 1..REVISION_ID + 4].copy_from_slice(&class.to_le_bytes()[..3]);
        let cmd = COMMAND_IO | COMMAND_MEMORY | COMMAND_MASTER | COMMAND_INTX_DISABLE;
        c.wmask[COMMAND..COMMAND + 2].copy_from_slice(&cmd.to_le_bytes());
        c.w1cmask[STATUS..STATUS + 2].copy_from_slice(&STATUS_W1C.to_le_bytes());
        c.wmask[CACHE_LINE_SIZE] = 0xff;
        c.wmask[LATENCY_TIMER] = 0xff;
        c.wmask[INTERRUPT_LINE] = 0xff;
        c
    }

    /// Sets the subsystem vendor and ID.
    pub fn set_subsystem(&mut self, vendor: u16, id: u16) {
        self.set16(SUBSYSTEM_VENDOR_ID, vendor);
        self.set16(SUBSYSTEM_ID, id);
    }

    /// Sets the interrupt pin (1..4 = INTA..INTD).
    pub fn set_interrupt_pin(&mut self, pin: u8) {
        self.data[INTERRUPT_PIN] = pin;
    }

    /// Declares BAR `index`. A 64-bit BAR also takes `index + 1`. Panics on a programming
    /// error in the device model (bad size or index), never on guest input.
    pub fn set_bar(&mut self, index: usize, bar: Bar) {
        let min = if bar.kind == BarKind::Io { 4 } else { 16 };
        assert!(bar.size.is_power_of_two() && bar.size >= min, "BAR size {:#x}", bar.size);
        let wide = matches!(bar.kind, BarKind::Mem64 { .. });
        assert!(index + usize::from(wide) < NUM_BARS, "BAR index {index}");
        let off = BAR0 + 4 * index;
        let (flags, low_mask): (u32, u64) = match bar.kind {
            BarKind::Io => (0x1, !(bar.size - 1) & 0xffff_fffc),
            BarKind::Mem32 { prefetch } => (u32::from(prefetch) << 3, !(bar.size - 1) & 0xffff_fff0),
            BarKind::Mem64 { prefetch } => (0x4 | u32::from(prefetch) << 3, !(bar.size - 1) & !0xf),
        };
        self.data[off..off + 4].copy_from_slice(&flags.to_le_bytes());
        self.wmask[off..off + 4].copy_from_slice(&(low_mask as u32).to_le_bytes());
        if wide {
            self.wmask[off + 4..off + 8].copy_from_slice(&((low_mask >> 32) as u32).to_le_bytes());
        }
        self.bars[index] = Some(bar);
    }

    /// Appends a capability with `id` and `body` (the bytes after ID and next pointer) and
    /// returns its offset. `writable` lists body byte ranges (relative to the capability) the
    /// guest may write.
    pub fn add_capability(&mut self, id: u8, body: &[u8], writable: &[std::ops::Range<usize>]) -> usize {
        let off = self.next_cap;
        let len = 2 + body.len();
        assert!(off + len <= CONFIG_SIZE, "capabilities overflow the configuration space");
        self.data[off] = id;
        self.data[off + 2..off + len].copy_from_slice(body);
        for r in writable {
            self.wmask[off + r.start..off + r.end].fill(0xff);
        }
        match self.last_cap {
            Some(prev) => self.data[prev + 1] = off as u8,
            None => self.data[CAPABILITY_LIST] = off as u8,
        }
        let status = self.get16(STATUS) | STATUS_CAP_LIST;
        self.set16(STATUS, status);
        self.last_cap = Some(off);
        self.next_cap = (off + len + 3) & !3;
        off
    }

    /// Records the current contents as the power-on state restored by [`Self::reset`]. The
    /// first guest write does it too, so a device that never calls this still resets right.
    pub fn seal(&mut self) {
        self.reset_image = Some(Box::new(self.data));
    }

    /// Returns every register to its power-on value (BARs unassigned, decoding off).
    pub fn reset(&mut self) {
        if let Some(img) = &self.reset_image {
            self.data = **img;
        }
    }

    /// Reads `size` (1, 2 or 4) bytes at `offset`, little-endian. Out-of-range reads give 0.
    pub fn read(&self, offset: usize, size: usize) -> u32 {
        let Some(bytes) = self.data.get(offset..offset.saturating_add(size)) else { return 0 };
        bytes.iter().rev().fold(0, |v, &b| (v << 8) | u32::from(b))
    }

    /// Writes the low `size` bytes of `value` at `offset` through the write masks.
    pub fn write(&mut self, offset: usize, size: usize, value: u32) {
        if self.reset_image.is_none() {
            self.seal();
        }
        for i in 0..size.min(4) {
            let Some(a) = offset.checked_add(i).filter(|&a| a < CONFIG_SIZE) else { return };
            let b = (value >> (8 * i)) as u8;
            let (w, c) = (self.wmask[a], self.w1cmask[a]);
            self.data[a] = (self.data[a] & !w) | (b & w);
            self.data[a] &= !(b & c);
        }
    }

    /// A 16-bit register.
    pub fn get16(&self, offset: usize) -> u16 {
        u16::from_le_bytes([self.data[offset], self.data[offset + 1]])
    }

    /// Sets a 16-bit register directly (device side, ignoring write masks).
    pub fn set16(&mut self, offset: usize, v: u16) {
        self.data[offset..offset + 2].copy_from_slice(&v.to_le_bytes());
    }

    /// A 32-bit register.
    pub fn get32(&self, offset: usize) -> u32 {
        self.read(offset, 4)
    }

    /// Sets a 32-bit register directly (device side).
    pub fn set32(&mut self, offset: usize, v: u32) {
        self.data[offset..offset + 4].copy_from_slice(&v.to_le_bytes());
    }

    /// Sets or clears the status register's interrupt bit.
    pub fn set_interrupt_status(&mut self, asserted: bool) {
        let s = self.get16(STATUS);
        self.set16(STATUS, if asserted { s | STATUS_INTERRUPT } else { s & !STATUS_INTERRUPT });
    }

    /// The command register.
    pub fn command(&self) -> u16 {
        self.get16(COMMAND)
    }

    /// The declared BARs.
    pub fn bar(&self, index: usize) -> Option<Bar> {
        self.bars.get(index).copied().flatten()
    }

    /// Where BAR `index` currently decodes, if decoding is on and the guest has placed it.
    ///
    /// As on hardware (and QEMU's `pci_bar_address`), a BAR at 0 or one left holding its
    /// sizing value (all ones) decodes nothing.
    pub fn bar_mapping(&self, index: usize) -> Option<BarMapping> {
        let bar = self.bar(index)?;
        let raw = self.get32(BAR0 + 4 * index) as u64;
        let cmd = self.command();
        let (base, io) = match bar.kind {
            BarKind::Io => {
                if cmd & COMMAND_IO == 0 {
                    return None;
                }
                (raw & !0x3, true)
            }
            BarKind::Mem32 { .. } => {
                if cmd & COMMAND_MEMORY == 0 {
                    return None;
                }
                (raw & !0xf, false)
            }
            BarKind::Mem64 { .. } => {
                if cmd & COMMAND_MEMORY == 0 {
                    return None;
                }
                let hi = self.get32(BAR0 + 4 * index + 4) as u64;
                ((hi << 32) | (raw & !0xf), false)
            }
        };
        let last = base.checked_add(bar.size - 1)?;
        let limit = match bar.kind {
            BarKind::Mem64 { .. } => u64::MAX - 1,
            BarKind::Io | BarKind::Mem32 { .. } => 0xffff_fffe,
        };
        if base == 0 || last > limit {
            return None;
        }
        Some(BarMapping { index, base, size: bar.size, io })
    }

    /// Every BAR that currently decodes.
    pub fn mappings(&self) -> impl Iterator<Item = BarMapping> + '_ {
        (0..NUM_BARS).filter_map(|i| self.bar_mapping(i))
    }
}

impl std::fmt::Debug for ConfigSpace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ConfigSpace({:04x}:{:04x})", self.get16(VENDOR_ID), self.get16(DEVICE_ID))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dev() -> ConfigSpace {
        let mut c = ConfigSpace::new(0x1af4, 0x1042, 0x01_00_00, 1);
        c.set_bar(0, Bar { size: 0x1000, kind: BarKind::Mem32 { prefetch: false } });
        c.set_bar(2, Bar { size: 0x20, kind: BarKind::Io });
        c.set_bar(4, Bar { size: 0x4000, kind: BarKind::Mem64 { prefetch: true } });
        c.set_interrupt_pin(1);
        c.seal();
        c
    }

    #[test]
    fn identity_is_read_only() {
        let mut c = dev();
        c.write(VENDOR_ID, 4, 0xffff_ffff);
        assert_eq!(c.read(VENDOR_ID, 4), 0x1042_1af4);
        assert_eq!(c.read(REVISION_ID, 4), 0x0100_0001);
        assert_eq!(c.read(DEVICE_ID, 2), 0x1042);
        assert_eq!(c.read(VENDOR_ID + 1, 1), 0x1a);
        assert_eq!(c.read(INTERRUPT_PIN, 1), 1);
        c.write(INTERRUPT_PIN, 1, 3);
        assert_eq!(c.read(INTERRUPT_PIN, 1), 1);
        c.write(INTERRUPT_LINE, 1, 0x22);
        assert_eq!(c.read(INTERRUPT_LINE, 1), 0x22);
        assert_eq!(c.read(0xfe, 4), 0, "straddles the end");
    }

    #[test]
    fn bar_sizing_as_linux_does_it() {
        let mut c = dev();
        // 32-bit memory BAR: write all ones, read back the size mask plus type bits.
        c.write(BAR0, 4, 0xffff_ffff);
        assert_eq!(c.read(BAR0, 4), 0xffff_f000);
        // I/O BAR.
        c.write(BAR0 + 8, 4, 0xffff_ffff);
        assert_eq!(c.read(BAR0 + 8, 4), 0xffff_ffe1);
        // 64-bit prefetchable BAR over BAR4/BAR5.
        c.write(BAR0 + 16, 4, 0xffff_ffff);
        c.write(BAR0 + 20, 4, 0xffff_ffff);
        assert_eq!(c.read(BAR0 + 16, 4), 0xffff_c00c);
        assert_eq!(c.read(BAR0 + 20, 4), 0xffff_ffff);
        // Unimplemented BARs read 0 whatever is written.
        c.write(BAR0 + 4, 4, 0xffff_ffff);
        assert_eq!(c.read(BAR0 + 4, 4), 0);
        // Nothing decodes while sizing values sit in the BARs, even with decoding on.
        c.write(COMMAND, 2, u32::from(COMMAND_MEMORY | COMMAND_IO));
        assert_eq!(c.mappings().count(), 0);
    }

    #[test]
    fn assigned_bars_decode_only_when_enabled() {
        let mut c = dev();
        c.write(BAR0, 4, 0xe000_0123);
        c.write(BAR0 + 8, 4, 0x1000);
        c.write(BAR0 + 16, 4, 0xe000_4000);
        c.write(BAR0 + 20, 4, 0x1);
        assert_eq!(c.read(BAR0, 4), 0xe000_0000, "low bits below the size are read-only");
        assert_eq!(c.mappings().count(), 0, "decoding off after reset");
        c.write(COMMAND, 2, u32::from(COMMAND_MEMORY));
        let m: Vec<_> = c.mappings().collect();
        assert_eq!(
            m,
            vec![
                BarMapping { index: 0, base: 0xe000_0000, size: 0x1000, io: false },
                BarMapping { index: 4, base: 0x1_e000_4000, size: 0x4000, io: false },
            ]
        );
        c.write(COMMAND, 2, u32::from(COMMAND_IO));
        assert_eq!(c.mappings().collect::<Vec<_>>(), vec![BarMapping { index: 2, base: 0x1000, size: 0x20, io: true }]);
        c.reset();
        assert_eq!(c.read(BAR0, 4), 0);
        assert_eq!(c.command(), 0);
    }

    #[test]
    fn status_bits_are_write_one_to_clear_and_caps_chain() {
        let mut c = ConfigSpace::new(1, 2, 0, 0);
        let a = c.add_capability(CAP_ID_VENDOR, &[0x10, 1, 2], &[]);
        let b = c.add_capability(CAP_ID_VENDOR, &[0x14, 3, 4, 5, 6, 7], &[4..5, 5..6]);
        assert_eq!((a, b), (0x40, 0x48));
        assert_eq!(c.read(CAPABILITY_LIST, 1), 0x40);
        assert_eq!(c.read(a, 2), 0x4809, "ID then next pointer");
        assert_eq!(c.read(b + 1, 1), 0, "end of list");
        assert_ne!(c.get16(STATUS) & STATUS_CAP_LIST, 0);
        c.write(b + 4, 2, 0xbeef);
        assert_eq!(c.read(b + 4, 2), 0xbeef);
        c.write(b + 2, 1, 0);
        assert_eq!(c.read(b + 2, 1), 0x14, "read-only body byte");
        c.set16(STATUS, c.get16(STATUS) | 0x8000 | STATUS_INTERRUPT);
        c.write(STATUS, 2, 0x8000 | u32::from(STATUS_CAP_LIST | STATUS_INTERRUPT));
        assert_eq!(c.get16(STATUS), STATUS_CAP_LIST | STATUS_INTERRUPT);
    }
}
