//! Creating the ppce500's devices, mapping them in CCSR and wiring their interrupts.

use super::spin::{Releases, SpinTable, TABLE_SIZE};
use super::{map, BoardError, PciDevice, PowerState};
use crate::drive::{DiskFormat, DriveConfig};
use crate::host::{CharInput, HostEvents, Kick};
use crate::netdev::open_backend;
use ferrite_devices::block::{BlockBackend, BlockError, Qcow2Image, RawImage, SnapshotOverlay};
use ferrite_devices::net::Waker;
use ferrite_devices::pci::{Mpc8540PciHost, PciBus};
use ferrite_devices::virtio::{ConsoleInput, VirtioBlk, VirtioConsole, VirtioCore, VirtioDevice, VirtioNet, VirtioPci};
use ferrite_devices::{CharBackend, Clock, Ds1338, GuestMemory, Guts, I2cBus, IrqLine, IrqSink, Mpc8xxxGpio, MpcI2c, OpenPic, SpaceMemory, TimerQueue, Uart16550};
use ferrite_ppc::cpu::{IrqInputs, PpcCpu, IRQ_CRITICAL, IRQ_EXTERNAL};
use ferrite_softmmu::{AddressSpace, Endian, MemOp, SharedDevice, EXIT_REQ_EXTERNAL, EXIT_REQ_INTERRUPT};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// The board's devices, as the machine loop needs them.
pub(super) struct Devices {
    uarts: Vec<Arc<Mutex<Uart16550>>>,
    pending: Vec<VecDeque<u8>>,
    pci: Arc<Mutex<PciBus>>,
    /// A network backend or a console has input for the guest.
    input_ready: Arc<AtomicBool>,
    /// Host input of each virtio console.
    consoles: Vec<Arc<ConsoleInput>>,
}

impl Devices {
    /// Queues host input for a UART (kept here while the guest's FIFO is full) or a virtio
    /// console (kept by the device until the guest posts buffers).
    pub(super) fn input(&mut self, to: CharInput, data: &[u8]) {
        match to {
            CharInput::Serial(port) => {
                if let Some(q) = self.pending.get_mut(port) {
                    q.extend(data);
                }
                self.pump_serial_input();
            }
            CharInput::Console(n) => {
                if let Some(c) = self.consoles.get(n) {
                    c.push(data);
                }
            }
        }
    }

    /// Moves queued input into the UARTs as far as their FIFOs allow.
    pub(super) fn pump_serial_input(&mut self) {
        for (uart, q) in self.uarts.iter().zip(self.pending.iter_mut()) {
            if q.is_empty() {
                continue;
            }
            let mut u = uart.lock().unwrap();
            let room = u.can_receive();
            if room > 0 {
                let take: Vec<u8> = q.drain(..room.min(q.len())).collect();
                u.receive(&take);
            }
        }
    }

    /// Moves frames that network backends received, and console input, into the devices'
    /// receive queues.
    pub(super) fn pump_host_input(&self) {
        if self.input_ready.swap(false, Ordering::AcqRel) {
            self.pci.lock().unwrap().poll();
        }
    }

    /// Pushes buffered UART output to the host.
    pub(super) fn flush_serial(&self) {
        for u in &self.uarts {
            u.lock().unwrap().flush();
        }
    }

    /// Drops queued input (machine reset).
    pub(super) fn reset(&mut self) {
        self.pending.iter_mut().for_each(|q| q.clear());
        self.consoles.iter().for_each(|c| c.clear());
    }
}

/// Interrupt inputs of the cores: line `2n` is core n's INT, `2n+1` its critical INT.
struct CoreInputs {
    cores: Vec<(Arc<IrqInputs>, Kick)>,
}

impl IrqSink for CoreInputs {
    fn set_level(&self, line: u32, level: bool) {
        let Some((inputs, kick)) = self.cores.get((line / 2) as usize) else { return };
        let bit = if line % 2 == 0 { IRQ_EXTERNAL } else { IRQ_CRITICAL };
        if level {
            inputs.levels.fetch_or(bit, Ordering::AcqRel);
        } else {
            inputs.levels.fetch_and(!bit, Ordering::AcqRel);
        }
        kick.kick(EXIT_REQ_INTERRUPT);
        if level && self.cores.len() > 1 {
            // The cores run in turns: end the running one's, so a halted target wakes now.
            for (_, other) in &self.cores {
                other.kick(EXIT_REQ_EXTERNAL);
            }
        }
    }
}

