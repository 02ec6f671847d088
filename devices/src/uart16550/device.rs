//! The 16550A UART as QEMU's `serial.c` models it: byte registers, a 16-byte receive FIFO,
//! interrupt priorities, loopback, and instant transmission to the host backend.
//!
//! The character timeout interrupt is raised as soon as data sits in the FIFO below the
//! trigger level (real hardware waits four character times); drivers read everything available
//! on any receive interrupt, so this only shortens latency.

use super::regs::*;
use crate::{CharBackend, IrqLine};
use ferrite_softmmu::MmioDevice;
use std::collections::VecDeque;

/// A 16550A.
pub struct Uart16550 {
    irq: IrqLine,
    backend: Box<dyn CharBackend>,
    rx: VecDeque<u8>,
    divider: u16,
    ier: u8,
    iir: u8,
    fcr: u8,
    lcr: u8,
    mcr: u8,
    lsr: u8,
    msr: u8,
    scr: u8,
    thr_pending: bool,
    timeout_pending: bool,
    irq_level: bool,
}

impl Uart16550 {
    /// A UART raising `irq` and transmitting to `backend`.
    pub fn new(irq: IrqLine, backend: Box<dyn CharBackend>) -> Uart16550 {
        let mut u = Uart16550 {
            irq,
            backend,
            rx: VecDeque::with_capacity(FIFO_LEN),
            divider: 0,
            ier: 0,
            iir: 0,
            fcr: 0,
            lcr: 0,
            mcr: 0,
            lsr: 0,
            msr: 0,
            scr: 0,
            thr_pending: false,
            timeout_pending: false,
            irq_level: false,
        };
        u.reset_state();
        u
    }

    fn reset_state(&mut self) {
        self.rx.clear();
        self.divider = 0x0c;
        self.ier = 0;
        self.iir = IIR_NO_INT;
        self.fcr = 0;
        self.lcr = 0;
        self.mcr = MCR_OUT2;
        self.lsr = LSR_THRE | LSR_TEMT;
        self.msr = MSR_DCD | MSR_DSR | MSR_CTS;
        self.scr = 0;
        self.thr_pending = false;
        self.timeout_pending = false;
        self.update_irq();
    }

    fn fifo_enabled(&self) -> bool {
        self.fcr & FCR_FE != 0
    }

    /// Receive trigger level from FCR[7:6]: 1, 4, 8 or 14 bytes.
    fn trigger_level(&self) -> usize {
        [1, 4, 8, 14][(self.fcr >> 6) as usize]
    }

    fn update_irq(&mut self) {
        let iir = if self.ier & IER_RLSI != 0 && self.lsr & LSR_INT_ANY != 0 {
            IIR_RLSI
        } else if self.ier & IER_RDI != 0 && self.timeout_pending {
            IIR_CTI
        } else if self.ier & IER_RDI != 0
            && self.lsr & LSR_DR != 0
            && (!self.fifo_enabled() || self.rx.len() >= self.trigger_level())
        {
            IIR_RDI
        } else if self.ier & IER_THRI != 0 && self.thr_pending {
            IIR_THRI
        } else if self.ier & IER_MSI != 0 && self.msr & MSR_ANY_DELTA != 0 {
            IIR_MSI
        } else {
            IIR_NO_INT
        };
        self.iir = iir | (self.iir & 0xf0);
        let level = iir != IIR_NO_INT;
        if level != self.irq_level {
            self.irq_level = level;
            self.irq.set(level);
        }
    }

    /// Pushes buffered output to the host.
    pub fn flush(&mut self) {
        self.backend.flush();
    }

    /// Bytes the receiver can take now.
    pub fn can_receive(&self) -> usize {
        if self.fifo_enabled() {
            FIFO_LEN - self.rx.len()
        } else if self.lsr & LSR_DR != 0 {
            0
        } else {
            1
        }
    }

