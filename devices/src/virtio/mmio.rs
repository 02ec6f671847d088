//! The virtio-mmio transport, version 2 (virtio 1.x section 4.2.2), for boards without PCI.
//! Map it little-endian; registers are 32 bits wide, the device configuration at 0x100 may
//! be accessed with any size.

use super::core::VirtioCore;
use ferrite_softmmu::MmioDevice;

/// "virt" in little-endian.
const MAGIC: u32 = 0x7472_6976;
/// Register block size.
pub const SIZE: u64 = 0x200;
/// Vendor ID reported (QEMU's).
const VENDOR: u32 = 0x554d_4551;

const R_MAGIC: u64 = 0x000;
const R_VERSION: u64 = 0x004;
const R_DEVICE_ID: u64 = 0x008;
const R_VENDOR_ID: u64 = 0x00c;
const R_DEVICE_FEATURES: u64 = 0x010;
const R_DEVICE_FEATURES_SEL: u64 = 0x014;
const R_DRIVER_FEATURES: u64 = 0x020;
const R_DRIVER_FEATURES_SEL: u64 = 0x024;
const R_QUEUE_SEL: u64 = 0x030;
const R_QUEUE_NUM_MAX: u64 = 0x034;
const R_QUEUE_NUM: u64 = 0x038;
const R_QUEUE_READY: u64 = 0x044;
const R_QUEUE_NOTIFY: u64 = 0x050;
const R_INTERRUPT_STATUS: u64 = 0x060;
const R_INTERRUPT_ACK: u64 = 0x064;
const R_STATUS: u64 = 0x070;
const R_QUEUE_DESC_LOW: u64 = 0x080;
const R_QUEUE_DESC_HIGH: u64 = 0x084;
const R_QUEUE_DRIVER_LOW: u64 = 0x090;
const R_QUEUE_DRIVER_HIGH: u64 = 0x094;
const R_QUEUE_DEVICE_LOW: u64 = 0x0a0;
const R_QUEUE_DEVICE_HIGH: u64 = 0x0a4;
const R_CONFIG_GENERATION: u64 = 0x0fc;
const R_CONFIG: u64 = 0x100;

/// A virtio device on the MMIO transport.
pub struct VirtioMmio {
    core: VirtioCore,
}

impl VirtioMmio {
    /// Wraps `core`; its interrupt line is this transport's interrupt.
    pub fn new(core: VirtioCore) -> VirtioMmio {
        VirtioMmio { core }
    }

    /// The transport-independent state.
    pub fn core(&self) -> &VirtioCore {
        &self.core
    }
}

fn set_half(old: u64, hi: bool, v: u32) -> u64 {
    if hi { (old & 0xffff_ffff) | (u64::from(v) << 32) } else { (old & !0xffff_ffff) | u64::from(v) }
}

impl MmioDevice for VirtioMmio {
    fn read(&mut self, offset: u64, size: u32) -> u64 {
        if offset >= R_CONFIG {
            return self.core.read_config((offset - R_CONFIG) as usize, size as usize);
        }
        if size != 4 {
            tracing::warn!(target: "guest_errors", "virtio-mmio: {size}-byte read of register {offset:#x}");
            return 0;
        }
        let c = &self.core;
        let v = match offset {
            R_MAGIC => MAGIC,
            R_VERSION => 2,
            R_DEVICE_ID => c.device().device_type(),
            R_VENDOR_ID => VENDOR,
            R_DEVICE_FEATURES => c.device_features_word(),
            R_QUEUE_NUM_MAX => c.queue().map_or(0, |q| u32::from(q.max_size)),
            R_QUEUE_READY => c.queue().map_or(0, |q| u32::from(q.ready)),
            R_INTERRUPT_STATUS => u32::from(c.isr()),
            R_STATUS => u32::from(c.status()),
            R_CONFIG_GENERATION => u32::from(c.config_generation()),
            _ => {
                tracing::warn!(target: "guest_errors", "virtio-mmio: read of write-only or unknown register {offset:#x}");
                0
            }
        };
        u64::from(v)
    }

    fn write(&mut self, offset: u64, size: u32, value: u64) {
        if offset >= R_CONFIG {
            self.core.write_config((offset - R_CONFIG) as usize, size as usize, value);
            return;
        }
        if size != 4 {
            tracing::warn!(target: "guest_errors", "virtio-mmio: {size}-byte write of register {offset:#x}");
            return;
        }
        let v = value as u32;
        let c = &mut self.core;
        match offset {
            R_DEVICE_FEATURES_SEL => c.device_features_sel = v,
            R_DRIVER_FEATURES => c.set_driver_features_word(v),
            R_DRIVER_FEATURES_SEL => c.driver_features_sel = v,
            R_QUEUE_SEL => c.set_queue_sel(v as u16),
            R_QUEUE_NUM => {
                if let Some(q) = c.queue_mut() {
                    q.size = v as u16;
                }
            }
            R_QUEUE_READY => c.enable_queue(v & 1 != 0),
            R_QUEUE_NOTIFY => c.notify(v as u16),
            R_INTERRUPT_ACK => c.ack_interrupt(v as u8),
            R_STATUS => c.set_status(v as u8),
            R_QUEUE_DESC_LOW | R_QUEUE_DESC_HIGH | R_QUEUE_DRIVER_LOW | R_QUEUE_DRIVER_HIGH | R_QUEUE_DEVICE_LOW
            | R_QUEUE_DEVICE_HIGH => {
                if let Some(q) = c.queue_mut() {
                    let hi = offset & 4 != 0;
                    let field = match offset & !7 {
                        R_QUEUE_DESC_LOW => &mut q.desc_table,
                        R_QUEUE_DRIVER_LOW => &mut q.avail_ring,
                        _ => &mut q.used_ring,
                    };
                    *field = set_half(*field, hi, v);
                }
            }
            _ => tracing::warn!(target: "guest_errors", "virtio-mmio: write of {v:#x} to read-only or unknown register {offset:#x}"),
        }
    }

    fn reset(&mut self) {
        self.core.reset();
    }
}

#[cfg(test)]
mod tests;
