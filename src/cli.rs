//! The command line: QEMU's spellings (`-M ppce500 -kernel x -m 256M -nographic -d in_asm`),
//! parsed with clap after normalising QEMU's single-dash long options.

use clap::Parser;
use std::path::PathBuf;

/// ferrite: a fast full-system emulator for PowerPC (e500mc) guests, with QEMU's command line.
///
/// With no image arguments it boots the default Linux image shipped with ferrite.
/// Options may be written QEMU-style with one dash (`-kernel vmlinux`) or with two.
#[derive(Parser, Debug, Clone)]
#[command(name = "ferrite", version, about, long_about = None, after_help = EXAMPLES)]
pub struct Cli {
    /// Board to emulate (only `ppce500`); `-M help` lists boards.
    #[arg(short = 'M', long = "machine", value_name = "BOARD[,dumpdtb=FILE]", default_value = "ppce500")]
    pub machine: String,

    /// CPU model (only `e500mc`).
    #[arg(long, default_value = "e500mc")]
    pub cpu: String,

    /// Guest RAM size: a number with an optional K/M/G suffix (default MiB), a multiple of 64 MiB.
    #[arg(short = 'm', long = "memory", value_name = "SIZE", default_value = "256M")]
    pub memory: String,

    /// CPUs: N, or QEMU's cpus=N[,sockets=S][,cores=C][,threads=1][,maxcpus=N] (e500mc cores
    /// have one thread each; no CPU hot-plug, so maxcpus is cpus).
    #[arg(long, value_name = "N", default_value = "1", value_parser = parse_smp)]
    pub smp: u32,

    /// Kernel or bare-metal program: ELF or U-Boot uImage.
    #[arg(long, value_name = "FILE")]
    pub kernel: Option<PathBuf>,

    /// Initial RAM disk (passed to the kernel in the device tree).
    #[arg(long, value_name = "FILE")]
    pub initrd: Option<PathBuf>,

    /// Kernel command line.
    #[arg(long, value_name = "CMDLINE", allow_hyphen_values = true)]
    pub append: Option<String>,

    /// Use this device tree blob instead of the generated one.
    #[arg(long, value_name = "FILE")]
    pub dtb: Option<PathBuf>,

    /// No graphics: the first serial port is the terminal (`-serial stdio`).
    #[arg(long)]
    pub nographic: bool,

    /// Display backend (only `none`).
    #[arg(long, value_name = "TYPE")]
    pub display: Option<String>,

    /// Serial port backend: stdio, mon:stdio, file:PATH, unix:PATH[,server,nowait],
    /// tcp:[HOST]:PORT[,server,nowait], chardev:ID, null or none. Repeat for the second UART.
    #[arg(long, value_name = "DEV")]
    pub serial: Vec<String>,

    /// Character backend for a device: `stdio,id=ID`, `null,id=ID`, `file,id=ID,path=PATH`,
    /// `socket,id=ID,path=PATH|host=HOST,port=PORT[,server=on][,wait=off]`.
    #[arg(long, value_name = "OPTS")]
    pub chardev: Vec<String>,

    /// A virtio console (/dev/hvc0 in the guest) on a backend in `-serial`'s syntax: shorthand
    /// for `-device virtio-serial-pci -device virtconsole,chardev=...` (QEMU's old option).
    #[arg(long, value_name = "DEV")]
    pub virtioconsole: Vec<String>,

    /// Monitor: `stdio` (the console monitor, Ctrl-A C; the default with a terminal), `none`,
    /// or a socket for scripts: unix:PATH,server[,wait=off] or tcp:[HOST]:PORT,server[,wait=off].
    #[arg(long, value_name = "DEV")]
    pub monitor: Option<String>,

    /// Disk, QEMU-style: file=PATH[,if=virtio][,format=raw|qcow2][,readonly=on][,snapshot=on][,cache=MODE][,serial=S].
    /// Each becomes a virtio-blk-pci disk (/dev/vda, vdb, ...). Repeat for more disks.
    #[arg(long, value_name = "OPTS")]
    pub drive: Vec<String>,

    /// First disk: shorthand for `-drive file=FILE,if=virtio`.
    #[arg(long, value_name = "FILE")]
    pub hda: Option<PathBuf>,

    /// Every disk gets snapshot=on: the guest's writes go to a temporary overlay and are
    /// dropped at exit; the images are only read.
    #[arg(long)]
    pub snapshot: bool,

