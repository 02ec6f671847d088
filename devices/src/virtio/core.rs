//! The transport-independent state of a virtio device: status, feature negotiation, queue
//! configuration, interrupt status, and the error state.

use super::device::VirtioDevice;
use super::queue::Queue;
use super::{F_RING_EVENT_IDX, F_RING_INDIRECT_DESC, F_VERSION_1, ISR_CONFIG, ISR_QUEUE};
use super::{STATUS_DRIVER_OK, STATUS_FEATURES_OK, STATUS_NEEDS_RESET};
use crate::dma::GuestMemory;
use crate::IrqLine;
use std::sync::Arc;

/// What every transport shares about one device.
pub struct VirtioCore {
    device: Box<dyn VirtioDevice>,
    mem: Arc<dyn GuestMemory>,
    irq: IrqLine,
    irq_masked: bool,
    status: u8,
    /// Device feature word the driver selected (0 or 1).
    pub device_features_sel: u32,
    /// Driver feature word the driver selected.
    pub driver_features_sel: u32,
    driver_features: u64,
    queue_sel: u16,
    queues: Vec<Queue>,
    isr: u8,
    config_generation: u8,
}

impl VirtioCore {
    /// Wraps `device`, doing DMA through `mem` and interrupting through `irq`.
    pub fn new(device: Box<dyn VirtioDevice>, mem: Arc<dyn GuestMemory>, irq: IrqLine) -> VirtioCore {
        let queues = device.queue_max_sizes().into_iter().map(Queue::new).collect();
        VirtioCore {
            device,
            mem,
            irq,
            irq_masked: false,
            status: 0,
            device_features_sel: 0,
            driver_features_sel: 0,
            driver_features: 0,
            queue_sel: 0,
            queues,
            isr: 0,
            config_generation: 0,
        }
    }

    /// The device.
    pub fn device(&self) -> &dyn VirtioDevice {
        &*self.device
    }

    /// Every feature the device offers.
    pub fn device_features(&self) -> u64 {
        self.device.features() | F_VERSION_1 | F_RING_INDIRECT_DESC | F_RING_EVENT_IDX
    }

    /// The selected 32-bit word of the device features.
    pub fn device_features_word(&self) -> u32 {
        match self.device_features_sel {
            0 => self.device_features() as u32,
            1 => (self.device_features() >> 32) as u32,
            _ => 0,
        }
    }

    /// The selected word of the driver features.
    pub fn driver_features_word(&self) -> u32 {
        match self.driver_features_sel {
            0 => self.driver_features as u32,
            1 => (self.driver_features >> 32) as u32,
            _ => 0,
        }
    }

    /// Writes the selected word of the driver features (only before FEATURES_OK).
    pub fn set_driver_features_word(&mut self, v: u32) {
        if self.status & STATUS_FEATURES_OK != 0 {
            tracing::warn!(target: "guest_errors", "virtio: driver features written after FEATURES_OK");
            return;
        }
        match self.driver_features_sel {
            0 => self.driver_features = (self.driver_features & !0xffff_ffff) | u64::from(v),
            1 => self.driver_features = (self.driver_features & 0xffff_ffff) | (u64::from(v) << 32),
            _ => {}
        }
    }

    /// The negotiated features.
    pub fn driver_features(&self) -> u64 {
        self.driver_features
    }

    /// Device status.
    pub fn status(&self) -> u8 {
        self.status
    }

    /// A driver write of the device status. 0 resets the device; FEATURES_OK is refused
    /// (left clear) if the driver accepted features the device does not offer or not
    /// VERSION_1.
    pub fn set_status(&mut self, v: u8) {
        if v == 0 {
            self.reset();
            return;
        }
        let mut v = v | (self.status & STATUS_NEEDS_RESET);
        let newly = v & !self.status;
        if newly & STATUS_FEATURES_OK != 0 {
            let f = self.driver_features;
            if f & !self.device_features() != 0 || f & F_VERSION_1 == 0 {
                tracing::warn!(target: "guest_errors", "virtio: driver features {f:#x} refused (device offers {:#x})", self.device_features());
                v &= !STATUS_FEATURES_OK;
            } else {
                for q in &mut self.queues {
                    q.event_idx = f & F_RING_EVENT_IDX != 0;
                    q.indirect = f & F_RING_INDIRECT_DESC != 0;
                }
            }
        }
        if newly & STATUS_DRIVER_OK != 0 {
            self.device.activate(self.driver_features);
        }
        self.status = v;
    }

    /// Configuration generation counter.
    pub fn config_generation(&self) -> u8 {
        self.config_generation
    }

    /// Number of queues.
    pub fn num_queues(&self) -> u16 {
        self.queues.len() as u16
    }

