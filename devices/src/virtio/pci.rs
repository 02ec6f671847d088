//! The modern (virtio 1.x, non-transitional) PCI transport: vendor 0x1AF4, device
//! 0x1040 + type, and the common, notify, ISR and device configuration structures in BAR 4,
//! found through vendor-specific capabilities. Interrupts are INTx (no MSI-X): the driver
//! reads ISR to learn why and to lower the line.

use super::core::VirtioCore;
use super::{DEVICE_BLOCK, DEVICE_CONSOLE, DEVICE_NET, DEVICE_RNG};
use crate::pci::config::{self, Bar, BarKind, ConfigSpace, CAP_ID_VENDOR, COMMAND_INTX_DISABLE};
use crate::pci::PciFunction;

/// PCI vendor ID of virtio devices.
pub const VENDOR_VIRTIO: u16 = 0x1af4;
/// Device ID of a modern virtio device of type 0.
pub const DEVICE_ID_BASE: u16 = 0x1040;
/// The BAR holding every structure.
pub const BAR: usize = 4;
/// Size of that BAR.
pub const BAR_SIZE: u64 = 0x4000;
/// Offset of the common configuration in the BAR.
pub const COMMON_OFFSET: u64 = 0x0000;
/// Offset of the ISR byte.
pub const ISR_OFFSET: u64 = 0x1000;
/// Offset of the device configuration.
pub const DEVICE_OFFSET: u64 = 0x2000;
/// Offset of the notification area.
pub const NOTIFY_OFFSET: u64 = 0x3000;
/// Bytes between the notification addresses of consecutive queues.
pub const NOTIFY_MULTIPLIER: u32 = 4;
const REGION_SIZE: u64 = 0x1000;

const CAP_COMMON: u8 = 1;
const CAP_NOTIFY: u8 = 2;
const CAP_ISR: u8 = 3;
const CAP_DEVICE: u8 = 4;
const CAP_PCI_CFG: u8 = 5;

/// "No MSI-X vector" for the vector registers: we have no MSI-X.
const NO_VECTOR: u16 = 0xffff;

/// A virtio device on PCI.
pub struct VirtioPci {
    cfg: ConfigSpace,
    core: VirtioCore,
    /// Offset of the VIRTIO_PCI_CAP_PCI_CFG capability in configuration space.
    pci_cfg_cap: usize,
}

impl VirtioPci {
    /// Wraps `core` (whose interrupt line is this function's INTA) as a PCI function.
    pub fn new(core: VirtioCore) -> VirtioPci {
        let ty = core.device().device_type();
        let class = match ty {
            DEVICE_BLOCK => 0x01_00_00, // mass storage, SCSI (as QEMU)
            DEVICE_RNG => 0x00_ff_00,
            DEVICE_NET => 0x02_00_00, // Ethernet controller
            DEVICE_CONSOLE => 0x07_80_00, // other communication controller (as QEMU)
            _ => 0xff_00_00,
        };
        let mut cfg = ConfigSpace::new(VENDOR_VIRTIO, DEVICE_ID_BASE + ty as u16, class, 1);
        cfg.set_subsystem(VENDOR_VIRTIO, DEVICE_ID_BASE + ty as u16);
        cfg.set_interrupt_pin(1);
        cfg.set_bar(BAR, Bar { size: BAR_SIZE, kind: BarKind::Mem64 { prefetch: true } });
        let cap = |ty: u8, offset: u64, len: u64, extra: &[u8]| {
            let mut body = vec![(16 + extra.len()) as u8, ty, BAR as u8, 0, 0, 0];
            body.extend_from_slice(&(offset as u32).to_le_bytes());
            body.extend_from_slice(&(len as u32).to_le_bytes());
            body.extend_from_slice(extra);
            body
        };
        cfg.add_capability(CAP_ID_VENDOR, &cap(CAP_COMMON, COMMON_OFFSET, REGION_SIZE, &[]), &[]);
        cfg.add_capability(CAP_ID_VENDOR, &cap(CAP_ISR, ISR_OFFSET, REGION_SIZE, &[]), &[]);
        cfg.add_capability(CAP_ID_VENDOR, &cap(CAP_DEVICE, DEVICE_OFFSET, REGION_SIZE, &[]), &[]);
        cfg.add_capability(CAP_ID_VENDOR, &cap(CAP_NOTIFY, NOTIFY_OFFSET, REGION_SIZE, &NOTIFY_MULTIPLIER.to_le_bytes()), &[]);
        // pci_cfg: bar, offset, length and data are the driver's to write.
        let mut body = vec![20, CAP_PCI_CFG, 0, 0, 0, 0];
        body.extend_from_slice(&[0; 12]);
        let pci_cfg_cap = cfg.add_capability(CAP_ID_VENDOR, &body, &[4..5, 8..20]);
        cfg.seal();
        VirtioPci { cfg, core, pci_cfg_cap }
    }

    /// The transport-independent state.
    pub fn core(&self) -> &VirtioCore {
        &self.core
    }

