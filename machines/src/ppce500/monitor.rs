//! gdb's `monitor` commands (qRcmd), QEMU's names: `info registers`, `info tlb`, `info mtree`,
//! `system_reset`, `quit`, plus `physical on|off` for the memory view.

use super::gdb::{Session, SessionError};

const HELP: &str = "\
info registers    the CPU registers (QEMU's layout)
info tlb          the valid entries of TLB0 and TLB1
info mtree        the physical address map
system_reset      reset the machine (the CPU stays stopped at the reset state)
physical on|off   memory reads and writes use physical (on) or virtual addresses (off, default)
quit              stop ferrite
help              this list
";

/// Runs monitor command `cmd`; returns its output.
pub(crate) fn run(session: &mut Session<'_>, cmd: &str) -> Result<String, SessionError> {
    let words: Vec<&str> = cmd.split_whitespace().collect();
    Ok(match words.as_slice() {
        [] | ["help"] | ["?"] => HELP.to_string(),
        ["info", "registers"] | ["info", "reg"] | ["info", "r"] => session.board().info_registers(0),
        ["info", "tlb"] => session.board().info_tlb(0),
        ["info", "mtree"] => session.board().info_mtree(),
        ["system_reset"] => {
            session.board().debug_reset()?;
            "machine reset (run 'maintenance flush register-cache' to see the new registers)\n".to_string()
        }
        ["physical", "on"] => {
            session.physical = true;
            "memory accesses use physical addresses\n".to_string()
        }
        ["physical", "off"] => {
            session.physical = false;
            "memory accesses use virtual addresses\n".to_string()
        }
        ["physical"] => format!("memory accesses use {} addresses\n", if session.physical { "physical" } else { "virtual" }),
        ["quit"] | ["q"] => return Err(SessionError::Quit),
        ["info", what] => format!("unknown info command '{what}' (try: info registers, info tlb, info mtree)\n"),
        _ => format!("unknown command '{cmd}'; 'monitor help' lists the commands\n"),
    })
}