    /// Selected queue index.
    pub fn queue_sel(&self) -> u16 {
        self.queue_sel
    }

    /// Selects a queue.
    pub fn set_queue_sel(&mut self, q: u16) {
        self.queue_sel = q;
    }

    /// The selected queue, if it exists.
    pub fn queue(&self) -> Option<&Queue> {
        self.queues.get(usize::from(self.queue_sel))
    }

    /// The selected queue for configuration by the driver: only while it is not enabled.
    pub fn queue_mut(&mut self) -> Option<&mut Queue> {
        match self.queues.get_mut(usize::from(self.queue_sel)) {
            Some(q) if !q.ready => Some(q),
            Some(_) => {
                tracing::warn!(target: "guest_errors", "virtio: queue {} reconfigured while enabled", self.queue_sel);
                None
            }
            None => None,
        }
    }

    /// Enables the selected queue (a write of 0 is not allowed by the spec and ignored).
    pub fn enable_queue(&mut self, on: bool) {
        if let Some(q) = self.queues.get_mut(usize::from(self.queue_sel)) {
            if on && q.is_valid() {
                q.ready = true;
            } else if on {
                tracing::warn!(target: "guest_errors", "virtio: queue {} enabled with invalid size {}", self.queue_sel, q.size);
            }
        }
    }

    /// The driver notified queue `index`: serve it, then interrupt if the driver wants it.
    pub fn notify(&mut self, index: u16) {
        if self.status & STATUS_DRIVER_OK == 0 || self.status & STATUS_NEEDS_RESET != 0 {
            return;
        }
        let Some(q) = self.queues.get_mut(usize::from(index)) else {
            tracing::warn!(target: "guest_errors", "virtio: notification of missing queue {index}");
            return;
        };
        if !q.ready {
            return;
        }
        let before = q.used_index();
        let result = self.device.process(usize::from(index), q, &*self.mem);
        let wants = if q.used_index() != before { q.needs_interrupt(&*self.mem) } else { Ok(false) };
        match result.and(wants) {
            Ok(true) => self.raise(ISR_QUEUE),
            Ok(false) => {}
            Err(e) => {
                tracing::warn!(target: "guest_errors", "virtio: device type {} queue {index}: {e}; device needs reset", self.device.device_type());
                self.status |= STATUS_NEEDS_RESET;
                if self.status & STATUS_DRIVER_OK != 0 {
                    self.raise(ISR_CONFIG);
                }
            }
        }
    }

    /// Serves the queues with host-side work (frames received for the guest), interrupting
    /// as for a notification. The machine loop calls this when a backend woke it.
    pub fn poll(&mut self) {
        for &q in self.device.host_queues() {
            self.notify(q as u16);
        }
    }

    fn raise(&mut self, bits: u8) {
        self.isr |= bits;
        self.update_irq();
    }

    fn update_irq(&self) {
        self.irq.set(self.isr != 0 && !self.irq_masked);
    }

    /// Interrupt status without side effects.
    pub fn isr(&self) -> u8 {
        self.isr
    }

    /// Reads and clears the interrupt status (virtio-pci ISR), lowering the interrupt.
    pub fn take_isr(&mut self) -> u8 {
        let v = std::mem::take(&mut self.isr);
        self.update_irq();
        v
    }

    /// Clears interrupt status bits (virtio-mmio InterruptACK).
    pub fn ack_interrupt(&mut self, bits: u8) {
        self.isr &= !bits;
        self.update_irq();
    }

    /// Masks the interrupt output (PCI command register INTx disable).
    pub fn set_irq_masked(&mut self, masked: bool) {
        self.irq_masked = masked;
        self.update_irq();
    }

    /// Reads `size` bytes of device configuration at `offset`, little-endian.
    pub fn read_config(&self, offset: usize, size: usize) -> u64 {
        let mut b = [0u8; 8];
        let n = size.min(8);
        self.device.read_config(offset, &mut b[..n]);
        u64::from_le_bytes(b)
    }

    /// Writes `size` bytes of device configuration.
    pub fn write_config(&mut self, offset: usize, size: usize, value: u64) {
        let n = size.min(8);
        self.device.write_config(offset, &value.to_le_bytes()[..n]);
    }

    /// Device reset: status, features, queues and interrupt status back to zero.
    pub fn reset(&mut self) {
        self.status = 0;
        self.device_features_sel = 0;
        self.driver_features_sel = 0;
        self.driver_features = 0;
        self.queue_sel = 0;
        self.queues.iter_mut().for_each(Queue::reset);
        self.isr = 0;
        self.update_irq();
        self.device.reset();
    }
}

impl std::fmt::Debug for VirtioCore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VirtioCore").field("type", &self.device.device_type()).field("status", &self.status).finish()
    }
}