    fn common_read(&self, offset: u64, size: u32) -> u64 {
        let c = &self.core;
        let q = c.queue();
        let mut img = [0u8; 0x38];
        let mut put = |at: usize, bytes: &[u8]| img[at..at + bytes.len()].copy_from_slice(bytes);
        put(0x00, &c.device_features_sel.to_le_bytes());
        put(0x04, &c.device_features_word().to_le_bytes());
        put(0x08, &c.driver_features_sel.to_le_bytes());
        put(0x0c, &c.driver_features_word().to_le_bytes());
        put(0x10, &NO_VECTOR.to_le_bytes());
        put(0x12, &c.num_queues().to_le_bytes());
        put(0x14, &[c.status()]);
        put(0x15, &[c.config_generation()]);
        put(0x16, &c.queue_sel().to_le_bytes());
        if let Some(q) = q {
            put(0x18, &q.size.to_le_bytes());
            put(0x1a, &NO_VECTOR.to_le_bytes());
            put(0x1c, &u16::from(q.ready).to_le_bytes());
            put(0x1e, &c.queue_sel().to_le_bytes());
            put(0x20, &q.desc_table.to_le_bytes());
            put(0x28, &q.avail_ring.to_le_bytes());
            put(0x30, &q.used_ring.to_le_bytes());
        }
        let mut v = 0u64;
        for i in (0..u64::from(size.min(8))).rev() {
            v = (v << 8) | u64::from(*img.get((offset + i) as usize).unwrap_or(&0));
        }
        v
    }

    fn common_write(&mut self, offset: u64, size: u32, v: u64) {
        let c = &mut self.core;
        let set_half = |old: u64, hi: bool| {
            if hi { (old & 0xffff_ffff) | (v << 32) } else { (old & !0xffff_ffff) | (v & 0xffff_ffff) }
        };
        match (offset, size) {
            (0x00, 4) => c.device_features_sel = v as u32,
            (0x08, 4) => c.driver_features_sel = v as u32,
            (0x0c, 4) => c.set_driver_features_word(v as u32),
            (0x10, 2) | (0x1a, 2) => {} // MSI-X vectors: none, reads stay NO_VECTOR
            (0x14, 1) => c.set_status(v as u8),
            (0x16, 2) => c.set_queue_sel(v as u16),
            (0x18, 2) => {
                if let Some(q) = c.queue_mut() {
                    q.size = v as u16;
                }
            }
            (0x1c, 2) => c.enable_queue(v & 1 != 0),
            (0x20 | 0x24 | 0x28 | 0x2c | 0x30 | 0x34, 4) | (0x20 | 0x28 | 0x30, 8) => {
                let hi = offset & 4 != 0;
                if let Some(q) = c.queue_mut() {
                    let field = match offset & !7 {
                        0x20 => &mut q.desc_table,
                        0x28 => &mut q.avail_ring,
                        _ => &mut q.used_ring,
                    };
                    *field = if size == 8 { v } else { set_half(*field, hi) };
                }
            }
            _ => tracing::warn!(target: "guest_errors", "virtio-pci: write of {size} bytes to common config {offset:#x} ignored"),
        }
    }

    /// The BAR access the pci_cfg capability describes: (offset in BAR, size), if valid.
    fn pci_cfg_window(&self) -> Option<(u64, u32)> {
        let c = self.pci_cfg_cap;
        let bar = self.cfg.read(c + 4, 1) as usize;
        let offset = u64::from(self.cfg.read(c + 8, 4));
        let len = self.cfg.read(c + 12, 4);
        (bar == BAR && matches!(len, 1 | 2 | 4) && offset % u64::from(len) == 0).then_some((offset, len))
    }
}

impl PciFunction for VirtioPci {
    fn config(&self) -> &ConfigSpace {
        &self.cfg
    }

    fn config_mut(&mut self) -> &mut ConfigSpace {
        &mut self.cfg
    }

    fn config_read(&mut self, offset: usize, size: usize) -> u32 {
        let data = self.pci_cfg_cap + 16;
        if offset >= data && offset < data + 4 {
            if let Some((off, len)) = self.pci_cfg_window() {
                let v = self.bar_read(BAR, off, len) as u32;
                return v >> (8 * (offset - data));
            }
            return 0;
        }
        self.cfg.set_interrupt_status(self.core.isr() != 0);
        self.cfg.read(offset, size)
    }

    fn config_write(&mut self, offset: usize, size: usize, value: u32) {
        let data = self.pci_cfg_cap + 16;
        if offset == data {
            if let Some((off, len)) = self.pci_cfg_window() {
                self.bar_write(BAR, off, len, u64::from(value));
            }
            return;
        }
        self.cfg.write(offset, size, value);
        if offset <= config::COMMAND + 1 && offset + size > config::COMMAND {
            self.core.set_irq_masked(self.cfg.command() & COMMAND_INTX_DISABLE != 0);
        }
    }

    fn bar_read(&mut self, bar: usize, offset: u64, size: u32) -> u64 {
        if bar != BAR {
            return 0;
        }
        match offset / REGION_SIZE {
            0 => self.common_read(offset, size),
            1 if offset == ISR_OFFSET => u64::from(self.core.take_isr()),
            2 => self.core.read_config((offset - DEVICE_OFFSET) as usize, size as usize),
            _ => 0,
        }
    }

    fn bar_write(&mut self, bar: usize, offset: u64, size: u32, value: u64) {
        if bar != BAR {
            return;
        }
        match offset / REGION_SIZE {
            0 => self.common_write(offset, size, value),
            2 => self.core.write_config((offset - DEVICE_OFFSET) as usize, size as usize, value),
            3 => self.core.notify(((offset - NOTIFY_OFFSET) / u64::from(NOTIFY_MULTIPLIER)) as u16),
            _ => tracing::warn!(target: "guest_errors", "virtio-pci: write to read-only offset {offset:#x}"),
        }
    }

    fn poll(&mut self) {
        self.core.poll();
    }

    fn reset(&mut self) {
        self.cfg.reset();
        self.core.reset();
        self.core.set_irq_masked(false);
    }
}

#[cfg(test)]
mod tests;
