//! MPC8544 global utilities (QEMU `hw/misc/mpc8544_guts.c`): PVR/SVR mirrors and the reset
//! control register; everything else reads 0 and is logged.

use crate::IrqLine;
use ferrite_softmmu::MmioDevice;

/// PVR mirror.
pub const PVR: u64 = 0xa0;
/// SVR mirror.
pub const SVR: u64 = 0xa4;
/// Reset control.
pub const RSTCR: u64 = 0xb0;
/// RSTCR: request a system reset.
pub const RSTCR_RESET: u32 = 0x2;

/// The global utilities block.
pub struct Guts {
    reset: IrqLine,
    pvr: u32,
    svr: u32,
}

impl Guts {
    /// A block reporting `pvr`/`svr` and raising `reset` on a reset request.
    pub fn new(reset: IrqLine, pvr: u32, svr: u32) -> Guts {
        Guts { reset, pvr, svr }
    }
}

impl MmioDevice for Guts {
    fn read(&mut self, offset: u64, _size: u32) -> u64 {
        match offset {
            PVR => self.pvr as u64,
            SVR => self.svr as u64,
            _ => {
                tracing::warn!(target: "guest_errors", "guts: read of unimplemented register {offset:#x}");
                0
            }
        }
    }

    fn write(&mut self, offset: u64, _size: u32, value: u64) {
        if offset == RSTCR && value as u32 & RSTCR_RESET != 0 {
            self.reset.raise();
            self.reset.lower();
        } else {
            tracing::warn!(target: "guest_errors", "guts: write of {value:#x} to register {offset:#x} ignored");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::irq::testing::Levels;
    use std::sync::{Arc, Mutex};

    struct Count(Mutex<u32>);
    impl crate::IrqSink for Count {
        fn set_level(&self, _line: u32, level: bool) {
            if level {
                *self.0.lock().unwrap() += 1;
            }
        }
    }

    #[test]
    fn rstcr_requests_reset() {
        let c = Arc::new(Count(Mutex::new(0)));
        let mut g = Guts::new(IrqLine::new(c.clone(), 0), 0x8023_0020, 0);
        assert_eq!(g.read(PVR, 4), 0x8023_0020);
        g.write(RSTCR, 4, 0x1);
        assert_eq!(*c.0.lock().unwrap(), 0);
        g.write(RSTCR, 4, 0x2);
        assert_eq!(*c.0.lock().unwrap(), 1);
        let _ = Levels::default();
    }
}
