//! The Freescale MPC8xxx/QorIQ GPIO controller (QEMU `hw/gpio/mpc8xxx.c`): 32 pins, pin 0 is
//! the most significant bit. Output pins drive [`IrqLine`]s (the board wires pin 0 to power-off).

use crate::IrqLine;
use ferrite_softmmu::MmioDevice;

/// Register offsets.
pub mod regs {
    /// Direction (1 = output).
    pub const GPDIR: u64 = 0x00;
    /// Open drain.
    pub const GPODR: u64 = 0x04;
    /// Data.
    pub const GPDAT: u64 = 0x08;
    /// Interrupt event (write 1 to clear).
    pub const GPIER: u64 = 0x0c;
    /// Interrupt mask.
    pub const GPIMR: u64 = 0x10;
    /// Interrupt control (1 = falling edge only).
    pub const GPICR: u64 = 0x14;
}

use regs::*;

/// The GPIO controller.
pub struct Mpc8xxxGpio {
    irq: IrqLine,
    outputs: Vec<IrqLine>,
    dir: u32,
    odr: u32,
    dat: u32,
    ier: u32,
    imr: u32,
    icr: u32,
}

impl Mpc8xxxGpio {
    /// A controller raising `irq`; `outputs[i]` is driven by pin `i` when it is an output.
    pub fn new(irq: IrqLine, outputs: Vec<IrqLine>) -> Mpc8xxxGpio {
        Mpc8xxxGpio { irq, outputs, dir: 0, odr: 0, dat: 0, ier: 0, imr: 0, icr: 0 }
    }

    fn update_irq(&self) {
        self.irq.set(self.ier & self.imr != 0);
    }

    fn write_data(&mut self, new: u32) {
        let diff = self.dat ^ new;
        for (i, line) in self.outputs.iter().enumerate().take(32) {
            let mask = 0x8000_0000u32 >> i;
            if diff & mask != 0 && self.dir & mask != 0 {
                line.set(new & mask != 0);
            }
        }
        self.dat = new;
    }

    /// Drives input pin `pin` from outside; latches an interrupt event on the configured edge.
    pub fn set_input(&mut self, pin: u32, level: bool) {
        let mask = 0x8000_0000u32 >> (pin & 31);
        if self.dir & mask != 0 {
            return;
        }
        let old = self.dat & mask != 0;
        if old != level && (level == false || self.icr & mask == 0) {
            self.ier |= mask;
        }
        self.dat = if level { self.dat | mask } else { self.dat & !mask };
        self.update_irq();
    }
}

impl MmioDevice for Mpc8xxxGpio {
    fn read(&mut self, offset: u64, size: u32) -> u64 {
        if size != 4 {
            // 32-bit registers: QEMU's model accepts word accesses only.
            tracing::warn!(target: "guest_errors", "gpio: {size}-byte read at {offset:#x} ignored (registers are 32-bit)");
            return 0;
        }
        (match offset {
            GPDIR => self.dir,
            GPODR => self.odr,
            GPDAT => self.dat,
            GPIER => self.ier,
            GPIMR => self.imr,
            GPICR => self.icr,
            _ => {
                tracing::warn!(target: "guest_errors", "gpio: read of unknown register {offset:#x}");
                0
            }
        }) as u64
    }

    fn write(&mut self, offset: u64, size: u32, value: u64) {
        if size != 4 {
            tracing::warn!(target: "guest_errors", "gpio: {size}-byte write at {offset:#x} ignored (registers are 32-bit)");
            return;
        }
        let v = value as u32;
        match offset {
            GPDIR => self.dir = v,
            GPODR => self.odr = v,
            GPDAT => self.write_data(v),
            GPIER => {
                self.ier &= !v;
                self.update_irq();
            }
            GPIMR => {
                self.imr = v;
                self.update_irq();
            }
            GPICR => self.icr = v,
            _ => tracing::warn!(target: "guest_errors", "gpio: write of unknown register {offset:#x} = {v:#x}"),
        }
    }

    fn reset(&mut self) {
        *self = Mpc8xxxGpio::new(self.irq.clone(), std::mem::take(&mut self.outputs));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::irq::testing::Levels;
    use std::sync::Arc;

    #[test]
    fn pin0_high_drives_the_power_off_line() {
        let lv = Arc::new(Levels::default());
        let mut g = Mpc8xxxGpio::new(IrqLine::new(lv.clone(), 1), vec![IrqLine::new(lv.clone(), 0)]);
        g.write(GPDAT, 4, 0x8000_0000);
        assert!(!lv.get(0), "an input pin drives nothing");
        g.write(GPDAT, 4, 0);
        g.write(GPDIR, 4, 0x8000_0000);
        g.write(GPDAT, 4, 0x8000_0000);
        assert!(lv.get(0));
        assert_eq!(g.read(GPDAT, 4), 0x8000_0000);
    }

    #[test]
    fn input_edges_interrupt_when_unmasked() {
        let lv = Arc::new(Levels::default());
        let mut g = Mpc8xxxGpio::new(IrqLine::new(lv.clone(), 1), vec![]);
        g.write(GPIMR, 4, 0x4000_0000);
        g.set_input(1, true);
        assert!(lv.get(1));
        g.write(GPIER, 4, 0x4000_0000);
        assert!(!lv.get(1));
    }
}
