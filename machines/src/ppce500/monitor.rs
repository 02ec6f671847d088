//! The monitor's commands, QEMU's names, for both ways in: gdb's `monitor` (qRcmd) and the
//! console's Ctrl-A C (and QMP's `human-monitor-command`). `info registers`, `info tlb`,
//! `info mtree`, `info status`, `info cpus`, `cpu N`, `stop`, `cont`, `system_reset`, `quit`, `help`;
//! under gdb also `physical on|off` for the memory view.

use super::{BoardError, Ppce500};

const HELP: &str = "\
info registers    the CPU registers (QEMU's layout)
info tlb          the valid entries of TLB0 and TLB1
info mtree        the physical address map
info status       running or paused
info cpus         each CPU's PC and whether it waits (* marks the monitor's CPU)
cpu N             the CPU that info registers and info tlb show
stop              stop the CPUs (virtual time stops too)
cont | c          start them again
system_reset      reset the machine
quit              stop ferrite
help              this list
";

const HELP_GDB: &str = "physical on|off   memory reads and writes use physical (on) or virtual addresses (off, default)\n";

/// What a command asks of its caller besides printing.
pub(crate) enum Reply {
    /// Print this.
    Text(String),
    /// Stop ferrite.
    Quit,
}

/// Where the command came from: the gdb session carries its memory view.
pub(crate) enum Origin<'a> {
    /// The console (Ctrl-A C).
    Console,
    /// gdb, with the session's physical-addressing flag.
    Gdb {
        /// Memory accesses use physical addresses.
        physical: &'a mut bool,
    },
}

/// Runs monitor command `cmd` on `board`.
pub(crate) fn execute(board: &mut Ppce500, origin: Origin<'_>, cmd: &str) -> Result<Reply, BoardError> {
    let words: Vec<&str> = cmd.split_whitespace().collect();
    let text = match (words.as_slice(), origin) {
        ([] | ["help"] | ["?"], Origin::Console) => HELP.to_string(),
        ([] | ["help"] | ["?"], Origin::Gdb { .. }) => format!("{HELP}{HELP_GDB}"),
        (["info", "registers"] | ["info", "reg"] | ["info", "r"], _) => board.info_registers(board.monitor_cpu),
        (["info", "tlb"], _) => board.info_tlb(board.monitor_cpu),
        (["cpu", n], _) => match n.parse::<usize>().ok().filter(|&i| i < board.cpu_count()) {
            Some(i) => {
                board.monitor_cpu = i;
                String::new()
            }
            None => format!("invalid CPU index '{n}' (0 to {})\n", board.cpu_count() - 1),
        },
        (["info", "mtree"], _) => board.info_mtree(),
        (["info", "status"], _) => format!("VM status: {}\n", board.status_text()),
        (["info", "cpus"], _) => board.info_cpus(),
        (["stop"], Origin::Console) => {
            board.pause();
            String::new()
        }
        (["cont"] | ["c"], Origin::Console) => {
            board.resume();
            String::new()
        }
        (["stop"] | ["cont"] | ["c"], Origin::Gdb { .. }) => "gdb runs and stops the CPUs itself (continue, Ctrl-C)\n".to_string(),
        (["system_reset"], Origin::Console) => {
            board.request_reset();
            String::new()
        }
        (["system_reset"], Origin::Gdb { .. }) => {
            board.debug_reset()?;
            "machine reset (run 'maintenance flush register-cache' to see the new registers)\n".to_string()
        }
        (["physical", onoff @ ("on" | "off")], Origin::Gdb { physical }) => {
            *physical = *onoff == "on";
            format!("memory accesses use {} addresses\n", if *physical { "physical" } else { "virtual" })
        }
        (["physical"], Origin::Gdb { physical }) => format!("memory accesses use {} addresses\n", if *physical { "physical" } else { "virtual" }),
        (["quit"] | ["q"], _) => return Ok(Reply::Quit),
        (["info", what], _) => format!("unknown info command '{what}' (try: info registers, info tlb, info mtree, info status, info cpus)\n"),
        _ => format!("unknown command '{cmd}'; 'help' lists the commands\n"),
    };
    Ok(Reply::Text(text))
}
