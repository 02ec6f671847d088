//! The QMP commands this board answers (`crate::qmp` carries them here), with QEMU's names,
//! arguments and replies, and the run states they move between.

use super::{monitor, Ppce500};
use crate::qmp::{QmpCall, QmpError};
use serde_json::{json, Map, Value};

/// The commands, for `query-commands` and the error for others.
const COMMANDS: &[&str] = &[
    "qmp_capabilities",
    "query-commands",
    "query-version",
    "query-status",
    "query-name",
    "query-target",
    "query-kvm",
    "query-cpus-fast",
    "stop",
    "cont",
    "system_reset",
    "system_powerdown",
    "quit",
    "human-monitor-command",
    "pmemsave",
    "memsave",
];

/// Whether the machine runs, and if not, why (QMP's `RunState` names).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RunState {
    /// Started with `-S`: nothing has run yet.
    Prelaunch,
    /// Stopped by `stop`.
    Paused,
    /// Running.
    Running,
}

impl RunState {
    fn name(self) -> &'static str {
        match self {
            RunState::Prelaunch => "prelaunch",
            RunState::Paused => "paused",
            RunState::Running => "running",
        }
    }
}

/// The most a `pmemsave` or `memsave` writes.
const MAX_SAVE: u64 = 1 << 32;

/// What a `pmemsave` or `memsave` reads and writes at a time.
const SAVE_CHUNK: u64 = 1 << 20;

impl Ppce500 {
    /// Runs one QMP command and answers it.
    pub(crate) fn qmp_call(&mut self, call: QmpCall) {
        let r = self.qmp_command(&call.request.execute, &call.request.arguments);
        call.reply(r);
    }

    fn qmp_command(&mut self, name: &str, args: &Map<String, Value>) -> Result<Value, QmpError> {
        let allowed: &[&str] = match name {
            "human-monitor-command" => &["command-line", "cpu-index"],
            "pmemsave" => &["val", "size", "filename"],
            "memsave" => &["val", "size", "filename", "cpu-index"],
            _ => &[],
        };
        if let Some(k) = args.keys().find(|k| !allowed.contains(&k.as_str())) {
            return Err(QmpError::generic(format!("Parameter '{k}' is unexpected")));
        }
        Ok(match name {
            "query-commands" => Value::Array(COMMANDS.iter().map(|c| json!({ "name": c })).collect()),
            "query-version" => crate::qmp::version(),
            "query-status" => {
                let s = self.run_state;
                json!({ "running": s == RunState::Running, "singlestep": false, "status": s.name() })
            }
            "query-name" => self.name.as_ref().map_or(json!({}), |n| json!({ "name": n })),
            "query-target" => json!({ "arch": "ppc" }),
            "query-kvm" => json!({ "enabled": false, "present": false }),
            "query-cpus-fast" => Value::Array(
                (0..self.cpus.len())
                    .map(|i| {
                        json!({ "cpu-index": i, "qom-path": format!("/machine/unattached/device[{i}]"), "thread-id": thread_id(), "props": { "core-id": i }, "target": "ppc" })
                    })
                    .collect(),
            ),
            "stop" => {
                self.pause();
                json!({})
            }
            "cont" => {
                self.resume();
                json!({})
            }
            "system_reset" => {
                self.request_reset();
                json!({})
            }
            "system_powerdown" => {
                // QEMU's ppce500 has no power button either: the event, and nothing else.
                self.qmp_event("POWERDOWN", None);
                json!({})
            }
            "quit" => {
                self.qmp_quit();
                json!({})
            }
            "human-monitor-command" => {
                let line = str_arg(args, "command-line")?;
                // `cpu-index` picks the CPU for this command only, as QEMU's does.
                let saved = self.monitor_cpu;
                self.monitor_cpu = self.cpu_index_arg(args)?.unwrap_or(saved);
                let reply = monitor::execute(self, monitor::Origin::Console, line);
                self.monitor_cpu = saved;
                match reply.map_err(|e| QmpError::generic(e.to_string()))? {
                    monitor::Reply::Text(t) => Value::String(t),
                    monitor::Reply::Quit => {
                        self.qmp_quit();
                        Value::String(String::new())
                    }
                }
            }
            "pmemsave" | "memsave" => {
                let (addr, size) = (u64_arg(args, "val")?, u64_arg(args, "size")?);
                let path = str_arg(args, "filename")?;
                let cpu = self.cpu_index_arg(args)?.unwrap_or(0);
                self.save_memory(addr, size, path, name == "pmemsave", cpu)?;
                json!({})
            }
            _ => return Err(QmpError { class: "CommandNotFound", desc: format!("The command {name} has not been found") }),
        })
    }

