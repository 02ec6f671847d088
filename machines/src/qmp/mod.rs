//! QMP, QEMU's machine protocol (`-qmp unix:PATH,server,nowait` or `tcp:[HOST]:PORT,...`):
//! JSON commands and events over a socket, for scripts and test harnesses.
//!
//! A listener thread serves one client at a time (later ones wait in the backlog, as with
//! QEMU's chardev): it sends the greeting, negotiates capabilities itself and hands every
//! other command to the machine loop as [`HostEvent::Qmp`]. The machine writes the response
//! on its own thread (so a `quit`'s answer is out before the process ends) and only then does
//! the listener read the next command, so responses keep the commands' order. Events
//! ([`QmpServer::emit`]) go to the client once it has negotiated.

mod protocol;

pub use protocol::{version, QmpError, Request};

use crate::host::{HostEvent, HostEvents};
use protocol::{Piece, Splitter};
use serde_json::{json, Value};
use std::io::{Read, Write};
use std::net::TcpListener;
use std::os::unix::net::UnixListener;
use std::path::PathBuf;
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex};

/// Where QMP listens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum QmpAddr {
    /// A Unix socket path.
    Unix(PathBuf),
    /// A TCP host (empty: every address, as QEMU) and port.
    Tcp(String, u16),
}

impl std::fmt::Display for QmpAddr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            QmpAddr::Unix(p) => write!(f, "unix:{}", p.display()),
            QmpAddr::Tcp(h, p) => write!(f, "tcp:{h}:{p}"),
        }
    }
}

type Writer = Arc<Mutex<Box<dyn Write + Send>>>;

/// The longest request taken: a client that sends more without closing its object is cut off.
const MAX_REQUEST: usize = 1 << 20;

/// A command for the machine, with the way back to its client.
pub struct QmpCall {
    /// The command.
    pub request: Request,
    out: Writer,
    done: mpsc::Sender<()>,
}

impl std::fmt::Debug for QmpCall {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "QmpCall({:?})", self.request.execute)
    }
}

impl QmpCall {
    /// Sends the command's response; the listener then reads the next command.
    pub fn reply(self, result: Result<Value, QmpError>) {
        let id = self.request.id.clone();
        let msg = match &result {
            Ok(v) => protocol::success(v.clone(), id),
            Err(e) => protocol::failure(e, id),
        };
        send(&self.out, &msg);
        let _ = self.done.send(());
    }
}

fn send(out: &Writer, msg: &Value) {
    let mut w = out.lock().unwrap();
    if w.write_all(&protocol::encode(msg)).and_then(|_| w.flush()).is_err() {
        tracing::debug!(target: "qmp", "client gone");
    }
}

/// The QMP socket of a machine.
pub struct QmpServer {
    addr: QmpAddr,
    events: Arc<HostEvents>,
    /// The client that negotiated capabilities: where events go.
    client: Mutex<Option<Writer>>,
    /// Whether a client has ever connected (for `wait=on`).
    connected: (Mutex<bool>, Condvar),
}

enum Listener {
    Tcp(TcpListener),
    Unix(UnixListener),
}

impl QmpServer {
    /// Binds `addr` and starts serving in the background.
    pub fn start(addr: QmpAddr, events: Arc<HostEvents>) -> Result<Arc<QmpServer>, String> {
        let err = |e: std::io::Error| format!("-qmp {addr}: cannot listen: {e}");
        let listener = match &addr {
            QmpAddr::Tcp(h, p) => {
                let host = if h.is_empty() { "0.0.0.0" } else { h.trim_start_matches('[').trim_end_matches(']') };
                Listener::Tcp(TcpListener::bind((host, *p)).map_err(err)?)
            }
            QmpAddr::Unix(path) => {
                // A stale socket file from an earlier run is replaced, anything else is not.
                if std::fs::symlink_metadata(path).is_ok_and(|m| std::os::unix::fs::FileTypeExt::is_socket(&m.file_type())) {
                    let _ = std::fs::remove_file(path);
                }
                Listener::Unix(UnixListener::bind(path).map_err(err)?)
            }
        };
        let server = Arc::new(QmpServer { addr, events, client: Mutex::new(None), connected: (Mutex::new(false), Condvar::new()) });
        let s = server.clone();
        std::thread::Builder::new()
            .name("ferrite-qmp".into())
            .spawn(move || s.accept_loop(listener))
            .map_err(|e| format!("cannot start the QMP thread: {e}"))?;
        Ok(server)
    }

    /// Where it listens.
    pub fn addr(&self) -> &QmpAddr {
        &self.addr
    }

    /// Blocks until a client has connected (or the host asks to quit).
    pub fn wait_for_client(&self) {
        let (m, c) = &self.connected;
        let mut g = m.lock().unwrap();
        while !*g && !self.events.quit_requested() {
            g = c.wait_timeout(g, std::time::Duration::from_millis(50)).unwrap().0;
        }
    }

    /// Sends event `name` (with `data`) to the client, if one has negotiated.
    pub fn emit(&self, name: &str, data: Option<Value>) {
        if let Some(out) = self.client.lock().unwrap().clone() {
            send(&out, &protocol::event(name, data));
        }
    }

    /// The machine goes away: a Unix socket's file is removed.
    pub fn close(&self) {
        if let QmpAddr::Unix(path) = &self.addr {
            let _ = std::fs::remove_file(path);
        }
    }

    fn accept_loop(&self, listener: Listener) {
        loop {
            let conn: std::io::Result<(Box<dyn Read + Send>, Box<dyn Write + Send>)> = match &listener {
                Listener::Tcp(l) => l.accept().and_then(|(s, _)| Ok((Box::new(s.try_clone()?) as _, Box::new(s) as _))),
                Listener::Unix(l) => l.accept().and_then(|(s, _)| Ok((Box::new(s.try_clone()?) as _, Box::new(s) as _))),
            };
            let (reader, writer) = match conn {
                Ok(c) => c,
                Err(e) => {
                    tracing::warn!(target: "qmp", "accept failed: {e}");
                    std::thread::sleep(std::time::Duration::from_millis(100));
                    continue;
                }
            };
            {
                let (m, c) = &self.connected;
                *m.lock().unwrap() = true;
                c.notify_all();
            }
            tracing::info!(target: "qmp", "client connected");
            let writer: Writer = Arc::new(Mutex::new(writer));
            if !self.serve(reader, &writer) {
                return;
            }
            *self.client.lock().unwrap() = None;
            tracing::info!(target: "qmp", "client disconnected");
        }
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
                let (done, answered) = mpsc::channel();
                self.events.push(HostEvent::Qmp(QmpCall { request: req, out: writer.clone(), done }));
                if answered.recv().is_err() {
                    // The machine dropped the call unanswered: it is shutting down.
                    return false;
                }
            }
        }
    }
}
