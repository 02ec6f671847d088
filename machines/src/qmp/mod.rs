//! QMP, QEMU's machine protocol (`-qmp unix:PATH,server,nowait` or `tcp:[HOST]:PORT,...`):
//! JSON commands and events over a socket, for scripts and test harnesses.
//!
//! The listener (`crate::control`) serves one client at a time: this module sends the
//! greeting, negotiates capabilities itself and hands every other command to the machine loop
//! as [`HostEvent::Qmp`]. The machine writes the response
//! on its own thread (so a `quit`'s answer is out before the process ends) and only then does
//! the listener read the next command, so responses keep the commands' order. Events
//! ([`QmpServer::emit`]) go to the client once it has negotiated.

mod protocol;

pub use protocol::{version, QmpError, Request};

use crate::control::{self, Call, ControlListen, ControlSocket, Writer};
use crate::host::{HostEvent, HostEvents};
use protocol::{Piece, Splitter};
use serde_json::{json, Value};
use std::io::Read;
use std::sync::{Arc, Mutex, OnceLock};

/// The longest request taken: a client that sends more without closing its object is cut off.
const MAX_REQUEST: usize = 1 << 20;

/// A QMP command for the machine, answered through [`QmpCall::reply`].
pub type QmpCall = Call<Request>;

impl QmpCall {
    /// Sends the command's response; the listener then reads the next command.
    pub fn reply(self, result: Result<Value, QmpError>) {
        let id = self.request.id.clone();
        let msg = match &result {
            Ok(v) => protocol::success(v.clone(), id),
            Err(e) => protocol::failure(e, id),
        };
        self.answer(&protocol::encode(&msg));
    }
}

fn send(out: &Writer, msg: &Value) {
    control::send(out, &protocol::encode(msg));
}

/// The QMP socket of a machine.
pub struct QmpServer {
    events: Arc<HostEvents>,
    /// The client that negotiated capabilities: where events go.
    client: Mutex<Option<Writer>>,
    socket: OnceLock<Arc<ControlSocket>>,
}

impl QmpServer {
    /// Binds `listen`'s socket and starts serving in the background.
    pub fn start(listen: &ControlListen, events: Arc<HostEvents>) -> Result<Arc<QmpServer>, String> {
        let server = Arc::new(QmpServer { events: events.clone(), client: Mutex::new(None), socket: OnceLock::new() });
        let s = server.clone();
        let socket = ControlSocket::start(
            listen,
            "-qmp",
            events,
            Box::new(move |reader, writer| {
                let go_on = s.serve(reader, writer);
                *s.client.lock().unwrap() = None;
                go_on
            }),
        )?;
        let _ = server.socket.set(socket);
        Ok(server)
    }

    fn socket(&self) -> &ControlSocket {
        self.socket.get().expect("set at start")
    }

    /// With `wait=on`, blocks until a client has connected (or the host asks to quit).
    pub fn hold_until_client(&self) {
        self.socket().hold_until_client();
    }

    /// Sends event `name` (with `data`) to the client, if one has negotiated.
    pub fn emit(&self, name: &str, data: Option<Value>) {
        if let Some(out) = self.client.lock().unwrap().clone() {
            send(&out, &protocol::event(name, data));
        }
    }

    /// The machine goes away: a Unix socket's file is removed.
    pub fn close(&self) {
        self.socket().close();
    }

    /// Serves one client until it hangs up. Returns false when the machine is gone.
    fn serve(&self, mut reader: Box<dyn Read + Send>, writer: &Writer) -> bool {
        send(writer, &protocol::greeting());
        let mut negotiated = false;
        let mut splitter = Splitter::default();
        let mut buf = [0u8; 4096];
        loop {
            let n = match reader.read(&mut buf) {
                Ok(0) | Err(_) => return true,
                Ok(n) => n,
            };
            splitter.push(&buf[..n]);
            if splitter.pending() > MAX_REQUEST {
                let e = QmpError::generic(format!("JSON parse error, request longer than {MAX_REQUEST} bytes"));
                send(writer, &protocol::failure(&e, None));
                return true;
            }
            while let Some(piece) = splitter.next_piece() {
                let bytes = match piece {
                    Piece::Junk(j) => {
                        let e = QmpError::generic(format!("JSON parse error, unexpected input '{}'", String::from_utf8_lossy(&j)));
                        send(writer, &protocol::failure(&e, None));
                        continue;
                    }
                    Piece::Object(o) => o,
                };
                let req = match protocol::parse_request(&bytes) {
                    Ok(r) => r,
                    Err((e, id)) => {
                        send(writer, &protocol::failure(&e, id));
                        continue;
                    }
                };
                if req.execute == "qmp_capabilities" {
                    let r = if negotiated {
                        Err(QmpError { class: "CommandNotFound", desc: "Capabilities negotiation is already complete, command ignored".into() })
                    } else if req.arguments.get("enable").and_then(Value::as_array).is_some_and(|a| !a.is_empty()) {
                        Err(QmpError::generic("Capability 'oob' not available"))
                    } else {
                        negotiated = true;
                        *self.client.lock().unwrap() = Some(writer.clone());
                        Ok(json!({}))
                    };
                    send(writer, &match r {
                        Ok(v) => protocol::success(v, req.id),
                        Err(e) => protocol::failure(&e, req.id),
                    });
                    continue;
                }
                if !negotiated {
                    let e = QmpError { class: "CommandNotFound", desc: "Expecting capabilities negotiation with 'qmp_capabilities'".into() };
                    send(writer, &protocol::failure(&e, req.id));
                    continue;
                }
                let (call, answered) = Call::new(req, writer);
                self.events.push(HostEvent::Qmp(call));
                if answered.recv().is_err() {
                    // The machine dropped the call unanswered: it is shutting down.
                    return false;
                }
            }
        }
    }
}
