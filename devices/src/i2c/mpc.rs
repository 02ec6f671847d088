//! The Freescale MPC85xx I2C controller (Linux `i2c-mpc`, QEMU `hw/i2c/mpc_i2c.c`), master
//! mode: byte-wide registers, one byte moved per data-register access, completing at once.
//!
//! One departure from QEMU 7.2, towards the hardware: a byte nobody acknowledges (an address
//! with no device) still completes (MCF, MIF) with RXAK set, so a driver probing an empty
//! address sees a NACK instead of waiting out its timeout.

use super::I2cBus;
use crate::IrqLine;
use ferrite_softmmu::MmioDevice;

/// Register offsets.
pub mod regs {
    /// Own (slave) address.
    pub const ADR: u64 = 0x00;
    /// Frequency divider.
    pub const FDR: u64 = 0x04;
    /// Control.
    pub const CR: u64 = 0x08;
    /// Status.
    pub const SR: u64 = 0x0c;
    /// Data.
    pub const DR: u64 = 0x10;
    /// Digital filter sampling rate.
    pub const DFSRR: u64 = 0x14;
}

/// Control register bits.
pub mod cr {
    /// Module enable.
    pub const MEN: u8 = 0x80;
    /// Interrupt enable.
    pub const MIEN: u8 = 0x40;
    /// Master: setting it is a start, clearing it a stop.
    pub const MSTA: u8 = 0x20;
    /// Transmit (else receive).
    pub const MTX: u8 = 0x10;
    /// No acknowledge after received bytes.
    pub const TXAK: u8 = 0x08;
    /// Repeated start.
    pub const RSTA: u8 = 0x04;
}

/// Status register bits.
pub mod sr {
    /// Byte transfer complete.
    pub const MCF: u8 = 0x80;
    /// Bus busy.
    pub const MBB: u8 = 0x20;
    /// Interrupt pending.
    pub const MIF: u8 = 0x02;
    /// No acknowledge received.
    pub const RXAK: u8 = 0x01;
}

use regs::*;

const ADR_MASK: u8 = 0xfe;
const FDR_MASK: u8 = 0x3f;
const CR_MASK: u8 = 0xfc;
const SR_MASK: u8 = 0xed;

/// The controller and the bus it drives.
pub struct MpcI2c {
    irq: IrqLine,
    bus: I2cBus,
    adr: u8,
    fdr: u8,
    cr: u8,
    sr: u8,
    dr: u8,
    dfsrr: u8,
}

impl MpcI2c {
    /// A controller raising `irq`, driving `bus`.
    pub fn new(irq: IrqLine, bus: I2cBus) -> MpcI2c {
        MpcI2c { irq, bus, adr: 0, fdr: 0, cr: 0, sr: sr::MCF | sr::RXAK, dr: 0, dfsrr: 0x10 }
    }

    fn update_irq(&self) {
        self.irq.set(self.cr & cr::MEN != 0 && self.cr & cr::MIEN != 0 && self.sr & sr::MIF != 0);
    }

    /// A byte went over the bus: acknowledged or not, the transfer is complete.
    fn byte_done(&mut self, ack: bool) {
        self.sr = (self.sr & !sr::RXAK) | sr::MCF | sr::MIF | if ack { 0 } else { sr::RXAK };
        self.update_irq();
    }

    fn write_cr(&mut self, v: u8) {
        if self.cr & cr::MEN != 0 && v & cr::MEN == 0 {
            // Disabling the module is a soft reset that keeps the own address.
            self.bus.stop();
            let (irq, bus, adr) = (self.irq.clone(), std::mem::take(&mut self.bus), self.adr);
            *self = MpcI2c { adr, ..MpcI2c::new(irq, bus) };
            self.update_irq();
            return;
        }
        self.cr = v & CR_MASK;
        if self.cr & cr::MSTA != 0 {
            self.sr |= sr::MBB;
        } else {
            self.sr &= !sr::MBB;
            self.bus.stop();
        }
        if self.cr & cr::RSTA != 0 && self.bus.busy() {
            // A repeated start: the next data byte is an address again.
            self.bus.stop();
            self.cr &= !cr::RSTA;
        }
        self.update_irq();
    }

    fn write_dr(&mut self, v: u8) {
        if self.cr & cr::MEN == 0 {
            return;
        }
        self.dr = v;
        if self.cr & cr::MSTA == 0 {
            return;
        }
        // The first byte of a transfer is the address (the bus is busy once a device took it).
        let ack = if self.bus.busy() { self.bus.send(v) } else { self.bus.start(v >> 1, v & 1 != 0) };
        self.byte_done(ack);
    }

    /// A data-register read returns the byte received last and, in master receive mode,
    /// clocks in the next one (so drivers start a read with one dummy access).
    fn read_dr(&mut self) -> u8 {
        let v = self.dr;
        if self.cr & cr::MSTA != 0 && self.cr & cr::MTX == 0 {
            self.dr = self.bus.recv();
            self.byte_done(true);
        }
        v
    }
}

impl MmioDevice for MpcI2c {
    fn read(&mut self, offset: u64, size: u32) -> u64 {
        if size != 1 {
            tracing::warn!(target: "guest_errors", "i2c: {size}-byte read at {offset:#x} ignored (registers are bytes)");
            return 0;
        }
        (match offset {
            ADR => self.adr,
            FDR => self.fdr,
            CR => self.cr,
            SR => self.sr,
            DR => self.read_dr(),
            DFSRR => self.dfsrr,
            _ => {
                tracing::warn!(target: "guest_errors", "i2c: read of unknown register {offset:#x}");
                0
            }
        }) as u64
    }

