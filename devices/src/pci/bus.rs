//! A PCI bus segment: functions by device/function number, configuration cycles, and the
//! decoding of memory and I/O cycles by BAR; plus INTx wiring with wired-OR sharing.

use super::config::BarMapping;
use super::function::PciFunction;
use crate::{IrqLine, IrqSink};
use std::collections::BTreeMap;
use std::sync::Mutex;

/// Device/function number: `slot << 3 | function`.
pub type DevFn = u8;

/// Makes a device/function number.
pub const fn devfn(slot: u8, function: u8) -> DevFn {
    (slot << 3) | (function & 7)
}

/// Bus address space of a cycle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Space {
    /// Memory space.
    Memory,
    /// I/O space.
    Io,
}

/// One bus (bus number 0: ferrite models no PCI-to-PCI bridges).
#[derive(Default)]
pub struct PciBus {
    functions: BTreeMap<DevFn, Box<dyn PciFunction>>,
}

impl PciBus {
    /// An empty bus.
    pub fn new() -> PciBus {
        PciBus::default()
    }

    /// Plugs `f` at `devfn`. Returns false (and drops nothing) if the number is taken.
    pub fn plug(&mut self, devfn: DevFn, f: Box<dyn PciFunction>) -> bool {
        if self.functions.contains_key(&devfn) {
            return false;
        }
        self.functions.insert(devfn, f);
        true
    }

    /// Whether something is plugged at `devfn`.
    pub fn is_present(&self, devfn: DevFn) -> bool {
        self.functions.contains_key(&devfn)
    }

    /// A configuration read; absent functions read all ones, as a master abort does.
    pub fn config_read(&mut self, devfn: DevFn, offset: usize, size: usize) -> u32 {
        match self.functions.get_mut(&devfn) {
            Some(f) => f.config_read(offset, size),
            None => ones(size as u32) as u32,
        }
    }

    /// A configuration write; absent functions ignore it.
    pub fn config_write(&mut self, devfn: DevFn, offset: usize, size: usize, value: u32) {
        if let Some(f) = self.functions.get_mut(&devfn) {
            f.config_write(offset, size, value);
        }
    }

    /// The function and BAR that decode `addr` in `space`.
    fn decode(&mut self, space: Space, addr: u64, size: u32) -> Option<(&mut Box<dyn PciFunction>, BarMapping)> {
        let io = space == Space::Io;
        self.functions.values_mut().find_map(|f| {
            let m = f.config().mappings().find(|m| {
                m.io == io && addr >= m.base && addr.checked_add(u64::from(size)).is_some_and(|e| e <= m.base + m.size)
            })?;
            Some((f, m))
        })
    }

    /// A memory or I/O read at bus address `addr`; nothing decoding it reads all ones.
    pub fn read(&mut self, space: Space, addr: u64, size: u32) -> u64 {
        match self.decode(space, addr, size) {
            Some((f, m)) => f.bar_read(m.index, addr - m.base, size),
            None => {
                tracing::warn!(target: "guest_errors", "pci: {space:?} read of {size} bytes at bus address {addr:#x}: no device");
                ones(size)
            }
        }
    }

    /// A memory or I/O write at bus address `addr`; nothing decoding it drops it.
    pub fn write(&mut self, space: Space, addr: u64, size: u32, value: u64) {
        match self.decode(space, addr, size) {
            Some((f, m)) => f.bar_write(m.index, addr - m.base, size, value),
            None => {
                tracing::warn!(target: "guest_errors", "pci: {space:?} write of {size} bytes at bus address {addr:#x}: no device")
            }
        }
    }

    /// Lets every function serve host-side work (see [`super::PciFunction::poll`]).
    pub fn poll(&mut self) {
        self.functions.values_mut().for_each(|f| f.poll());
    }

    /// Bus reset of every function.
    pub fn reset(&mut self) {
        self.functions.values_mut().for_each(|f| f.reset());
    }
}

impl std::fmt::Debug for PciBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.functions.iter().map(|(d, c)| (d >> 3, d & 7, c.config()))).finish()
    }
}

fn ones(size: u32) -> u64 {
    if size >= 8 {
        u64::MAX
    } else {
        (1u64 << (8 * size)) - 1
    }
}

/// INTx wiring of a host bridge: each (slot, pin) input is mapped by a swizzle to one of four
/// outputs, and an output is asserted while any input mapped to it is (level-triggered,
/// shared lines are wired-OR).
pub struct IntxRouter {
    outputs: [IrqLine; 4],
    swizzle: fn(slot: u8, pin: u8) -> usize,
    asserted: Mutex<[u128; 4]>,
}

