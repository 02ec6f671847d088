//! An I2C bus as a controller drives it: a start condition with a 7-bit address and a
//! direction, bytes one at a time, a stop. Targets implement [`I2cTarget`]; a controller owns
//! an [`I2cBus`] with its targets on it.

pub mod mpc;

/// A device on an I2C bus.
pub trait I2cTarget: Send {
    /// A start (or repeated start) addressed to this device; `read`: the controller will
    /// receive. Returns whether the device acknowledges.
    fn start(&mut self, read: bool) -> bool;
    /// A byte from the controller. Returns whether the device acknowledges it.
    fn send(&mut self, byte: u8) -> bool;
    /// A byte to the controller.
    fn recv(&mut self) -> u8;
    /// The transfer ended (stop, or a repeated start to come).
    fn stop(&mut self) {}
    /// Returns the device to its power-on state.
    fn reset(&mut self) {}
}

/// The targets on one bus and the transfer in progress.
#[derive(Default)]
pub struct I2cBus {
    targets: Vec<(u8, Box<dyn I2cTarget>)>,
    /// Index of the addressed target while a transfer is in progress.
    active: Option<usize>,
}

impl I2cBus {
    /// An empty bus.
    pub fn new() -> I2cBus {
        I2cBus::default()
    }

    /// Puts `target` on the bus at 7-bit address `addr`.
    pub fn attach(&mut self, addr: u8, target: Box<dyn I2cTarget>) {
        self.targets.push((addr & 0x7f, target));
    }

    /// Whether a transfer is in progress.
    pub fn busy(&self) -> bool {
        self.active.is_some()
    }

    /// A start condition for `addr`: false (no acknowledge) if nothing answers there.
    pub fn start(&mut self, addr: u8, read: bool) -> bool {
        self.stop();
        let Some(i) = self.targets.iter().position(|(a, _)| *a == addr & 0x7f) else { return false };
        if !self.targets[i].1.start(read) {
            return false;
        }
        self.active = Some(i);
        true
    }

    /// Sends a byte to the addressed target: false if none acknowledges it.
    pub fn send(&mut self, byte: u8) -> bool {
        match self.active {
            Some(i) => self.targets[i].1.send(byte),
            None => false,
        }
    }

    /// Receives a byte from the addressed target (an idle bus reads as all ones).
    pub fn recv(&mut self) -> u8 {
        match self.active {
            Some(i) => self.targets[i].1.recv(),
            None => 0xff,
        }
    }

    /// Ends the transfer in progress, if any.
    pub fn stop(&mut self) {
        if let Some(i) = self.active.take() {
            self.targets[i].1.stop();
        }
    }

    /// Resets every target and ends any transfer.
    pub fn reset(&mut self) {
        self.active = None;
        for (_, t) in &mut self.targets {
            t.reset();
        }
    }
}