    /// The optional `cpu-index` argument, checked against the board's CPUs.
    fn cpu_index_arg(&self, args: &Map<String, Value>) -> Result<Option<usize>, QmpError> {
        args.get("cpu-index")
            .map(|v| v.as_u64().map(|c| c as usize).filter(|&c| c < self.cpus.len()).ok_or_else(|| QmpError::generic("Invalid parameter 'cpu-index'")))
            .transpose()
    }

    /// Ends the run at QMP's request (`quit`, or the monitor's through `human-monitor-command`).
    fn qmp_quit(&mut self) {
        self.quit_reason = "host-qmp-quit";
        self.events.request_quit();
    }

    /// `pmemsave` (physical) / `memsave` (virtual, through CPU `cpu`'s MMU): `size` bytes at
    /// `addr` into the file `path`, streamed a chunk at a time into a file beside it that
    /// replaces `path` only once complete: bytes that nothing backs fail the command and leave
    /// `path` as it was.
    fn save_memory(&self, addr: u64, size: u64, path: &str, physical: bool, cpu: usize) -> Result<(), QmpError> {
        if size > MAX_SAVE || addr.checked_add(size).is_none() {
            return Err(QmpError::generic(format!("Invalid parameter 'size': {size} bytes at {addr:#x}")));
        }
        let part = format!("{path}.part-{}", std::process::id());
        let write_err = |e: std::io::Error| QmpError::generic(format!("Could not write '{path}': {e}"));
        let result = (|| {
            let mut out = std::io::BufWriter::new(std::fs::File::create(&part).map_err(write_err)?);
            let mut chunk = vec![0u8; SAVE_CHUNK.min(size) as usize];
            let mut at = addr;
            while at < addr + size {
                let n = SAVE_CHUNK.min(addr + size - at) as usize;
                let got = self.debug_read(cpu, at, &mut chunk[..n], physical);
                if got < n {
                    let kind = if physical { "physical" } else { "virtual" };
                    return Err(QmpError::generic(format!("Invalid addr {addr:#x}/size {size}: nothing at {kind} address {:#x}", at + got as u64)));
                }
                std::io::Write::write_all(&mut out, &chunk[..n]).map_err(write_err)?;
                at += n as u64;
            }
            out.into_inner().map_err(|e| write_err(e.into_error()))?;
            std::fs::rename(&part, path).map_err(write_err)
        })();
        if result.is_err() {
            let _ = std::fs::remove_file(&part);
        }
        result
    }

    /// Stops the CPUs (and virtual time) until [`Self::resume`].
    pub(crate) fn pause(&mut self) {
        if self.run_state == RunState::Running {
            self.run_state = RunState::Paused;
            self.clock.pause();
            self.qmp_event("STOP", None);
        }
    }

    /// Lets the CPUs run again.
    pub(crate) fn resume(&mut self) {
        if self.run_state != RunState::Running {
            self.run_state = RunState::Running;
            self.clock.resume();
            self.qmp_event("RESUME", None);
        }
    }

    /// `info status`'s word for the run state.
    pub(crate) fn status_text(&self) -> &'static str {
        match self.run_state {
            RunState::Running => "running",
            RunState::Paused => "paused",
            RunState::Prelaunch => "paused (prelaunch)",
        }
    }

    /// `info cpus`: each CPU's PC, and whether it waits (halted).
    pub(crate) fn info_cpus(&self) -> String {
        self.cpus
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{}CPU #{i}: pc=0x{:08x}{}\n", if i == self.monitor_cpu { "* " } else { "  " }, c.hdr.pc, if c.halted { " (halted)" } else { "" }))
            .collect()
    }

    /// Sends a QMP event, if a QMP client listens.
    pub(crate) fn qmp_event(&self, name: &str, data: Option<Value>) {
        if let Some(q) = &self.qmp {
            q.emit(name, data);
        }
    }
}

fn str_arg<'a>(args: &'a Map<String, Value>, key: &str) -> Result<&'a str, QmpError> {
    match args.get(key) {
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(QmpError::generic(format!("Invalid parameter type for '{key}', expected: string"))),
        None => Err(QmpError::generic(format!("Parameter '{key}' is missing"))),
    }
}

fn u64_arg(args: &Map<String, Value>, key: &str) -> Result<u64, QmpError> {
    match args.get(key) {
        Some(v) => v.as_u64().ok_or_else(|| QmpError::generic(format!("Invalid parameter type for '{key}', expected: integer"))),
        None => Err(QmpError::generic(format!("Parameter '{key}' is missing"))),
    }
}

/// The host thread id of the thread running the CPUs (all of them).
fn thread_id() -> i64 {
    // SAFETY: gettid has no preconditions.
    unsafe { libc::syscall(libc::SYS_gettid) }
}
