//! ferrite: a full-system emulator for PowerPC guests, driven like QEMU.

mod backends;
mod char_devices;
mod chardev;
mod cli;
mod logging;
mod monitor_console;
mod pidfile;
mod terminal;

use anyhow::{bail, Context};
use clap::Parser;
use ferrite_exec::EngineConfig;
use ferrite_machines::control::{ControlAddr, ControlListen};
use ferrite_machines::ppce500::{Ppce500, Ppce500Config};
use ferrite_machines::gdb::GdbAddr;
use ferrite_machines::{CharInput, ClockMode, HostEvent, HostEvents, PciDevice, RunEnd};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, OnceLock};

static EVENTS: OnceLock<Arc<HostEvents>> = OnceLock::new();

/// Asks the machine loop to stop (signal handlers: atomics only).
pub fn quit_machine() {
    if let Some(e) = EVENTS.get() {
        e.request_quit();
    }
}

fn main() -> ExitCode {
    let cli = match cli::Cli::try_parse_from(cli::normalize(std::env::args())) {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    let result = run(cli);
    terminal::restore();
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("ferrite: {}", describe(&e));
            ExitCode::from(1)
        }
    }
}

/// Where the default guest image lives (the repository's `images/` directory).
fn default_image_dir() -> PathBuf {
    let exe_dir = std::env::current_exe().ok().and_then(|p| p.parent().map(|d| d.to_path_buf()));
    let candidates = [
        Some(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("images/ppc-e500mc")),
        exe_dir.map(|d| d.join("../../images/ppc-e500mc")),
    ];
    candidates.into_iter().flatten().find(|p| p.join("uImage").exists()).unwrap_or_else(|| PathBuf::from("images/ppc-e500mc"))
}

fn parse_machine(spec: &str) -> anyhow::Result<Option<PathBuf>> {
    // QEMU's -machine takes an optional type first, then key=value properties.
    let mut parts = spec.split(',').peekable();
    let board = match parts.peek() {
        Some(p) if !p.contains('=') => parts.next().unwrap_or(""),
        _ => "",
    };
    if board == "help" {
        println!("Supported machines:\nppce500              generic paravirt e500 platform (e500mc)");
        std::process::exit(0);
    }
    if !board.is_empty() && board != "ppce500" {
        bail!("unsupported machine '{board}' (supported: ppce500)");
    }
    let mut dump = None;
    for opt in parts {
        match opt.split_once('=') {
            Some(("dumpdtb", f)) => dump = Some(PathBuf::from(f)),
            Some(("type", "ppce500")) => {}
            _ => bail!("unsupported machine option '{opt}' (supported: dumpdtb=FILE)"),
        }
    }
    Ok(dump)
}

fn clock_mode(icount: Option<&str>) -> anyhow::Result<ClockMode> {
    let Some(spec) = icount else { return Ok(ClockMode::RealTime) };
    let shift = spec.split(',').find_map(|p| p.strip_prefix("shift=")).unwrap_or(if spec.chars().all(|c| c.is_ascii_digit()) { spec } else { "auto" });
    let shift = if shift == "auto" { 3 } else { shift.parse::<u32>().with_context(|| format!("-icount {spec}: bad shift"))? };
    if shift > 10 {
        bail!("-icount shift={shift}: at most 10");
    }
    Ok(ClockMode::Deterministic { shift })
}