    /// Delivers bytes from the host (or loopback). Returns how many were accepted; the rest
    /// would overrun, so callers should keep them and retry.
    pub fn receive(&mut self, data: &[u8]) -> usize {
        let n = data.len().min(self.can_receive());
        self.rx.extend(&data[..n]);
        if n > 0 {
            self.lsr |= LSR_DR;
            self.timeout_pending = self.fifo_enabled() && self.rx.len() < self.trigger_level();
            self.update_irq();
        }
        n
    }

    fn read_rbr(&mut self) -> u8 {
        let b = self.rx.pop_front().unwrap_or(0);
        if self.rx.is_empty() {
            self.lsr &= !LSR_DR;
            self.timeout_pending = false;
        } else {
            self.timeout_pending = self.fifo_enabled() && self.rx.len() < self.trigger_level();
        }
        self.update_irq();
        b
    }

    fn write_thr(&mut self, b: u8) {
        self.thr_pending = false;
        if self.mcr & MCR_LOOP != 0 {
            if self.can_receive() > 0 {
                self.receive(&[b]);
            } else {
                self.lsr |= LSR_OE;
            }
        } else {
            self.backend.write(&[b]);
        }
        // Transmission is instantaneous: the holding register is empty again.
        self.lsr |= LSR_THRE | LSR_TEMT;
        self.thr_pending = true;
        self.update_irq();
    }

    fn read_msr(&mut self) -> u8 {
        if self.mcr & MCR_LOOP != 0 {
            // Modem outputs loop back to inputs: RTS->CTS, DTR->DSR, OUT1->RI, OUT2->DCD.
            let m = self.mcr;
            return ((m & MCR_RTS) << 3) | ((m & MCR_DTR) << 5) | ((m & MCR_OUT1) << 4) | ((m & MCR_OUT2) << 4);
        }
        let v = self.msr;
        self.msr &= !MSR_ANY_DELTA;
        self.update_irq();
        v
    }
}

impl MmioDevice for Uart16550 {
    fn read(&mut self, offset: u64, _size: u32) -> u64 {
        let dlab = self.lcr & LCR_DLAB != 0;
        (match offset & 7 {
            RBR_THR_DLL if dlab => self.divider as u8,
            RBR_THR_DLL => self.read_rbr(),
            IER_DLM if dlab => (self.divider >> 8) as u8,
            IER_DLM => self.ier,
            IIR_FCR => {
                let v = self.iir;
                if v & 0x0f == IIR_THRI {
                    self.thr_pending = false;
                    self.update_irq();
                }
                v
            }
            LCR => self.lcr,
            MCR => self.mcr,
            LSR => {
                let v = self.lsr;
                // Error bits clear on read.
                self.lsr &= !(LSR_OE | LSR_BI);
                self.update_irq();
                v
            }
            MSR => self.read_msr(),
            _ => self.scr,
        }) as u64
    }

    fn write(&mut self, offset: u64, _size: u32, value: u64) {
        let v = value as u8;
        let dlab = self.lcr & LCR_DLAB != 0;
        match offset & 7 {
            RBR_THR_DLL if dlab => self.divider = (self.divider & 0xff00) | v as u16,
            RBR_THR_DLL => self.write_thr(v),
            IER_DLM if dlab => self.divider = (self.divider & 0x00ff) | ((v as u16) << 8),
            IER_DLM => {
                let newly_thri = v & IER_THRI != 0 && self.ier & IER_THRI == 0;
                self.ier = v & 0x0f;
                if newly_thri && self.lsr & LSR_THRE != 0 {
                    self.thr_pending = true;
                }
                self.update_irq();
            }
            IIR_FCR => {
                if (v ^ self.fcr) & FCR_FE != 0 || v & FCR_RFR != 0 {
                    self.rx.clear();
                    self.lsr &= !LSR_DR;
                    self.timeout_pending = false;
                }
                let _ = v & FCR_XFR; // transmit FIFO is always empty
                self.fcr = v & 0xc9;
                self.iir = (self.iir & 0x0f) | if self.fifo_enabled() { IIR_FIFO_ENABLED } else { 0 };
                self.update_irq();
            }
            LCR => self.lcr = v,
            MCR => {
                self.mcr = v & 0x1f;
                self.update_irq();
            }
            LSR | MSR => {}
            _ => self.scr = v,
        }
    }

