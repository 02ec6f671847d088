//! The host side of character devices: where a UART's output goes. Input is pushed into the
//! device by the machine loop.

use std::sync::{Arc, Mutex};

/// A host character backend (terminal, file, socket, test buffer).
pub trait CharBackend: Send {
    /// Writes bytes the guest transmitted (the backend may buffer them).
    fn write(&mut self, data: &[u8]);
    /// Pushes buffered output to the host (the machine calls this whenever the guest pauses).
    fn flush(&mut self) {}
}

/// A backend that collects output in memory (tests, harnesses).
#[derive(Clone, Default, Debug)]
pub struct BufferBackend(pub Arc<Mutex<Vec<u8>>>);

impl BufferBackend {
    /// A new, empty buffer.
    pub fn new() -> BufferBackend {
        BufferBackend::default()
    }

    /// Everything written so far.
    pub fn contents(&self) -> Vec<u8> {
        self.0.lock().unwrap().clone()
    }
}

impl CharBackend for BufferBackend {
    fn write(&mut self, data: &[u8]) {
        self.0.lock().unwrap().extend_from_slice(data);
    }
}

/// A backend that drops everything (`-serial null`).
#[derive(Debug, Default)]
pub struct NullBackend;

impl CharBackend for NullBackend {
    fn write(&mut self, _data: &[u8]) {}
}