/// GPIO pin 0 (power-off) and the guts reset request.
struct PowerInputs {
    power: Arc<PowerState>,
    events: Arc<HostEvents>,
}

impl IrqSink for PowerInputs {
    fn set_level(&self, line: u32, level: bool) {
        if !level {
            return;
        }
        match line {
            0 => self.power.off.store(true, Ordering::SeqCst),
            _ => self.power.reset.store(true, Ordering::SeqCst),
        }
        self.events.wake();
    }
}

fn map_dev(space: &AddressSpace, name: &str, offset: u64, size: u64, dev: SharedDevice, endian: Endian) -> Result<(), BoardError> {
    space.add_mmio(name, map::CCSR_BASE + offset, size, dev, endian)?;
    Ok(())
}

/// Creates and maps every device.
pub(super) fn build(
    space: &Arc<AddressSpace>,
    cpus: &mut [Box<PpcCpu>],
    serials: Vec<Box<dyn CharBackend>>,
    clock: Arc<dyn Clock>,
    rtc_base: i64,
    timers: &Arc<TimerQueue>,
    power: &Arc<PowerState>,
    events: &Arc<HostEvents>,
    pci_devices: Vec<PciDevice>,
    releases: &Releases,
) -> Result<Devices, BoardError> {
    let core_sink: Arc<dyn IrqSink> =
        Arc::new(CoreInputs { cores: cpus.iter().map(|c| (c.irq.clone(), Kick::new(&c.hdr))).collect() });
    let outputs: Vec<(IrqLine, IrqLine)> = (0..cpus.len() as u32)
        .map(|n| (IrqLine::new(core_sink.clone(), 2 * n), IrqLine::new(core_sink.clone(), 2 * n + 1)))
        .collect();
    let mut i2c_bus = I2cBus::new();
    i2c_bus.attach(map::RTC_I2C_ADDR, Box::new(Ds1338::new(clock.clone(), rtc_base)));
    let mpic = OpenPic::new(outputs, clock, timers);
    let mpic_in = OpenPic::inputs(&mpic);
    map_dev(space, "mpic", map::MPIC_OFFSET, map::MPIC_SIZE, mpic.clone(), Endian::Big)?;

    let mut uarts = Vec::new();
    let mut serials = serials.into_iter();
    for (i, offset) in [map::UART0_OFFSET, map::UART1_OFFSET].into_iter().enumerate() {
        let Some(backend) = serials.next() else { break };
        let u = Arc::new(Mutex::new(Uart16550::new(IrqLine::new(mpic_in.clone(), map::IRQ_UART), backend)));
        map_dev(space, &format!("serial{i}"), offset, 0x100, u.clone(), Endian::Big)?;
        uarts.push(u);
    }

    let i2c = MpcI2c::new(IrqLine::new(mpic_in.clone(), map::IRQ_I2C), i2c_bus);
    map_dev(space, "i2c", map::I2C_OFFSET, map::I2C_SIZE, Arc::new(Mutex::new(i2c)), Endian::Big)?;

    let power_sink: Arc<dyn IrqSink> = Arc::new(PowerInputs { power: power.clone(), events: events.clone() });
    let gpio = Mpc8xxxGpio::new(IrqLine::new(mpic_in.clone(), map::IRQ_GPIO), vec![IrqLine::new(power_sink.clone(), 0)]);
    map_dev(space, "gpio", map::GPIO_OFFSET, 0x1000, Arc::new(Mutex::new(gpio)), Endian::Big)?;
    let guts = Guts::new(IrqLine::new(power_sink, 1), ferrite_ppc::cpu::PVR_E500MC, 0);
    map_dev(space, "global-utilities", map::GUTS_OFFSET, 0x1000, Arc::new(Mutex::new(guts)), Endian::Big)?;

    let ev = events.clone();
    let spin = SpinTable::new(cpus.len(), releases.clone(), Box::new(move || ev.wake()));
    space.add_mmio("spin-table", map::SPIN_BASE, TABLE_SIZE, Arc::new(Mutex::new(spin)), Endian::Big)?;
    // Doorbells reach every core by its PIR.
    let peers: Vec<_> = cpus.iter().map(|c| (c.spr.pir, c.irq.clone())).collect();
    for cpu in cpus.iter_mut() {
        cpu.peers = peers.clone();
    }

    let input_ready = Arc::new(AtomicBool::new(false));
    let mut consoles = Vec::new();
    let pci = build_pci(space, &mpic_in, pci_devices, &input_ready, &mut consoles, events)?;

    // Proxy (CoreInt) mode: taking an external interrupt reads this core's IACK into EPR, as
    // QEMU does with `mpic_iack` when the guest set GCR's mode to proxy.
    for cpu in cpus.iter_mut() {
        let space = space.clone();
        let be32 = MemOp::new(2, false, Endian::Big, 0);
        let base = map::CCSR_BASE + map::MPIC_OFFSET;
        cpu.epr_ack = Some(Arc::new(move |n| {
            const GCR: u64 = 0x1020;
            const GCR_MODE_PROXY: u64 = 0x6000_0000;
            (space.load(base + GCR, be32) & GCR_MODE_PROXY == GCR_MODE_PROXY)
                .then(|| space.load(base + 0x2_0000 + 0x1000 * n as u64 + 0xa0, be32) as u32)
        }));
    }
    let pending = uarts.iter().map(|_| VecDeque::new()).collect();
    Ok(Devices { uarts, pending, pci, input_ready, consoles })
}