    fn reset(&mut self) {
        self.reset_state();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::irq::testing::Levels;
    use crate::BufferBackend;
    use std::sync::Arc;

    fn uart() -> (Uart16550, BufferBackend, Arc<Levels>) {
        let out = BufferBackend::new();
        let lv = Arc::new(Levels::default());
        (Uart16550::new(IrqLine::new(lv.clone(), 0), Box::new(out.clone())), out, lv)
    }

    #[test]
    fn linux_autoconfig_sees_a_16550a() {
        let (mut u, _, _) = uart();
        // Scratch register.
        u.write(SCR, 1, 0xa5);
        assert_eq!(u.read(SCR, 1), 0xa5);
        // FIFO probe: enabling the FIFO makes IIR[7:6] read 0b11.
        u.write(IIR_FCR, 1, FCR_FE as u64);
        assert_eq!(u.read(IIR_FCR, 1) >> 6, 3);
        // Loopback probe: MCR = LOOP | OUT2 | RTS gives MSR[7:4] = DCD | CTS.
        u.write(MCR, 1, (MCR_LOOP | MCR_OUT2 | MCR_RTS) as u64);
        assert_eq!(u.read(MSR, 1) & 0xf0, 0x90);
        // Divisor latch.
        u.write(LCR, 1, LCR_DLAB as u64);
        u.write(RBR_THR_DLL, 1, 0x34);
        u.write(IER_DLM, 1, 0x12);
        assert_eq!((u.read(RBR_THR_DLL, 1), u.read(IER_DLM, 1)), (0x34, 0x12));
    }

    #[test]
    fn transmit_and_thr_interrupt() {
        let (mut u, out, lv) = uart();
        u.write(RBR_THR_DLL, 1, b'h' as u64);
        u.write(RBR_THR_DLL, 1, b'i' as u64);
        assert_eq!(out.contents(), b"hi");
        assert_ne!(u.read(LSR, 1) as u8 & LSR_THRE, 0);
        assert!(!lv.get(0));
        u.write(IER_DLM, 1, IER_THRI as u64);
        assert!(lv.get(0), "enabling THRI with THR empty interrupts");
        assert_eq!(u.read(IIR_FCR, 1) as u8 & 0x0f, IIR_THRI);
        assert!(!lv.get(0), "reading IIR acknowledges THRI");
    }

    #[test]
    fn receive_fifo_trigger_timeout_and_overrun() {
        let (mut u, _, lv) = uart();
        u.write(IIR_FCR, 1, (FCR_FE | 0x80) as u64); // trigger level 8
        u.write(IER_DLM, 1, IER_RDI as u64);
        assert_eq!(u.receive(b"ab"), 2);
        assert!(lv.get(0), "below the trigger level the timeout interrupt fires");
        assert_eq!(u.read(IIR_FCR, 1) as u8 & 0x0f, IIR_CTI);
        assert_eq!(u.read(RBR_THR_DLL, 1), b'a' as u64);
        assert_eq!(u.read(RBR_THR_DLL, 1), b'b' as u64);
        assert!(!lv.get(0));
        assert_eq!(u.read(LSR, 1) as u8 & LSR_DR, 0);
        assert_eq!(u.receive(&[b'x'; 20]), 16, "the FIFO holds 16 bytes");
        assert_eq!(u.can_receive(), 0);
        assert_eq!(u.read(IIR_FCR, 1) as u8 & 0x0f, IIR_RDI);
    }

    #[test]
    fn loopback_echoes_transmitted_bytes() {
        let (mut u, out, _) = uart();
        u.write(MCR, 1, MCR_LOOP as u64);
        u.write(RBR_THR_DLL, 1, 0x55);
        assert!(out.contents().is_empty());
        assert_eq!(u.read(RBR_THR_DLL, 1), 0x55);
    }
}