impl IntxRouter {
    /// A router driving `outputs`; `swizzle(slot, pin)` (pin 0 = INTA) picks the output.
    pub fn new(outputs: [IrqLine; 4], swizzle: fn(u8, u8) -> usize) -> IntxRouter {
        IntxRouter { outputs, swizzle, asserted: Mutex::new([0; 4]) }
    }

    /// The input line number for `slot`, `pin` (0 = INTA), for [`IrqLine::new`].
    pub fn input(slot: u8, pin: u8) -> u32 {
        u32::from(slot & 31) * 4 + u32::from(pin & 3)
    }
}

impl IrqSink for IntxRouter {
    fn set_level(&self, line: u32, level: bool) {
        let (slot, pin) = ((line / 4) as u8 & 31, (line % 4) as u8);
        let out = (self.swizzle)(slot, pin) & 3;
        let bit = 1u128 << (line & 127);
        let mut a = self.asserted.lock().unwrap();
        let before = a[out] != 0;
        if level {
            a[out] |= bit;
        } else {
            a[out] &= !bit;
        }
        let after = a[out] != 0;
        drop(a);
        if before != after {
            self.outputs[out].set(after);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::irq::testing::Levels;
    use crate::pci::config::{Bar, BarKind, ConfigSpace, BAR0, COMMAND, COMMAND_MEMORY};
    use std::sync::Arc;

    struct Regs {
        cfg: ConfigSpace,
        last: Option<(usize, u64, u64)>,
    }
    impl PciFunction for Regs {
        fn config(&self) -> &ConfigSpace {
            &self.cfg
        }
        fn config_mut(&mut self) -> &mut ConfigSpace {
            &mut self.cfg
        }
        fn bar_read(&mut self, bar: usize, offset: u64, _size: u32) -> u64 {
            (bar as u64) << 16 | offset
        }
        fn bar_write(&mut self, bar: usize, offset: u64, _size: u32, value: u64) {
            self.last = Some((bar, offset, value));
        }
    }

    #[test]
    fn cycles_reach_the_bar_that_decodes_them() {
        let mut bus = PciBus::new();
        let mut cfg = ConfigSpace::new(0x1af4, 0x1000, 0, 0);
        cfg.set_bar(1, Bar { size: 0x100, kind: BarKind::Mem32 { prefetch: false } });
        assert!(bus.plug(devfn(1, 0), Box::new(Regs { cfg: cfg.clone(), last: None })));
        assert!(!bus.plug(devfn(1, 0), Box::new(Regs { cfg, last: None })));
        assert_eq!(bus.config_read(devfn(1, 0), 0, 4), 0x1000_1af4);
        assert_eq!(bus.config_read(devfn(2, 0), 0, 4), 0xffff_ffff);
        assert_eq!(bus.config_read(devfn(2, 0), 0, 2), 0xffff);
        bus.config_write(devfn(1, 0), BAR0 + 4, 4, 0xe000_0100);
        assert_eq!(bus.read(Space::Memory, 0xe000_0104, 4), 0xffff_ffff, "decoding still off");
        bus.config_write(devfn(1, 0), COMMAND, 2, u32::from(COMMAND_MEMORY));
        assert_eq!(bus.read(Space::Memory, 0xe000_0104, 4), 0x1_0004);
        assert_eq!(bus.read(Space::Memory, 0xe000_01fe, 4), 0xffff_ffff, "runs past the BAR");
        assert_eq!(bus.read(Space::Io, 0xe000_0104, 4), 0xffff_ffff, "wrong space");
        bus.write(Space::Memory, 0xe000_0110, 2, 0xabcd);
        bus.reset();
        assert_eq!(bus.read(Space::Memory, 0xe000_0104, 4), 0xffff_ffff, "reset disables decoding");
    }

    #[test]
    fn shared_intx_lines_are_wired_or() {
        let levels = Arc::new(Levels::default());
        let outs = [0, 1, 2, 3].map(|i| IrqLine::new(levels.clone(), i));
        let router = Arc::new(IntxRouter::new(outs, |slot, pin| usize::from((slot + pin) % 4)));
        let a = IrqLine::new(router.clone(), IntxRouter::input(1, 0)); // -> output 1
        let b = IrqLine::new(router.clone(), IntxRouter::input(5, 0)); // -> output 1 too
        let c = IrqLine::new(router.clone(), IntxRouter::input(1, 1)); // -> output 2
        a.raise();
        b.raise();
        assert!(levels.get(1) && !levels.get(2));
        a.lower();
        assert!(levels.get(1), "slot 5 still asserts the shared line");
        b.lower();
        assert!(!levels.get(1));
        c.raise();
        assert!(levels.get(2) && !levels.get(1));
    }
}