    fn write(&mut self, offset: u64, size: u32, value: u64) {
        if size != 1 {
            tracing::warn!(target: "guest_errors", "i2c: {size}-byte write at {offset:#x} ignored (registers are bytes)");
            return;
        }
        let v = value as u8;
        match offset {
            ADR => self.adr = v & ADR_MASK,
            FDR => self.fdr = v & FDR_MASK,
            CR => self.write_cr(v),
            SR => {
                self.sr = v & SR_MASK;
                self.update_irq();
            }
            DR => self.write_dr(v),
            DFSRR => self.dfsrr = v,
            _ => tracing::warn!(target: "guest_errors", "i2c: write of unknown register {offset:#x} = {v:#x}"),
        }
    }

    fn reset(&mut self) {
        let mut bus = std::mem::take(&mut self.bus);
        bus.reset();
        *self = MpcI2c::new(self.irq.clone(), bus);
        self.update_irq();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i2c::I2cTarget;
    use crate::irq::testing::Levels;
    use std::sync::{Arc, Mutex};

    /// A register file: the first byte written after a start selects the register.
    #[derive(Default)]
    struct Regs {
        log: Arc<Mutex<Vec<String>>>,
        mem: [u8; 8],
        ptr: usize,
        pointing: bool,
    }

    impl I2cTarget for Regs {
        fn start(&mut self, read: bool) -> bool {
            self.log.lock().unwrap().push(format!("start {}", if read { "read" } else { "write" }));
            self.pointing = !read;
            true
        }
        fn send(&mut self, b: u8) -> bool {
            if std::mem::take(&mut self.pointing) {
                self.ptr = b as usize % 8;
            } else {
                self.mem[self.ptr] = b;
                self.ptr = (self.ptr + 1) % 8;
            }
            true
        }
        fn recv(&mut self) -> u8 {
            let b = self.mem[self.ptr];
            self.ptr = (self.ptr + 1) % 8;
            b
        }
        fn stop(&mut self) {
            self.log.lock().unwrap().push("stop".into());
        }
    }

    fn rig() -> (MpcI2c, Arc<Levels>, Arc<Mutex<Vec<String>>>) {
        let lv = Arc::new(Levels::default());
        let log = Arc::new(Mutex::new(Vec::new()));
        let mut bus = I2cBus::new();
        bus.attach(0x68, Box::new(Regs { log: log.clone(), mem: *b"abcdefgh", ..Regs::default() }));
        (MpcI2c::new(IrqLine::new(lv.clone(), 43), bus), lv, log)
    }

    /// Waits as a driver does: MIF set, then cleared by writing SR.
    fn complete(c: &mut MpcI2c) -> u8 {
        let s = c.read(SR, 1) as u8;
        assert!(s & sr::MIF != 0, "byte completed: SR {s:#x}");
        c.write(SR, 1, 0);
        s
    }

    #[test]
    fn register_read_with_repeated_start_as_linux_does_it() {
        let (mut c, lv, log) = rig();
        assert_eq!(c.read(SR, 1) as u8, sr::MCF | sr::RXAK, "reset status");
        let run = (cr::MEN | cr::MIEN) as u64;
        c.write(CR, 1, run | (cr::MSTA | cr::MTX) as u64);
        assert!(c.read(SR, 1) as u8 & sr::MBB != 0, "bus busy once master");
        c.write(DR, 1, 0x68 << 1);
        assert!(lv.get(43), "completion interrupts");
        assert_eq!(complete(&mut c) & sr::RXAK, 0, "address acknowledged");
        assert!(!lv.get(43), "clearing MIF lowers the line");
        c.write(DR, 1, 3);
        complete(&mut c);
        c.write(CR, 1, run | (cr::MSTA | cr::MTX | cr::RSTA) as u64);
        c.write(DR, 1, (0x68 << 1) | 1);
        complete(&mut c);
        c.write(CR, 1, run | cr::MSTA as u64);
        c.read(DR, 1); // dummy read: clocks in the first byte
        let mut got = Vec::new();
        for _ in 0..3 {
            complete(&mut c);
            got.push(c.read(DR, 1) as u8);
        }
        c.write(CR, 1, run);
        assert_eq!(got, b"def");
        assert_eq!(c.read(SR, 1) as u8 & sr::MBB, 0, "stop frees the bus");
        assert_eq!(*log.lock().unwrap(), ["start write", "stop", "start read", "stop"]);
    }

    #[test]
    fn empty_address_is_a_nack_and_a_disabled_module_does_nothing() {
        let (mut c, lv, log) = rig();
        c.write(DR, 1, 0x68 << 1);
        assert!(log.lock().unwrap().is_empty(), "disabled: nothing on the bus");
        c.write(CR, 1, (cr::MEN | cr::MSTA | cr::MTX) as u64);
        c.write(DR, 1, 0x50 << 1);
        let s = complete(&mut c);
        assert!(s & sr::RXAK != 0, "nobody at 0x50");
        assert!(!lv.get(43), "interrupts not enabled");
        // Disabling the module resets it but keeps the own address.
        c.write(ADR, 1, 0x42);
        c.write(CR, 1, 0);
        assert_eq!((c.read(ADR, 1), c.read(CR, 1), c.read(SR, 1)), (0x42, 0, (sr::MCF | sr::RXAK) as u64));
        assert_eq!(c.read(CR, 4), 0, "wrong-size access ignored");
    }
}
