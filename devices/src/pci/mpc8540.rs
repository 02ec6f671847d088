//! The Freescale MPC85xx PCI host bridge (`fsl,mpc8540-pci`), as QEMU's ppce500 board has it
//! (`hw/pci-host/ppce500.c`).
//!
//! * Register block (0x1000 bytes, mapped big-endian by the board): CFG_ADDR at +0 is a
//!   big-endian register, CFG_DATA at +4 passes configuration data **little-endian** (PCI byte
//!   order, Linux's `PPC_INDIRECT_TYPE_BIG_ENDIAN` indirect access), so the device swaps it
//!   back. The ATMU registers live at +0xC00..+0x1000.
//! * Outbound windows 1-4 (+0xC20, +0xC40, +0xC60, +0xC80: POTAR, POTEAR, POWBAR, POWAR) map a
//!   CPU physical range onto PCI memory or I/O space. A window exists in the CPU's address
//!   space only while its POWAR enable bit is set: nothing is mapped until the guest programs
//!   it, as in QEMU.
//! * Inbound windows are stored but DMA is identity-mapped (PCI bus address = CPU physical
//!   address), which is what Linux programs them to be.
//! * Slot 0 is the bridge itself (vendor 0x1957, device 0x0030, class PowerPC processor);
//!   Linux hides its resources. Its BAR0 (CCSR in QEMU) decodes nothing here.
//! * INTx of slot s, pin p (0 = INTA) drives output `(s + p) % 4`; the board wires outputs
//!   0..3 to its interrupt controller.

use super::bus::{devfn, IntxRouter, PciBus, Space};
use super::config::{Bar, BarKind, ConfigSpace};
use super::function::PciFunction;
use crate::IrqLine;
use ferrite_softmmu::{AddressSpace, Endian, MmioDevice};
use std::sync::{Arc, Mutex, Weak};

/// Size of the register block.
pub const REGS_SIZE: u64 = 0x1000;
/// Configuration address register.
pub const CFG_ADDR: u64 = 0x0;
/// Configuration data register.
pub const CFG_DATA: u64 = 0x4;
/// First outbound window register set (window 1); window n is at `+ 0x20 * (n - 1)`.
pub const OUTBOUND1: u64 = 0xc20;
/// Inbound window 3 (then 2, 1 at +0x20, +0x40).
pub const INBOUND3: u64 = 0xda0;
/// Gasket timer.
pub const GASKET_TIMER: u64 = 0xe20;

/// POWAR/PIWAR: window enabled.
pub const WINDOW_ENABLE: u32 = 0x8000_0000;
/// POWAR: read transaction type field.
const POWAR_RTT_SHIFT: u32 = 16;
/// POWAR read transaction type of I/O windows.
const POWAR_RTT_IO: u32 = 0x8;

/// PCI vendor ID of Freescale.
pub const VENDOR_FREESCALE: u16 = 0x1957;
/// PCI device ID QEMU gives the bridge (MPC8533E).
pub const DEVICE_MPC8533E: u16 = 0x0030;

#[derive(Clone, Copy, Default, Debug)]
struct Outbound {
    potar: u32,
    potear: u32,
    powbar: u32,
    powar: u32,
}

#[derive(Clone, Copy, Default, Debug)]
struct Inbound {
    pitar: u32,
    piwbar: u32,
    piwbear: u32,
    piwar: u32,
}

/// Why a device could not be plugged.
#[derive(Debug, thiserror::Error)]
pub enum PlugError {
    /// Slot out of range or already used.
    #[error("PCI slot {0} is not free (slots 1 to 31)")]
    SlotTaken(u8),
}

/// The host bridge's register block; map it with [`Endian::Big`].
pub struct Mpc8540PciHost {
    bus: Arc<Mutex<PciBus>>,
    router: Arc<IntxRouter>,
    space: Weak<AddressSpace>,
    cfg_addr: u32,
    outbound: [Outbound; 5],
    inbound: [Inbound; 3],
    gasket_timer: u32,
    mapped: [bool; 5],
}

impl Mpc8540PciHost {
    /// A bridge that maps its outbound windows into `space`, with INTx outputs `intx`.
    pub fn new(space: Weak<AddressSpace>, intx: [IrqLine; 4]) -> Mpc8540PciHost {
        let mut bus = PciBus::new();
        bus.plug(devfn(0, 0), Box::new(HostFunction::new()));
        Mpc8540PciHost {
            bus: Arc::new(Mutex::new(bus)),
            router: Arc::new(IntxRouter::new(intx, |slot, pin| usize::from((slot + pin) % 4))),
            space,
            cfg_addr: 0,
            outbound: [Outbound::default(); 5],
            inbound: [Inbound::default(); 3],
            gasket_timer: 0,
            mapped: [false; 5],
        }
    }