    /// Old-style network: `nic[,model=virtio][,macaddr=MAC]` with `user[,hostfwd=...]`, or `none`.
    #[arg(long, value_name = "OPTS")]
    pub net: Vec<String>,

    /// Network backend: `user,id=ID[,hostfwd=tcp|udp:[HOSTADDR]:PORT-[GUESTADDR]:PORT]...` or
    /// `socket,id=ID,listen=[HOST]:PORT|connect=HOST:PORT`.
    #[arg(long, value_name = "OPTS")]
    pub netdev: Vec<String>,

    /// Device: `virtio-net-pci,netdev=ID[,mac=MAC]`, `virtio-serial-pci[,id=ID]`,
    /// `virtconsole,chardev=ID[,bus=ID.0]`.
    #[arg(long, value_name = "OPTS")]
    pub device: Vec<String>,

    /// Network card and backend in one: `user[,hostfwd=...][,mac=MAC]`, or `none`.
    /// Without any network option the board has one card on user networking, as QEMU's.
    #[arg(long, value_name = "OPTS")]
    pub nic: Vec<String>,

    /// No default devices: no network card and no terminal on the first serial port unless
    /// options ask for them.
    #[arg(long)]
    pub nodefaults: bool,

    /// Deterministic execution: virtual time follows the instruction count
    /// (`shift=N`: 2^N ns per instruction; `auto` is shift=3).
    #[arg(long, value_name = "shift=N")]
    pub icount: Option<String>,

    /// Log categories, comma separated: in_asm, ir, ir_opt, exec, int, mmu, unimp,
    /// guest_errors, stats; `-d help` lists them.
    #[arg(short = 'd', value_name = "ITEMS")]
    pub log: Option<String>,

    /// Write logs to FILE instead of stderr.
    #[arg(short = 'D', value_name = "FILE")]
    pub logfile: Option<PathBuf>,

    /// Exit instead of rebooting when the guest resets.
    #[arg(long = "no-reboot")]
    pub no_reboot: bool,

    /// Interpret only (no JIT): slower, for debugging the JIT.
    #[arg(long = "no-jit")]
    pub no_jit: bool,

    /// Compiled code reaches guest RAM through the soft TLB's checks instead of a host mapping
    /// of it (fastmem): slower, for comparing and debugging.
    #[arg(long = "no-fastmem")]
    pub no_fastmem: bool,

    /// Interpreted runs of a block before the JIT compiles it.
    #[arg(long = "jit-threshold", value_name = "N", default_value_t = ferrite_exec::EngineConfig::default().jit_threshold)]
    pub jit_threshold: u32,

    /// Runs of a block before the baseline compiler (tier 1: fast to compile, plain code)
    /// turns it into host code, until the JIT's code replaces it; 0 turns tier 1 off.
    #[arg(long = "baseline-runs", value_name = "N", default_value_t = ferrite_exec::EngineConfig::default().baseline_runs)]
    pub baseline_runs: u32,

    /// Wait for each JIT compilation instead of interpreting meanwhile (reproducible
    /// profiles and benchmarks on a busy host; slower start).
    #[arg(long = "jit-sync")]
    pub jit_sync: bool,

    /// Write /tmp/perf-<pid>.map so that `perf report` names compiled guest blocks.
    #[arg(long = "perfmap")]
    pub perfmap: bool,

    /// Wait for a debugger: shorthand for `-gdb tcp::1234`.
    #[arg(short = 's')]
    pub gdb_default: bool,

    /// GDB stub: tcp:[HOST]:PORT or unix:PATH.
    #[arg(long, value_name = "DEV")]
    pub gdb: Option<String>,

    /// Start with the CPUs stopped: a debugger that attaches, QMP's `cont` or the console
    /// monitor's `cont` starts them.
    #[arg(short = 'S')]
    pub stopped: bool,

    /// Real-time clock: base=utc|localtime|DATE (2006-06-17T16:01:21 or 2006-06-17) is what it
    /// shows at start (default: the host's UTC time; 2000-01-01 under -icount);
    /// clock= and driftfix= are accepted.
    #[arg(long, value_name = "OPTS")]
    pub rtc: Option<String>,

    /// The machine's name (QMP's query-name): NAME or guest=NAME[,process=P][,debug-threads=on|off].
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,

    /// Write ferrite's process id to FILE (locked while ferrite runs, removed at exit).
    #[arg(long, value_name = "FILE")]
    pub pidfile: Option<PathBuf>,