fn run(cli: cli::Cli) -> anyhow::Result<ExitCode> {
    logging::init(cli.log.as_deref(), cli.logfile.as_deref())?;
    let dump_dtb = parse_machine(&cli.machine)?;
    if cli.cpu != "e500mc" {
        bail!("unsupported CPU '{}' (supported: e500mc)", cli.cpu);
    }
    let ram_size = cli::parse_size(&cli.memory).map_err(anyhow::Error::msg)?;
    let name = cli.name.as_deref().map(cli::parse_name).transpose().map_err(anyhow::Error::msg)?;
    let _pidfile = cli.pidfile.as_deref().map(pidfile::PidFile::create).transpose()?;
    let nics = cli.nics().map_err(anyhow::Error::msg)?;
    let gdb = match (&cli.gdb, cli.gdb_default) {
        (Some(spec), _) if spec == "none" => None,
        (Some(spec), _) => Some(GdbAddr::parse(spec).map_err(anyhow::Error::msg)?),
        (None, true) => Some(GdbAddr::Tcp("127.0.0.1".into(), 1234)),
        (None, false) => None,
    };
    let qmp = cli.qmp.as_deref().map(|s| control_listen("-qmp", s)).transpose()?;
    let monitor = monitor_listen(cli.monitor.as_deref())?;

    let (kernel, initrd, append) = match cli.kernel.clone() {
        Some(k) => (k, cli.initrd.clone(), cli.append.clone().unwrap_or_default()),
        None => {
            let dir = default_image_dir();
            let k = dir.join("uImage");
            if !k.exists() {
                bail!("no -kernel given and the default image {} is missing", k.display());
            }
            let initrd = cli.initrd.clone().or_else(|| Some(dir.join("initramfs.cpio.gz")));
            (k, initrd, cli.append.clone().unwrap_or_else(|| "console=ttyS0".into()))
        }
    };
    let events = HostEvents::new();
    let chars = char_devices::open(&cli, &events)?;
    let stdio = chars.stdio;
    if cli.stopped && gdb.is_none() && qmp.is_none() && monitor.is_none() && stdio.is_none() {
        bail!("-S starts with the CPUs stopped: give -s, -gdb, -qmp or a -monitor socket too, or a terminal (-nographic: Ctrl-A C, then cont) to start them");
    }
    let pci = pci_devices(&cli, nics, chars.consoles)?;
    let clock = clock_mode(cli.icount.as_deref())?;
    let engine = EngineConfig {
        jit: !cli.no_jit,
        fastmem: !cli.no_fastmem,
        perf_map: cli.perfmap,
        jit_threshold: cli.jit_threshold.max(1),
        baseline_runs: cli.baseline_runs,
        sync_compile: cli.jit_sync,
        count_insns: matches!(clock, ClockMode::Deterministic { .. }),
        ..EngineConfig::default()
    };
    let _ = EVENTS.set(events.clone());
    let cfg = Ppce500Config {
        ram_size,
        cpus: cli.smp,
        kernel,
        initrd,
        append,
        dtb: cli.dtb.clone(),
        dump_dtb,
        pci,
        serials: chars.serials,
        clock,
        engine,
        no_reboot: cli.no_reboot,
        gdb: gdb.clone(),
        start_halted: cli.stopped,
        qmp,
        monitor,
        name,
        rtc: cli.rtc.as_deref().map(ferrite_machines::rtc::RtcBase::parse).transpose().map_err(anyhow::Error::msg)?.unwrap_or_default(),
        monitor_out: stdio.is_some().then(|| {
            Box::new(|text: &str| monitor_print(&format!("{text}{}", monitor_console::PROMPT))) as ferrite_machines::ppce500::MonitorOut
        }),
    };
    let mut machine = Ppce500::new(cfg, events.clone())?;
    if let Some(addr) = &gdb {
        eprintln!("ferrite: gdb stub listening on {addr}{}", if cli.stopped { " (waiting for a debugger)" } else { "" });
    }
    terminal::install_signal_handlers();
    if let Some(to) = stdio {
        terminal::enter_raw_mode().context("cannot set up the terminal")?;
        spawn_stdin_reader(events.clone(), to);
    }
    let end = loop {
        let end = machine.run()?;
        if terminal::SIGNALLED.load(std::sync::atomic::Ordering::SeqCst) {
            break RunEnd::Quit;
        }
        break end;
    };
    if tracing::enabled!(target: "stats", tracing::Level::INFO) {
        tracing::info!(target: "stats", "{}", machine.engine().stats.report());
        let fm = (0..machine.cpu_count()).map(|i| machine.cpu(i).hdr.tlb.fastmem.stats()).reduce(|a, b| a + b).unwrap_or_default();
        tracing::info!(target: "stats", "fastmem: faults {} pages mapped {} unmapped {} code pages demoted {}", fm.faults, fm.maps, fm.unmaps, fm.demotions);
    }
    machine.exiting();
    Ok(match end {
        RunEnd::PowerOff | RunEnd::Reset | RunEnd::DumpedDtb => ExitCode::SUCCESS,
        RunEnd::Quit => {
            if terminal::SIGNALLED.load(std::sync::atomic::Ordering::SeqCst) {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            }
        }
    })
}