    /// The interrupt line of `pin` (0 = INTA) of the device in `slot`.
    pub fn intx_line(&self, slot: u8, pin: u8) -> IrqLine {
        IrqLine::new(self.router.clone(), IntxRouter::input(slot, pin))
    }

    /// Plugs function 0 of `slot`.
    pub fn plug(&self, slot: u8, f: Box<dyn PciFunction>) -> Result<(), PlugError> {
        if slot == 0 || slot > 31 || !self.bus.lock().unwrap().plug(devfn(slot, 0), f) {
            return Err(PlugError::SlotTaken(slot));
        }
        Ok(())
    }

    /// The bus behind the bridge.
    pub fn bus(&self) -> &Arc<Mutex<PciBus>> {
        &self.bus
    }

    fn window_name(idx: usize) -> String {
        format!("pci-outbound{idx}")
    }

    /// Re-creates outbound window `idx` in the CPU address space from its registers.
    fn update_outbound(&mut self, idx: usize) {
        let Some(space) = self.space.upgrade() else { return };
        if std::mem::take(&mut self.mapped[idx]) {
            space.remove(&Self::window_name(idx));
        }
        let w = self.outbound[idx];
        if w.powar & WINDOW_ENABLE == 0 {
            return;
        }
        let bits = w.powar & 0x3f;
        if !(11..=35).contains(&bits) {
            tracing::warn!(target: "guest_errors", "pci: outbound window {idx} size field {bits} is invalid; window not mapped");
            return;
        }
        let size = 2u64 << bits;
        let cpu_base = (u64::from(w.powbar) << 12) & 0xf_ffff_f000;
        let pci_base = (u64::from(w.potear) << 44) | (u64::from(w.potar) << 12);
        let kind = if (w.powar >> POWAR_RTT_SHIFT) & 0xf == POWAR_RTT_IO { Space::Io } else { Space::Memory };
        let win = PciWindow { bus: self.bus.clone(), pci_base, space: kind };
        match space.add_mmio(&Self::window_name(idx), cpu_base, size, Arc::new(Mutex::new(win)), Endian::Little) {
            Ok(()) => {
                self.mapped[idx] = true;
                tracing::debug!("pci: outbound window {idx}: CPU {cpu_base:#x} -> PCI {kind:?} {pci_base:#x}, {size:#x} bytes");
            }
            Err(e) => tracing::warn!(target: "guest_errors", "pci: outbound window {idx} not mapped: {e}"),
        }
    }

    /// The function, register and validity of the current configuration address.
    fn config_target(&self, offset: u64) -> Option<(u8, usize)> {
        let a = self.cfg_addr;
        if a & 0x8000_0000 == 0 || (a >> 16) & 0xff != 0 {
            return None; // disabled, or a bus behind a bridge ferrite does not model
        }
        Some(((a >> 8) as u8, (a & 0xfc) as usize + (offset & 3) as usize))
    }

    fn reg_read(&self, reg: u64) -> u32 {
        match reg {
            CFG_ADDR => self.cfg_addr,
            0xc20..=0xc9f => {
                let w = &self.outbound[((reg - 0xc00) >> 5) as usize];
                match reg & 0x1f {
                    0x0 => w.potar,
                    0x4 => w.potear,
                    0x8 => w.powbar,
                    0x10 => w.powar,
                    _ => 0,
                }
            }
            0xda0..=0xdff => {
                let w = &self.inbound[((reg - 0xda0) >> 5) as usize];
                match reg & 0x1f {
                    0x0 => w.pitar,
                    0x8 => w.piwbar,
                    0xc => w.piwbear,
                    0x10 => w.piwar,
                    _ => 0,
                }
            }
            GASKET_TIMER => self.gasket_timer,
            _ => {
                tracing::warn!(target: "guest_errors", "pci: read of unimplemented register {reg:#x}");
                0
            }
        }
    }

    fn reg_write(&mut self, reg: u64, v: u32) {
        match reg {
            CFG_ADDR => self.cfg_addr = v,
            0xc20..=0xc9f => {
                let idx = ((reg - 0xc00) >> 5) as usize;
                let w = &mut self.outbound[idx];
                match reg & 0x1f {
                    0x0 => w.potar = v,
                    0x4 => w.potear = v,
                    0x8 => w.powbar = v,
                    0x10 => w.powar = v,
                    _ => return,
                }
                self.update_outbound(idx);
            }
            0xda0..=0xdff => {
                let w = &mut self.inbound[((reg - 0xda0) >> 5) as usize];
                match reg & 0x1f {
                    0x0 => w.pitar = v,
                    0x8 => w.piwbar = v,
                    0xc => w.piwbear = v,
                    0x10 => w.piwar = v,
                    _ => {}
                }
            }
            GASKET_TIMER => self.gasket_timer = v,
            _ => tracing::warn!(target: "guest_errors", "pci: write of {v:#x} to unimplemented register {reg:#x}"),
        }
    }
}

