//! QEMU's `ppce500` board (e500plat) with e500mc cores: RAM at 0, CCSR at 0xF_E000_0000 with
//! the UARTs, the MPIC, the global utilities and the GPIO power-off, a device tree for Linux's
//! `qemu_e500` platform, and QEMU's direct kernel boot.

pub mod boot;
pub mod fdt;
pub mod map;
mod wiring;

use crate::clock::{ClockMode, VirtualClock};
use crate::host::{Alarm, HostEvent, HostEvents, Kick};
use crate::loader::{read_file, LoadError};
use boot::{BootError, Placement};
pub use ferrite_devices::{BufferBackend, CharBackend, NullBackend};
use ferrite_devices::TimerQueue;
use ferrite_exec::{Engine, EngineConfig, EngineError, Stop};
use ferrite_ppc::cpu::PpcCpu;
use ferrite_softmmu::{AddressSpace, Ram, EXIT_REQ_STOP};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;
use wiring::Devices;

/// How to build the board.
pub struct Ppce500Config {
    /// RAM size in bytes (a multiple of 64 MiB, as QEMU requires).
    pub ram_size: u64,
    /// Number of cores.
    pub cpus: u32,
    /// Kernel or bare-metal program (ELF or uImage).
    pub kernel: PathBuf,
    /// Initial RAM disk.
    pub initrd: Option<PathBuf>,
    /// Kernel command line.
    pub append: String,
    /// A device tree blob to use instead of the generated one.
    pub dtb: Option<PathBuf>,
    /// Write the device tree here and exit (`-machine dumpdtb=`).
    pub dump_dtb: Option<PathBuf>,
    /// Disks, attached as virtio-blk-pci in PCI slots 1, 2, ...
    pub drives: Vec<crate::drive::DriveConfig>,
    /// Host side of each UART (one or two).
    pub serials: Vec<Box<dyn CharBackend>>,
    /// Real or deterministic time.
    pub clock: ClockMode,
    /// Execution engine settings.
    pub engine: EngineConfig,
    /// Exit instead of rebooting on a guest reset.
    pub no_reboot: bool,
}