    /// QMP server (QEMU's machine protocol, JSON): unix:PATH,server[,wait=off] or
    /// tcp:[HOST]:PORT,server[,wait=off]. Without wait=off (or nowait) the machine waits for the
    /// first client before it starts, as QEMU does.
    #[arg(long, value_name = "DEV")]
    pub qmp: Option<String>,
}

const EXAMPLES: &str = "\
Examples:
  ferrite                                   boot the default Linux image to a shell
  ferrite -M ppce500 -kernel prog.elf -nographic
  ferrite -M ppce500 -cpu e500mc -m 256 -kernel uImage -initrd rootfs.cpio.gz \\
          -append \"console=ttyS0\" -nographic
  ferrite -kernel prog.elf -d in_asm,int -D trace.log
  ferrite -nic user,hostfwd=tcp::2222-:22   guest network (10.0.2.15, host is 10.0.2.2)
  ferrite -qmp unix:/tmp/qmp.sock,server,wait=off   control by QMP (JSON) for scripts

Console keys (-serial stdio / -nographic): Ctrl-A X quit, Ctrl-A H help, Ctrl-A A send Ctrl-A.";

/// Long options QEMU spells with one dash.
const LONG: &[&str] = &[
    "machine", "cpu", "memory", "smp", "kernel", "initrd", "append", "dtb", "nographic", "display", "serial",
    "monitor", "chardev", "virtioconsole", "drive", "hda", "snapshot", "net", "netdev", "device", "nic", "nodefaults", "icount", "no-reboot", "no-jit", "no-fastmem", "perfmap", "jit-threshold", "baseline-runs", "gdb", "qmp", "rtc", "name", "pidfile", "help", "version",
];

impl Cli {
    /// The disks of `-hda` and `-drive`, in that order.
    pub fn drives(&self) -> Result<Vec<ferrite_machines::DriveConfig>, String> {
        let hda = self.hda.as_deref().map(ferrite_machines::DriveConfig::hda);
        let all: Result<Vec<_>, String> = hda.into_iter().map(Ok).chain(self.drive.iter().map(|d| ferrite_machines::DriveConfig::parse(d))).collect();
        Ok(all?.into_iter().map(|d| ferrite_machines::DriveConfig { snapshot: d.snapshot || self.snapshot, ..d }).collect())
    }

    /// The network cards of `-device`, `-nic` and `-net`.
    pub fn nics(&self) -> Result<Vec<ferrite_machines::NicConfig>, String> {
        let net = self.net.clone();
        let (netdev, device, nic) = (self.netdev.clone(), self.device.clone(), self.nic.clone());
        ferrite_machines::NetOptions { netdev, device, nic, net, nodefaults: self.nodefaults }.nics()
    }
}

/// Rewrites QEMU-style `-kernel` into `--kernel` (only for known long options, so option
/// values that start with a dash are left alone).
pub fn normalize(args: impl IntoIterator<Item = String>) -> Vec<String> {
    args.into_iter()
        .enumerate()
        .map(|(i, a)| {
            if i > 0 && a.starts_with('-') && !a.starts_with("--") && a.len() > 2 {
                let name = a[1..].split('=').next().unwrap_or("");
                if LONG.contains(&name) {
                    return format!("-{a}");
                }
            }
            a
        })
        .collect()
}

/// Parses `-smp`: `N` or `cpus=N,sockets=S,cores=C,threads=T,maxcpus=M` (any of them), with
/// QEMU's rules: missing counts are derived, the topology must multiply out to the CPU count.
pub fn parse_smp(spec: &str) -> Result<u32, String> {
    let mut fields = [None::<u32>; 5];
    const NAMES: [&str; 5] = ["cpus", "sockets", "cores", "threads", "maxcpus"];
    for (i, item) in spec.split(',').enumerate() {
        let (key, value) = match item.split_once('=') {
            Some(kv) => kv,
            None if i == 0 => ("cpus", item),
            None => return Err(format!("-smp {spec}: '{item}' is not KEY=VALUE")),
        };
        let k = NAMES.iter().position(|n| *n == key).ok_or_else(|| format!("-smp {spec}: unknown option '{key}' (cpus, sockets, cores, threads, maxcpus)"))?;
        let n: u32 = value.parse().ok().filter(|&n| n > 0).ok_or_else(|| format!("-smp {spec}: {key}={value} is not a positive number"))?;
        fields[k] = Some(n);
    }
    let [cpus, sockets, cores, threads, maxcpus] = fields;
    if threads.is_some_and(|t| t != 1) {
        return Err(format!("-smp {spec}: e500mc cores have one thread each (threads=1)"));
    }
    let topology = sockets.unwrap_or(1) * cores.unwrap_or(1);
    let cpus = cpus.or(maxcpus).unwrap_or(if sockets.is_some() || cores.is_some() { topology } else { 1 });
    if (sockets.is_some() || cores.is_some()) && topology != cpus {
        return Err(format!("-smp {spec}: sockets x cores x threads is {topology}, not the {cpus} CPUs"));
    }
    if maxcpus.is_some_and(|m| m != cpus) {
        return Err(format!("-smp {spec}: maxcpus must equal cpus (ppce500 has no CPU hot-plug)"));
    }
    Ok(cpus)
}

