//! QEMU's `ppce500` board (e500plat) with e500mc cores: RAM at 0, CCSR at 0xF_E000_0000 with
//! the UARTs, the MPIC, the global utilities and the GPIO power-off, a device tree for Linux's
//! `qemu_e500` platform, and QEMU's direct kernel boot.

pub mod boot;
mod debug;
pub mod fdt;
mod gdb;
pub mod map;
mod monitor;
mod qmp;
mod spin;
mod wiring;

use crate::clock::{ClockMode, VirtualClock};
use crate::gdb::{GdbAddr, GdbServer};
use crate::host::{Alarm, HostEvent, HostEvents, Kick};
use crate::control::ControlListen;
use crate::monitor_socket::MonitorServer;
use crate::qmp::QmpServer;
use qmp::RunState;
use crate::loader::{read_file, LoadError};
use boot::{BootError, Placement};
pub use ferrite_devices::virtio::ConsoleInput;
pub use ferrite_devices::{BufferBackend, CharBackend, NullBackend};
use ferrite_devices::TimerQueue;
use ferrite_exec::{DebugStop, Engine, EngineConfig, EngineError, Resume, Stop};
use ferrite_ppc::cpu::PpcCpu;
use ferrite_softmmu::{AddressSpace, CpuHeader, Ram, EXIT_REQ_EXTERNAL, EXIT_REQ_STOP};
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
    /// The PCI devices, in slots 1, 2, ... in this order.
    pub pci: Vec<PciDevice>,
    /// Host side of each UART (one or two).
    pub serials: Vec<Box<dyn CharBackend>>,
    /// Real or deterministic time.
    pub clock: ClockMode,
    /// Execution engine settings.
    pub engine: EngineConfig,
    /// Exit instead of rebooting on a guest reset.
    pub no_reboot: bool,
    /// Listen for gdb here (`-s`, `-gdb`).
    pub gdb: Option<GdbAddr>,
    /// Start stopped (`-S`): a debugger that attaches, QMP's `cont` or the monitor's `cont`
    /// starts the CPUs.
    pub start_halted: bool,
    /// Serve QMP here (`-qmp`).
    pub qmp: Option<ControlListen>,
    /// Serve the monitor on this socket (`-monitor unix:...` or `tcp:...`).
    pub monitor: Option<ControlListen>,
    /// What the real-time clock shows at start (`-rtc base=`).
    pub rtc: crate::rtc::RtcBase,
    /// The machine's name (`-name`; QMP's `query-name`).
    pub name: Option<String>,
    /// Where the console monitor's (Ctrl-A C) output goes.
    pub monitor_out: Option<MonitorOut>,
}

/// A device on the board's PCI bus.
pub enum PciDevice {
    /// A virtio-blk-pci disk.
    Disk(crate::drive::DriveConfig),
    /// A virtio-net-pci network card.
    Nic(crate::netdev::NicConfig),
    /// A virtio-serial-pci whose console port (hvc) writes to `backend` and reads `input`.
    Console {
        /// Where the guest's output goes.
        backend: Box<dyn CharBackend>,
        /// Host input for the guest (host threads may push into it directly).
        input: Arc<ConsoleInput>,
    },
}

/// Prints the console monitor's output (and its next prompt).
pub type MonitorOut = Box<dyn Fn(&str) + Send>;

