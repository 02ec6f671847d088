//! The monitor on a socket (`-monitor unix:PATH,server,nowait` or `tcp:[HOST]:PORT,...`), as
//! scripts drive QEMU's human monitor: a banner and a `(qemu) ` prompt, one command a line,
//! its output, the prompt again. The commands are the console monitor's
//! (`machines/src/ppce500/monitor.rs`); each line is run by the machine loop between turns
//! ([`HostEvent::MonitorCall`]), which writes the output, so lines are answered in order.

use crate::control::{self, Call, ControlListen, ControlSocket, Writer};
use crate::host::{HostEvent, HostEvents};
use std::io::Read;
use std::sync::Arc;

/// QEMU's prompt.
pub const PROMPT: &str = "(qemu) ";

/// The longest line taken: a client that sends more without a newline is cut off.
const MAX_LINE: usize = 64 << 10;

/// A monitor command line for the machine, answered through [`MonitorCall::reply`].
pub type MonitorCall = Call<String>;

impl MonitorCall {
    /// Sends the command's output (with CR LF line ends, as QEMU's) and the next prompt.
    pub fn reply(self, text: &str) {
        let mut out = text.replace('\n', "\r\n");
        out.push_str(PROMPT);
        self.answer(out.as_bytes());
    }
}

/// The monitor socket of a machine.
pub struct MonitorServer {
    socket: Arc<ControlSocket>,
}

impl MonitorServer {
    /// Binds `listen`'s socket and starts serving in the background.
    pub fn start(listen: &ControlListen, events: Arc<HostEvents>) -> Result<MonitorServer, String> {
        let ev = events.clone();
        let socket = ControlSocket::start(listen, "-monitor", events, Box::new(move |reader, writer| serve(&ev, reader, writer)))?;
        Ok(MonitorServer { socket })
    }

    /// With `wait=on`, blocks until a client has connected (or the host asks to quit).
    pub fn hold_until_client(&self) {
        self.socket.hold_until_client();
    }

    /// The machine goes away: a Unix socket's file is removed.
    pub fn close(&self) {
        self.socket.close();
    }
}

/// Serves one client until it hangs up; returns false when the machine is gone.
fn serve(events: &HostEvents, mut reader: Box<dyn Read + Send>, writer: &Writer) -> bool {
    control::send(writer, format!("QEMU 7.2.0 monitor (ferrite) - type 'help' for more information\r\n{PROMPT}").as_bytes());
    let mut pending = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) | Err(_) => return true,
            Ok(n) => n,
        };
        pending.extend_from_slice(&buf[..n]);
        while let Some(end) = pending.iter().position(|&b| b == b'\n') {
            let raw: Vec<u8> = pending.drain(..=end).collect();
            let line = String::from_utf8_lossy(&raw).trim().to_string();
            if line.is_empty() {
                control::send(writer, PROMPT.as_bytes());
                continue;
            }
            let (call, answered) = Call::new(line, writer);
            events.push(HostEvent::MonitorCall(call));
            if answered.recv().is_err() {
                return false;
            }
        }
        if pending.len() > MAX_LINE {
            control::send(writer, format!("line longer than {MAX_LINE} bytes: dropped\r\n{PROMPT}").as_bytes());
            pending.clear();
        }
    }
}