/// Parses `-name`: `NAME` or `guest=NAME[,process=P][,debug-threads=on|off]` (the last two
/// are accepted and have no effect); returns the guest name.
pub fn parse_name(spec: &str) -> Result<String, String> {
    let mut name = None;
    for (i, item) in spec.split(',').enumerate() {
        match item.split_once('=') {
            None if i == 0 => name = Some(item.to_string()),
            Some(("guest", v)) => name = Some(v.to_string()),
            Some(("process" | "debug-threads", _)) => {}
            _ => return Err(format!("-name {spec}: unknown option '{item}' (guest, process, debug-threads)")),
        }
    }
    name.filter(|n| !n.is_empty()).ok_or_else(|| format!("-name {spec}: no name given"))
}

/// Parses a QEMU memory size: plain numbers are MiB; K, M, G, T suffixes (with optional B/iB).
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let t = t.strip_suffix("iB").or_else(|| t.strip_suffix('B')).unwrap_or(t);
    let (num, mult) = match t.chars().last() {
        Some('K' | 'k') => (&t[..t.len() - 1], 1u64 << 10),
        Some('M' | 'm') => (&t[..t.len() - 1], 1 << 20),
        Some('G' | 'g') => (&t[..t.len() - 1], 1 << 30),
        Some('T' | 't') => (&t[..t.len() - 1], 1 << 40),
        _ => (t, 1 << 20),
    };
    let n: u64 = num.parse().map_err(|_| format!("invalid memory size '{s}'"))?;
    n.checked_mul(mult).ok_or_else(|| format!("memory size '{s}' is too large"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qemu_spellings_parse() {
        let args = normalize(
            ["ferrite", "-M", "ppce500", "-kernel", "k.elf", "-m", "256", "-nographic", "-append", "-x", "-d", "in_asm"]
                .map(String::from),
        );
        let cli = Cli::try_parse_from(args).unwrap();
        assert_eq!(cli.kernel.unwrap().to_str(), Some("k.elf"));
        assert!(cli.nographic);
        assert_eq!(cli.append.as_deref(), Some("-x"));
        assert_eq!(cli.log.as_deref(), Some("in_asm"));
        assert_eq!(parse_size(&cli.memory), Ok(256 << 20));
    }

    #[test]
    fn name_spellings() {
        assert_eq!(parse_name("vm1"), Ok("vm1".into()));
        assert_eq!(parse_name("guest=vm2,process=ferrite-vm2,debug-threads=on"), Ok("vm2".into()));
        assert!(parse_name("process=x").unwrap_err().contains("no name"));
        assert!(parse_name("vm,color=red").unwrap_err().contains("unknown option 'color=red'"));
    }

    #[test]
    fn smp_spellings() {
        assert_eq!(parse_smp("4"), Ok(4));
        assert_eq!(parse_smp("cpus=2"), Ok(2));
        assert_eq!(parse_smp("2,sockets=1,cores=2,threads=1"), Ok(2));
        assert_eq!(parse_smp("cores=4"), Ok(4));
        assert_eq!(parse_smp("maxcpus=3"), Ok(3));
        for (spec, says) in [
            ("0", "not a positive number"),
            ("two", "not a positive number"),
            ("2,threads=2", "one thread each"),
            ("4,cores=2", "is 2, not the 4 CPUs"),
            ("2,maxcpus=4", "no CPU hot-plug"),
            ("2,dies=1", "unknown option 'dies'"),
            ("2,4", "not KEY=VALUE"),
        ] {
            let e = parse_smp(spec).unwrap_err();
            assert!(e.contains(says), "{spec}: {e}");
        }
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("1G"), Ok(1 << 30));
        assert_eq!(parse_size("512M"), Ok(512 << 20));
        assert_eq!(parse_size("64MiB"), Ok(64 << 20));
        assert!(parse_size("lots").is_err());
    }
}