/// The PCI host bridge with `devices` in slots 1, 2, ...; the input queue of each console
/// goes to `consoles`. Backends with input for the guest set `input_ready` and wake the
/// machine. Returns the bus.
fn build_pci(
    space: &Arc<AddressSpace>,
    mpic_in: &Arc<dyn IrqSink>,
    devices: Vec<PciDevice>,
    input_ready: &Arc<AtomicBool>,
    consoles: &mut Vec<Arc<ConsoleInput>>,
    events: &Arc<HostEvents>,
) -> Result<Arc<Mutex<PciBus>>, BoardError> {
    let intx = [0, 1, 2, 3].map(|i| IrqLine::new(mpic_in.clone(), map::IRQ_PCI_BASE + i));
    let host = Mpc8540PciHost::new(Arc::downgrade(space), intx);
    let (ready, ev) = (input_ready.clone(), events.clone());
    let waker: Waker = Arc::new(move || {
        ready.store(true, Ordering::Release);
        ev.wake();
    });
    let count = devices.len();
    for (i, dev) in devices.into_iter().enumerate() {
        let slot = u8::try_from(i + 1).ok().filter(|&s| s < map::PCI_SLOTS).ok_or(BoardError::TooManyPciDevices(count))?;
        let device: Box<dyn VirtioDevice> = match dev {
            PciDevice::Disk(drive) => Box::new(VirtioBlk::new(open_disk(&drive)?, drive.serial.as_deref().unwrap_or(""))),
            PciDevice::Nic(nic) => Box::new(VirtioNet::new(nic.mac, open_backend(&nic.backend, waker.clone())?)),
            PciDevice::Console { backend, input } => {
                input.set_waker(waker.clone());
                consoles.push(input.clone());
                Box::new(VirtioConsole::new(backend, input))
            }
        };
        let mem: Arc<dyn GuestMemory> = Arc::new(SpaceMemory::new(Arc::downgrade(space)));
        let core = VirtioCore::new(device, mem, host.intx_line(slot, 0));
        host.plug(slot, Box::new(VirtioPci::new(core)))?;
    }
    let bus = host.bus().clone();
    map_dev(space, "pci", map::PCI_OFFSET, map::PCI_SIZE, Arc::new(Mutex::new(host)), Endian::Big)?;
    Ok(bus)
}

/// Opens (and locks) a disk image; with `snapshot=on` read-only, under a temporary overlay.
fn open_disk(drive: &DriveConfig) -> Result<Box<dyn BlockBackend>, BoardError> {
    let overlay = drive.snapshot && !drive.read_only;
    let read_only = drive.read_only || overlay;
    let image: Box<dyn BlockBackend> = match drive.format {
        DiskFormat::Raw => Box::new(RawImage::open(&drive.file, read_only)?),
        DiskFormat::Qcow2 => Box::new(Qcow2Image::open(&drive.file, read_only)?),
    };
    if !overlay {
        return Ok(image);
    }
    let snap = SnapshotOverlay::new(image).map_err(|source| BlockError::Snapshot { path: drive.file.clone(), source })?;
    Ok(Box::new(snap))
}