/// Why the machine could not be built.
#[derive(Debug, thiserror::Error)]
pub enum BoardError {
    /// RAM size QEMU's ppce500 would refuse.
    #[error("invalid RAM size {0:#x}: ppce500 needs a non-zero multiple of 64 MiB below 48 GiB")]
    RamSize(u64),
    /// Too many or too few CPUs.
    #[error("invalid CPU count {0}: ppce500 supports 1 to 32")]
    Cpus(u32),
    /// Host memory for RAM.
    #[error(transparent)]
    Memory(#[from] ferrite_softmmu::Error),
    /// A disk image could not be opened or locked.
    #[error(transparent)]
    Disk(#[from] ferrite_devices::block::BlockError),
    /// A PCI device could not be plugged.
    #[error(transparent)]
    Pci(#[from] ferrite_devices::pci::PlugError),
    /// More disks than PCI slots.
    #[error("{0} drives do not fit in the 31 PCI slots")]
    TooManyDrives(usize),
    /// Images.
    #[error(transparent)]
    Boot(#[from] BootError),
    /// Device tree construction.
    #[error("building the device tree: {0}")]
    Fdt(String),
    /// The engine.
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// Writing `dumpdtb`.
    #[error("cannot write the device tree to {path}: {source}")]
    DumpDtb {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// How a run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunEnd {
    /// The guest powered off.
    PowerOff,
    /// The guest reset with `-no-reboot`.
    Reset,
    /// The host asked to quit (Ctrl-A X, signal).
    Quit,
    /// `-machine dumpdtb=` wrote the tree.
    DumpedDtb,
}

/// Power and reset requests from devices.
#[derive(Default, Debug)]
pub struct PowerState {
    /// GPIO power-off pin went high.
    pub off: AtomicBool,
    /// Reset requested (guts RSTCR, DBCR0).
    pub reset: AtomicBool,
}

/// The board.
pub struct Ppce500 {
    cfg_ram: u64,
    no_reboot: bool,
    dump_dtb: Option<PathBuf>,
    images: Images,
    space: Arc<AddressSpace>,
    cpus: Vec<Box<PpcCpu>>,
    engine: Engine,
    clock: Arc<VirtualClock>,
    timers: Arc<TimerQueue>,
    devices: Devices,
    power: Arc<PowerState>,
    events: Arc<HostEvents>,
    alarm: Option<Alarm>,
}

/// Image files kept in memory so a reset can reload them.
struct Images {
    kernel: (PathBuf, Vec<u8>),
    initrd: Option<(PathBuf, Vec<u8>)>,
    dtb: Option<(PathBuf, Vec<u8>)>,
    append: String,
    ncpus: u32,
    nserials: u32,
}

impl Ppce500 {
    /// Builds the board, loads the images and puts CPU 0 at the kernel entry.
    pub fn new(cfg: Ppce500Config, events: Arc<HostEvents>) -> Result<Ppce500, BoardError> {
        if cfg.ram_size == 0 || cfg.ram_size % (64 << 20) != 0 || cfg.ram_size >= 0xc_0000_0000 {
            return Err(BoardError::RamSize(cfg.ram_size));
        }
        if cfg.cpus == 0 || cfg.cpus > 32 {
            return Err(BoardError::Cpus(cfg.cpus));
        }
        let read = |p: &PathBuf| read_file(p).map(|d| (p.clone(), d)).map_err(BootError::from);
        let images = Images {
            kernel: read(&cfg.kernel)?,
            initrd: cfg.initrd.as_ref().map(read).transpose()?,
            dtb: cfg.dtb.as_ref().map(read).transpose()?,
            append: cfg.append.clone(),
            ncpus: cfg.cpus,
            nserials: cfg.serials.len().clamp(1, 2) as u32,
        };
        let space = Arc::new(AddressSpace::new());
        space.add_ram("ram", 0, Arc::new(Ram::new(cfg.ram_size)?))?;
        let clock = Arc::new(VirtualClock::new(cfg.clock));
        let timers = Arc::new(TimerQueue::new());
        let power = Arc::new(PowerState::default());
        let mut cpus: Vec<Box<PpcCpu>> = (0..cfg.cpus)
            .map(|i| PpcCpu::new(&space, i, clock.clone(), Some(&timers)))
            .collect();
        for c in &mut cpus {
            events.add_kick(Kick::new(&c.hdr));
            // Longer blocks through side exits, except where whole blocks are charged to the
            // instruction budget that drives deterministic time.
            c.side_exits = if matches!(cfg.clock, ClockMode::RealTime) { SIDE_EXITS } else { 0 };
            c.timer_exits = matches!(cfg.clock, ClockMode::RealTime);
        }
        let devices = wiring::build(&space, &mut cpus, cfg.serials, clock.clone(), &timers, &power, &events, &cfg.drives)?;
        let engine = Engine::new(cfg.engine)?;
        let alarm = matches!(cfg.clock, ClockMode::RealTime).then(|| Alarm::start(events.clone()));
        let mut board = Ppce500 {
            cfg_ram: cfg.ram_size,
            no_reboot: cfg.no_reboot,
            dump_dtb: cfg.dump_dtb,
            images,
            space,
            cpus,
            engine,
            clock,
            timers,
            devices,
            power,
            events,
            alarm,
        };
        board.load()?;
        Ok(board)
    }

    /// (Re)loads every image and sets the boot state of all CPUs.
    fn load(&mut self) -> Result<Placement, BoardError> {
        let ram = self.cfg_ram;
        let (kpath, kdata) = &self.images.kernel;
        let kernel = boot::load_kernel(kpath, kdata, &self.space, ram).map_err(BootError::from)?;
        let initrd = self.images.initrd.as_ref().map(|(p, d)| (p.as_path(), d.as_slice()));
        let p = boot::place(kernel, initrd, &self.space, ram)?;
        let blob = match &self.images.dtb {
            Some((path, data)) => {
                if data.len() < 4 || data[..4] != [0xd0, 0x0d, 0xfe, 0xed] {
                    return Err(BootError::BadDtb { path: path.display().to_string(), detail: "bad magic".into() }.into());
                }
                if data.len() as u64 > boot::DTB_MAX_SIZE {
                    return Err(BootError::BadDtb { path: path.display().to_string(), detail: "larger than 8 MiB".into() }.into());
                }
                data.clone()
            }
            None => fdt::build(&fdt::FdtConfig {
                ram_size: ram,
                cmdline: self.images.append.clone(),
                initrd: p.initrd,
                cpus: self.images.ncpus,
                serials: self.images.nserials,
                rng_seed: rng_seed(self.clock.mode()),
            })
            .map_err(|e| BoardError::Fdt(e.to_string()))?,
        };
        if let Some(path) = &self.dump_dtb {
            std::fs::write(path, &blob).map_err(|source| BoardError::DumpDtb { path: path.clone(), source })?;
        }
        self.space.write_ram(p.dtb, &blob).map_err(|e| BoardError::Fdt(e.to_string()))?;
        for (i, cpu) in self.cpus.iter_mut().enumerate() {
            cpu.reset();
            if i == 0 {
                boot::enter_kernel(cpu, &p);
            } else {
                cpu.halted = true;
            }
        }
        Ok(p)
    }

    /// Resets the machine: devices, CPUs, translations, images.
    fn reset(&mut self) -> Result<(), BoardError> {
        self.space.reset_devices();
        self.devices.reset();
        for cpu in &mut self.cpus {
            self.engine.flush(&mut cpu.hdr);
        }
        self.load()?;
        Ok(())
    }

    /// The engine (statistics).
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The physical address space (tests, debugger).
    pub fn space(&self) -> &Arc<AddressSpace> {
        &self.space
    }

    /// CPU `i`.
    pub fn cpu(&mut self, i: usize) -> &mut PpcCpu {
        &mut self.cpus[i]
    }

    /// Runs until the guest powers off, resets with `-no-reboot`, or the host quits.
    pub fn run(&mut self) -> Result<RunEnd, BoardError> {
        if self.dump_dtb.is_some() {
            return Ok(RunEnd::DumpedDtb);
        }
        let deterministic = matches!(self.clock.mode(), ClockMode::Deterministic { .. });
        loop {
            if self.events.quit_requested() {
                self.devices.flush_serial();
                return Ok(RunEnd::Quit);
            }
            for ev in self.events.drain() {
                match ev {
                    HostEvent::SerialInput { port, data } => self.devices.serial_input(port, &data),
                    HostEvent::Quit => return Ok(RunEnd::Quit),
                    HostEvent::Reset => self.power.reset.store(true, Ordering::SeqCst),
                }
            }
            if self.power.off.load(Ordering::SeqCst) {
                self.devices.flush_serial();
                return Ok(RunEnd::PowerOff);
            }
            if self.power.reset.swap(false, Ordering::SeqCst) {
                if self.no_reboot {
                    return Ok(RunEnd::Reset);
                }
                self.reset()?;
            }
            self.devices.pump_serial_input();
            let now = self.clock.now_ns();
            self.timers.run_due(now);
            let next = self.timers.next_deadline();
            let cpu = &mut self.cpus[0];
            if deterministic {
                let budget = next.map_or(1 << 40, |d| self.clock.insns_until(d));
                cpu.hdr.icount_budget = budget;
                self.clock.begin_slice(budget, &cpu.hdr.icount_budget);
            } else if let Some(alarm) = &self.alarm {
                alarm.set(next.map(|d| Instant::now() + self.clock.real_delay(d)));
            }
            let stop = self.engine.run(&mut **cpu);
            self.devices.flush_serial();
            if deterministic {
                self.clock.end_slice(cpu.hdr.icount_budget);
            }
            match stop {
                Stop::Halted => {
                    if self.power.off.load(Ordering::SeqCst) || self.power.reset.load(Ordering::SeqCst) {
                        continue;
                    }
                    if deterministic {
                        match next {
                            Some(d) => self.clock.skip_to(d),
                            None => self.events.wait(None),
                        }
                    } else {
                        self.events.wait(next.map(|d| self.clock.real_delay(d)));
                    }
                }
                Stop::Request(bits) => {
                    if bits & EXIT_REQ_STOP != 0 {
                        tracing::debug!("stop requested");
                    }
                }
                Stop::Budget => {}
            }
        }
    }
}

impl Drop for Ppce500 {
    fn drop(&mut self) {
        // Stop everything that can touch a CPU from another thread before the CPUs go.
        self.alarm.take();
        self.events.clear_kicks();
    }
}

/// Conditional branches a block may leave through before it ends (real-time mode).
const SIDE_EXITS: u32 = 8;

/// `/chosen/rng-seed`: random in real-time mode, fixed in deterministic mode.
fn rng_seed(mode: ClockMode) -> [u8; 32] {
    let mut seed = [0u8; 32];
    if mode == ClockMode::RealTime {
        let mut x = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(1, |d| d.as_nanos() as u64) | 1;
        for b in seed.iter_mut() {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            *b = x as u8;
        }
    }
    seed
}

impl From<LoadError> for BoardError {
    fn from(e: LoadError) -> Self {
        BoardError::Boot(BootError::Load(e))
    }
}