impl MmioDevice for Mpc8540PciHost {
    fn read(&mut self, offset: u64, size: u32) -> u64 {
        if (CFG_DATA..CFG_DATA + 4).contains(&offset) {
            let Some((df, reg)) = self.config_target(offset) else { return ones(size) };
            let v = self.bus.lock().unwrap().config_read(df, reg, size as usize);
            // The bus hands over big-endian values; CFG_DATA is little-endian.
            return swap(u64::from(v), size);
        }
        let reg = offset & !3;
        let v = self.reg_read(reg);
        be_extract(v, offset & 3, size)
    }

    fn write(&mut self, offset: u64, size: u32, value: u64) {
        if (CFG_DATA..CFG_DATA + 4).contains(&offset) {
            if let Some((df, reg)) = self.config_target(offset) {
                self.bus.lock().unwrap().config_write(df, reg, size as usize, swap(value, size) as u32);
            }
            return;
        }
        let reg = offset & !3;
        let v = if size == 4 && offset & 3 == 0 {
            value as u32
        } else {
            be_insert(self.reg_read(reg), offset & 3, size, value)
        };
        self.reg_write(reg, v);
    }

    fn reset(&mut self) {
        self.cfg_addr = 0;
        self.outbound = [Outbound::default(); 5];
        self.inbound = [Inbound::default(); 3];
        self.gasket_timer = 0;
        for idx in 0..self.mapped.len() {
            self.update_outbound(idx);
        }
        self.bus.lock().unwrap().reset();
    }
}

fn ones(size: u32) -> u64 {
    if size >= 8 {
        u64::MAX
    } else {
        (1u64 << (8 * size)) - 1
    }
}

fn swap(v: u64, size: u32) -> u64 {
    match size {
        2 => u64::from((v as u16).swap_bytes()),
        4 => u64::from((v as u32).swap_bytes()),
        8 => v.swap_bytes(),
        _ => v & 0xff,
    }
}

/// `size` bytes at byte `at` of a big-endian 32-bit register.
fn be_extract(reg: u32, at: u64, size: u32) -> u64 {
    let size = size.min(4) as u64;
    let shift = 8 * (4u64.saturating_sub(at + size));
    (u64::from(reg) >> shift) & ones(size as u32)
}

fn be_insert(reg: u32, at: u64, size: u32, value: u64) -> u32 {
    let size = size.min(4) as u64;
    let shift = 8 * (4u64.saturating_sub(at + size));
    let mask = ones(size as u32) << shift;
    ((u64::from(reg) & !mask) | ((value << shift) & mask)) as u32
}

/// A CPU-side outbound window onto PCI memory or I/O space (mapped little-endian).
struct PciWindow {
    bus: Arc<Mutex<PciBus>>,
    pci_base: u64,
    space: Space,
}

impl MmioDevice for PciWindow {
    fn read(&mut self, offset: u64, size: u32) -> u64 {
        self.bus.lock().unwrap().read(self.space, self.pci_base.wrapping_add(offset), size)
    }

    fn write(&mut self, offset: u64, size: u32, value: u64) {
        self.bus.lock().unwrap().write(self.space, self.pci_base.wrapping_add(offset), size, value)
    }
}

/// The bridge's own function at 00:00.0.
struct HostFunction {
    cfg: ConfigSpace,
}

impl HostFunction {
    fn new() -> HostFunction {
        let mut cfg = ConfigSpace::new(VENDOR_FREESCALE, DEVICE_MPC8533E, 0x0b_20_00, 0);
        cfg.set_bar(0, Bar { size: 1 << 20, kind: BarKind::Mem32 { prefetch: false } });
        cfg.seal();
        HostFunction { cfg }
    }
}

impl PciFunction for HostFunction {
    fn config(&self) -> &ConfigSpace {
        &self.cfg
    }
    fn config_mut(&mut self) -> &mut ConfigSpace {
        &mut self.cfg
    }
    fn bar_read(&mut self, _bar: usize, offset: u64, _size: u32) -> u64 {
        tracing::warn!(target: "guest_errors", "pci: host bridge BAR0 (CCSR alias) read at {offset:#x} is not modelled");
        0
    }
    fn bar_write(&mut self, _bar: usize, offset: u64, _size: u32, _value: u64) {
        tracing::warn!(target: "guest_errors", "pci: host bridge BAR0 (CCSR alias) write at {offset:#x} is not modelled");
    }
}

#[cfg(test)]
mod tests;