/// Why the machine could not be built.
#[derive(Debug, thiserror::Error)]
pub enum BoardError {
    /// RAM size QEMU's ppce500 would refuse.
    #[error("invalid RAM size {0:#x}: ppce500 needs a non-zero multiple of 64 MiB below 48 GiB")]
    RamSize(u64),
    /// A control socket (QMP, monitor) could not be opened.
    #[error("{0}")]
    Control(String),
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
    /// More PCI devices than slots.
    #[error("{0} PCI devices (disks, network cards, consoles) do not fit in the 31 PCI slots")]
    TooManyPciDevices(usize),
    /// A network backend could not start.
    #[error(transparent)]
    Net(#[from] crate::netdev::NetError),
    /// Images.
    #[error(transparent)]
    Boot(#[from] BootError),
    /// Device tree construction.
    #[error("building the device tree: {0}")]
    Fdt(String),
    /// The engine.
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// The GDB stub could not listen.
    #[error(transparent)]
    Gdb(#[from] crate::gdb::ListenError),
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
    /// Declared before the CPUs, so dropped first: it keeps pointers to their headers.
    engine: Engine,
    cpus: Vec<Box<PpcCpu>>,
    clock: Arc<VirtualClock>,
    timers: Arc<TimerQueue>,
    devices: Devices,
    power: Arc<PowerState>,
    events: Arc<HostEvents>,
    alarm: Option<Alarm>,
    gdb: Option<Arc<GdbServer>>,
    start_halted: bool,
    monitor_out: Option<MonitorOut>,
    /// Secondary CPUs the guest released through the spin table, to start.
    releases: spin::Releases,
    /// The CPU whose turn it is (they run one at a time, in turn).
    current: usize,
    /// Turns in a row that ended with their CPU halted: all are idle once it reaches the
    /// number of CPUs.
    idle_turns: usize,
    /// The QMP socket, if any.
    qmp: Option<Arc<QmpServer>>,
    /// The monitor socket, if any.
    monitor: Option<MonitorServer>,
    /// Running, or stopped (`-S`, QMP or monitor `stop`).
    run_state: RunState,
    /// The reset under way was asked for by the host (monitor, QMP), not the guest.
    host_reset: bool,
    /// Why the host ends the run, for QMP's SHUTDOWN event.
    quit_reason: &'static str,
    /// The CPU the monitor's `info registers` and `info tlb` show (`cpu N`).
    monitor_cpu: usize,
    /// `-name`.
    name: Option<String>,
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
            // Each core has its own fastmem reservation; the engine write-protects a page that
            // comes to hold code in every core's (`Engine::attach_cpus`). Supervisor modes
            // everywhere: a kernel's (or a bare-metal program's) memory is mapped once and used
            // for long. User modes in loops (and FP code) only: user pages belong to processes
            // that come and go, and mapping each costs a signal and host `mmap`s that shoot
            // down the other host core's TLB; a shell loop of short processes ran 1.2-1.7x as
            // long with user modes on fastmem everywhere, while gzip's loops need it
            // (docs/benchmarks.md, sixteenth session).
            if cfg.engine.jit && cfg.engine.fastmem {
                let supervisor = ferrite_ppc::translate::SUPERVISOR_MMU_MODES;
                if let Err(e) = c.hdr.tlb.fastmem.enable(supervisor, !supervisor) {
                    tracing::info!("fastmem off: {e}");
                }
            }
        }
        let releases = spin::Releases::default();
        let devices = wiring::build(&space, &mut cpus, cfg.serials, clock.clone(), cfg.rtc.seconds(cfg.clock), &timers, &power, &events, cfg.pci, &releases)?;
        let mut engine = Engine::new(cfg.engine)?;
        let headers: Vec<*mut CpuHeader> = cpus.iter_mut().map(|c| &mut c.hdr as *mut CpuHeader).collect();
        // SAFETY: the CPUs are boxed (they never move), outlive the engine (the board drops it
        // first) and run one at a time on this thread.
        unsafe { engine.attach_cpus(&headers) };
        let alarm = matches!(cfg.clock, ClockMode::RealTime).then(|| Alarm::start(events.clone()));
        let gdb = cfg.gdb.map(|addr| GdbServer::start(addr, events.clone())).transpose()?;
        let qmp = cfg.qmp.as_ref().map(|q| QmpServer::start(q, events.clone())).transpose().map_err(BoardError::Control)?;
        let monitor = cfg.monitor.as_ref().map(|m| MonitorServer::start(m, events.clone())).transpose().map_err(BoardError::Control)?;
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
            gdb,
            start_halted: cfg.start_halted,
            monitor_out: cfg.monitor_out,
            releases,
            current: 0,
            idle_turns: 0,
            qmp,
            monitor,
            run_state: RunState::Running,
            host_reset: false,
            quit_reason: "host-signal",
            monitor_cpu: 0,
            name: cfg.name,
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
        self.current = 0;
        self.idle_turns = 0;
        self.load()?;
        Ok(())
    }

    /// The engine (statistics).
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The process ends with the machine: its translations need not be freed one by one.
    pub fn exiting(&mut self) {
        self.engine.leak_translations_on_drop();
    }

    /// The physical address space (tests, debugger).
    pub fn space(&self) -> &Arc<AddressSpace> {
        &self.space
    }

    /// CPU `i`.
    pub fn cpu(&mut self, i: usize) -> &mut PpcCpu {
        &mut self.cpus[i]
    }

    /// Runs until the guest powers off, resets with `-no-reboot`, or the host quits. A debugger
    /// that connects takes over until it detaches; `-S` (or QMP's `stop`) keeps the CPUs stopped
    /// until a debugger attaches or QMP's or the monitor's `cont`.
    pub fn run(&mut self) -> Result<RunEnd, BoardError> {
        if self.dump_dtb.is_some() {
            return Ok(RunEnd::DumpedDtb);
        }
        if let Some(q) = &self.qmp {
            q.hold_until_client();
        }
        if let Some(m) = &self.monitor {
            m.hold_until_client();
        }
        if std::mem::take(&mut self.start_halted) {
            self.run_state = RunState::Prelaunch;
        }
        let end = loop {
            if self.run_state != RunState::Running {
                match self.wait_while_stopped()? {
                    Some(end) => break end,
                    None => continue,
                }
            }
            match self.turn(&mut Exec::Normal)? {
                None | Some(Event::DebugInput) | Some(Event::Stopped(_)) => {}
                Some(Event::Debugger) => {
                    if let Some(end) = self.debug_session()? {
                        break end;
                    }
                }
                Some(Event::End(end)) => break end,
            }
        };
        self.shutdown_event(end);
        Ok(end)
    }

    /// While the CPUs are stopped: host events only (QMP, the monitor, input). A debugger that
    /// attaches takes over, and the machine runs once it detaches.
    fn wait_while_stopped(&mut self) -> Result<Option<RunEnd>, BoardError> {
        if self.events.quit_requested() {
            return Ok(Some(RunEnd::Quit));
        }
        match self.host_events()? {
            Some(Event::End(end)) => return Ok(Some(end)),
            Some(Event::Debugger) => {
                let end = self.debug_session()?;
                if end.is_none() {
                    self.resume();
                }
                return Ok(end);
            }
            _ => {}
        }
        if self.run_state != RunState::Running {
            self.events.wait(None);
        }
        Ok(None)
    }

    /// QMP's SHUTDOWN event for how the run ended.
    fn shutdown_event(&self, end: RunEnd) {
        let (guest, reason) = match end {
            RunEnd::PowerOff => (true, "guest-shutdown"),
            RunEnd::Reset => (true, "guest-reset"),
            RunEnd::Quit => (false, self.quit_reason),
            RunEnd::DumpedDtb => return,
        };
        self.qmp_event("SHUTDOWN", Some(serde_json::json!({ "guest": guest, "reason": reason })));
    }

    /// Handles every queued host event; returns the one the caller must act on, if any (an
    /// end of the run first, then a debugger connecting, then debugger input). Handling them
    /// all before returning loses none of those queued behind it.
    fn host_events(&mut self) -> Result<Option<Event>, BoardError> {
        let rank = |e: &Option<Event>| match e {
            Some(Event::End(_)) => 3,
            Some(Event::Debugger) => 2,
            Some(_) => 1,
            None => 0,
        };
        let mut act: Option<Event> = None;
        for ev in self.events.drain() {
            let event = match ev {
                HostEvent::Input { to, data } => {
                    self.devices.input(to, &data);
                    None
                }
                HostEvent::Reset => {
                    self.request_reset();
                    None
                }
                HostEvent::Qmp(call) => {
                    self.qmp_call(call);
                    None
                }
                HostEvent::MonitorCall(call) => {
                    match monitor::execute(self, monitor::Origin::Console, &call.request)? {
                        monitor::Reply::Text(t) => {
                            call.reply(&t);
                            None
                        }
                        monitor::Reply::Quit => {
                            call.reply("");
                            Some(Event::End(RunEnd::Quit))
                        }
                    }
                }
                HostEvent::Quit => Some(Event::End(RunEnd::Quit)),
                HostEvent::Debugger => Some(Event::Debugger),
                HostEvent::DebugInput => Some(Event::DebugInput),
                HostEvent::Monitor(cmd) => self.console_monitor(&cmd)?.map(Event::End),
            };
            if rank(&event) > rank(&act) {
                act = event;
            }
        }
        Ok(act)
    }

    /// Runs a command typed at the console monitor and prints its output there.
    fn console_monitor(&mut self, cmd: &str) -> Result<Option<RunEnd>, BoardError> {
        match monitor::execute(self, monitor::Origin::Console, cmd)? {
            monitor::Reply::Quit => Ok(Some(RunEnd::Quit)),
            monitor::Reply::Text(t) => {
                if let Some(out) = &self.monitor_out {
                    out(&t);
                }
                Ok(None)
            }
        }
    }

    /// One turn of the machine loop: host events, power and reset requests, due timers, then
    /// one CPU runs until it stops. The CPUs take turns (one host thread runs them all, like
    /// QEMU's round-robin TCG): a turn lasts at most [`SLICE`] (or [`SLICE_INSNS`] under
    /// `-icount`) while another CPU may want to run. Returns what ended the turn if the caller
    /// must act.
    pub(crate) fn turn(&mut self, exec: &mut Exec) -> Result<Option<Event>, BoardError> {
        let deterministic = matches!(self.clock.mode(), ClockMode::Deterministic { .. });
        let cur = self.current;
        // The host events are handled below; one that arrives from here on still ends the turn
        // (an older kick, meant for another CPU's turn, must not end this one at once).
        self.cpus[cur].hdr.exit_request.fetch_and(!EXIT_REQ_EXTERNAL, Ordering::AcqRel);
        if self.events.quit_requested() {
            self.devices.flush_serial();
            return Ok(Some(Event::End(RunEnd::Quit)));
        }
        if let Some(event) = self.host_events()? {
            return Ok(Some(event));
        }
        if self.power.off.load(Ordering::SeqCst) {
            self.devices.flush_serial();
            return Ok(Some(Event::End(RunEnd::PowerOff)));
        }
        if self.power.reset.swap(false, Ordering::SeqCst) {
            let host = std::mem::take(&mut self.host_reset);
            if self.no_reboot && !host {
                return Ok(Some(Event::End(RunEnd::Reset)));
            }
            let reason = if host { "host-qmp-system-reset" } else { "guest-reset" };
            self.qmp_event("RESET", Some(serde_json::json!({ "guest": !host, "reason": reason })));
            self.reset()?;
        }
        self.start_released_cpus();
        self.devices.pump_serial_input();
        self.devices.pump_host_input();
        let now = self.clock.now_ns();
        self.timers.run_due(now);
        let next = self.timers.next_deadline();
        let sliced = self.cpus.iter().enumerate().any(|(i, c)| i != cur && !c.halted);
        ferrite_softmmu::set_current_cpu(cur as u32);
        let cpu = &mut self.cpus[cur];
        if deterministic {
            let mut budget = next.map_or(1 << 40, |d| self.clock.insns_until(d));
            if sliced {
                budget = budget.min(SLICE_INSNS);
            }
            cpu.hdr.icount_budget = budget;
            self.clock.begin_slice(budget, &cpu.hdr.icount_budget);
        } else if let Some(alarm) = &self.alarm {
            let deadline = next.map(|d| Instant::now() + self.clock.real_delay(d));
            let slice_end = sliced.then(|| Instant::now() + SLICE);
            alarm.set(deadline.into_iter().chain(slice_end).min());
        }
        let stop = match exec {
            Exec::Normal => self.engine.run(&mut **cpu),
            Exec::Debug { step, resume, cpu: stopped } => {
                // Only the CPU that stopped resumes (the others have no breakpoint to skip).
                let mut unused = Resume::USED;
                let resume = if *stopped == cur { resume } else { &mut unused };
                match self.engine.run_debug(&mut **cpu, *step, resume) {
                    DebugStop::Run(stop) => stop,
                    debug_stop => {
                        // The debugger looks at this CPU; it keeps the turn.
                        self.devices.flush_serial();
                        if deterministic {
                            self.clock.end_slice(cpu.hdr.icount_budget);
                        }
                        return Ok(Some(Event::Stopped(debug_stop)));
                    }
                }
            }
        };
        self.devices.flush_serial();
        if deterministic {
            self.clock.end_slice(cpu.hdr.icount_budget);
        }
        if !matches!(exec, Exec::Debug { step: true, .. }) {
            // (A single step stays with its CPU until it completes.)
            self.current = (cur + 1) % self.cpus.len();
        }
        match stop {
            Stop::Halted => {
                self.idle_turns += 1;
                if self.idle_turns < self.cpus.len() {
                    // Another CPU may have work.
                    return Ok(None);
                }
                self.idle_turns = 0;
                if self.power.off.load(Ordering::SeqCst) || self.power.reset.load(Ordering::SeqCst) {
                    return Ok(None);
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
                self.idle_turns = 0;
                if bits & EXIT_REQ_STOP != 0 {
                    tracing::debug!("stop requested");
                }
            }
            Stop::Budget => self.idle_turns = 0,
        }
        Ok(None)
    }

    /// Starts the CPUs the guest released through the spin table since the last turn.
    fn start_released_cpus(&mut self) {
        let releases = std::mem::take(&mut *self.releases.lock().unwrap());
        for r in releases {
            if let Some(cpu) = self.cpus.get_mut(r.cpu) {
                tracing::debug!(target: "int", "CPU {} released at {:#x}, r3 {:#x}", r.cpu, r.addr, r.r3);
                boot::kick_secondary(cpu, r.addr, r.r3 as u32);
            }
        }
    }
}

/// How the CPU runs during a turn.
pub(crate) enum Exec {
    /// At full speed.
    Normal,
    /// Under the debugger (breakpoints, watchpoints, one step).
    Debug {
        /// Run one instruction.
        step: bool,
        /// Where the debugger resumed.
        resume: Resume,
        /// The CPU the debugger resumed (the one that stopped or is stepped).
        cpu: usize,
    },
}

/// What ended a turn.
pub(crate) enum Event {
    /// The run is over.
    End(RunEnd),
    /// A debugger connected.
    Debugger,
    /// The attached debugger sent something.
    DebugInput,
    /// A breakpoint, watchpoint or single step stopped the CPU.
    Stopped(DebugStop),
}

impl Drop for Ppce500 {
    fn drop(&mut self) {
        // Stop everything that can touch a CPU from another thread before the CPUs go.
        self.alarm.take();
        self.events.clear_kicks();
        if let Some(g) = &self.gdb {
            g.close();
        }
        if let Some(q) = &self.qmp {
            q.close();
        }
        if let Some(m) = &self.monitor {
            m.close();
        }
    }
}

/// The longest turn of one CPU while another may want to run (real-time mode).
const SLICE: std::time::Duration = std::time::Duration::from_millis(1);

/// The same in instructions (deterministic mode).
const SLICE_INSNS: i64 = 100_000;

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