/// The board's PCI devices in slot order, as QEMU places them: the board's network cards
/// (`-nic`, `-net nic`, the default card), then `-device`s in command-line order, then the
/// `-virtioconsole`s, then the disks (`-hda`, `-drive`).
fn pci_devices(
    cli: &cli::Cli,
    nics: Vec<ferrite_machines::NicConfig>,
    consoles: Vec<(Option<usize>, PciDevice)>,
) -> anyhow::Result<Vec<PciDevice>> {
    // (group, position in the group): board cards, -device, -virtioconsole, disks.
    let place = |device_index: Option<usize>, otherwise: u8| device_index.map_or((otherwise, 0), |i| (1, i));
    let mut all: Vec<((u8, usize), PciDevice)> = nics.into_iter().map(|n| (place(n.device_index, 0), PciDevice::Nic(n))).collect();
    all.extend(consoles.into_iter().map(|(i, c)| (place(i, 2), c)));
    all.extend(cli.drives().map_err(anyhow::Error::msg)?.into_iter().map(|d| ((3, 0), PciDevice::Disk(d))));
    all.sort_by_key(|(at, _)| *at); // stable: same keys keep their order
    Ok(all.into_iter().map(|(_, d)| d).collect())
}

/// The error and its causes on one line, leaving out causes whose text the message already
/// includes (library errors often quote their source).
fn describe(e: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if !out.contains(&text) {
            if !out.is_empty() {
                out.push_str(": ");
            }
            out.push_str(&text);
        }
    }
    out
}

/// Reads the terminal and turns bytes into input for device `to`, monitor lines and
/// escape-key actions.
fn spawn_stdin_reader(events: Arc<HostEvents>, to: CharInput) {
    std::thread::Builder::new()
        .name("ferrite-stdin".into())
        .spawn(move || {
            use std::io::Read;
            let mut esc = terminal::Escapes::default();
            let mut monitor = monitor_console::MonitorLine::default();
            let mut buf = [0u8; 256];
            let mut stdin = std::io::stdin().lock();
            loop {
                let n = match stdin.read(&mut buf) {
                    Ok(0) | Err(_) => return,
                    Ok(n) => n,
                };
                for key in esc.feed(&buf[..n]) {
                    match key {
                        terminal::Key::Guest(data) if monitor.active() => {
                            let typed = monitor.feed(&data);
                            monitor_print(&String::from_utf8_lossy(&typed.echo));
                            for cmd in typed.commands {
                                events.push(HostEvent::Monitor(cmd));
                            }
                        }
                        terminal::Key::Guest(data) => events.push(HostEvent::Input { to, data }),
                        terminal::Key::Quit => {
                            terminal::message("\nferrite: terminated\n");
                            // The flag, not only the event: a debugger session blocked on its
                            // client sees the flag (its socket gets closed).
                            events.request_quit();
                        }
                        terminal::Key::Help => terminal::message(terminal::HELP),
                        terminal::Key::Monitor => monitor_print(&monitor.toggle()),
                    }
                }
            }
        })
        .expect("cannot start the terminal reader");
}

/// Prints monitor text on the console (standard output, like the guest's), raw-mode safe.
fn monitor_print(s: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(s.replace("\r\n", "\n").replace('\n', "\r\n").as_bytes());
    let _ = out.flush();
}

/// `-qmp SPEC` or a socket `-monitor SPEC` (`opt`): a listening socket in `-serial`'s spelling.
fn control_listen(opt: &str, spec: &str) -> anyhow::Result<ControlListen> {
    use chardev::{Chardev, Short, SocketAddr};
    match chardev::parse_short(opt, spec).map_err(anyhow::Error::msg)? {
        Short::Dev(Chardev::Socket { addr, server: true, wait }) => Ok(ControlListen {
            addr: match addr {
                SocketAddr::Unix(p) => ControlAddr::Unix(PathBuf::from(p)),
                SocketAddr::Tcp(h, p) => ControlAddr::Tcp(h, p),
            },
            wait,
        }),
        Short::Dev(Chardev::Socket { .. }) => bail!("{opt} {spec}: ferrite listens on this socket: add ,server (and ,wait=off to start without waiting for a client)"),
        _ => bail!("{opt} {spec}: expected unix:PATH,server[,wait=off] or tcp:[HOST]:PORT,server[,wait=off]"),
    }
}

/// `-monitor SPEC`: `stdio` (the console monitor, Ctrl-A C, which a terminal has anyway),
/// `none`, or a socket.
fn monitor_listen(spec: Option<&str>) -> anyhow::Result<Option<ControlListen>> {
    match spec {
        None | Some("none" | "stdio" | "mon:stdio") => Ok(None),
        Some(s) if s.starts_with("unix:") || s.starts_with("tcp:") => control_listen("-monitor", s).map(Some),
        Some(s) => bail!("-monitor {s}: expected stdio, none, unix:PATH,server[,wait=off] or tcp:[HOST]:PORT,server[,wait=off]"),
    }
}
