//! Interrupt lines: a device output wired by the board to any input (an interrupt controller's
//! source, a CPU's external input, the machine's power-off request).

use std::sync::Arc;

/// Something with numbered interrupt inputs.
pub trait IrqSink: Send + Sync {
    /// Sets the level of input `line`.
    fn set_level(&self, line: u32, level: bool);
}

/// One wire from a device output to a sink input.
#[derive(Clone)]
pub struct IrqLine {
    sink: Option<Arc<dyn IrqSink>>,
    line: u32,
}

impl IrqLine {
    /// A line to input `line` of `sink`.
    pub fn new(sink: Arc<dyn IrqSink>, line: u32) -> IrqLine {
        IrqLine { sink: Some(sink), line }
    }

    /// A line connected to nothing.
    pub fn disconnected() -> IrqLine {
        IrqLine { sink: None, line: 0 }
    }

    /// Drives the line.
    pub fn set(&self, level: bool) {
        if let Some(s) = &self.sink {
            s.set_level(self.line, level);
        }
    }

    /// Drives the line high.
    pub fn raise(&self) {
        self.set(true)
    }

    /// Drives the line low.
    pub fn lower(&self) {
        self.set(false)
    }
}

impl std::fmt::Debug for IrqLine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "IrqLine({})", if self.sink.is_some() { self.line.to_string() } else { "-".into() })
    }
}

#[cfg(test)]
pub(crate) mod testing {
    use super::IrqSink;
    use std::sync::Mutex;

    /// Records line levels for tests.
    #[derive(Default)]
    pub struct Levels(pub Mutex<Vec<bool>>);

    impl IrqSink for Levels {
        fn set_level(&self, line: u32, level: bool) {
            let mut v = self.0.lock().unwrap();
            if v.len() <= line as usize {
                v.resize(line as usize + 1, false);
            }
            v[line as usize] = level;
        }
    }

    impl Levels {
        /// Level of `line`.
        pub fn get(&self, line: u32) -> bool {
            self.0.lock().unwrap().get(line as usize).copied().unwrap_or(false)
        }
    }
}
