//! The sockets through which scripts control the machine (QMP, the monitor): a listener thread
//! that serves one client at a time (later ones wait in the backlog, as with QEMU's chardevs),
//! the wait for a first client (`wait=on`), and the way back from the machine thread.

use crate::host::HostEvents;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::os::unix::net::UnixListener;
use std::path::PathBuf;
use std::sync::{mpsc, Arc, Condvar, Mutex};
use std::time::Duration;

/// Where a control socket listens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ControlAddr {
    /// A Unix socket path.
    Unix(PathBuf),
    /// A TCP host (empty: every address, as QEMU) and port.
    Tcp(String, u16),
}

impl std::fmt::Display for ControlAddr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ControlAddr::Unix(p) => write!(f, "unix:{}", p.display()),
            ControlAddr::Tcp(h, p) => write!(f, "tcp:{h}:{p}"),
        }
    }
}

/// A control socket to open, and whether the machine waits for a client before it starts
/// (QEMU's `wait=on`, the default for a server socket).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ControlListen {
    /// The socket.
    pub addr: ControlAddr,
    /// Wait for the first client.
    pub wait: bool,
}

/// The writing half of a client's connection, shared with the machine thread.
pub(crate) type Writer = Arc<Mutex<Box<dyn Write + Send>>>;

/// Writes `bytes` to the client; a client that went away is only logged.
pub(crate) fn send(out: &Writer, bytes: &[u8]) {
    let mut w = out.lock().unwrap();
    if w.write_all(bytes).and_then(|_| w.flush()).is_err() {
        tracing::debug!(target: "control", "client gone");
    }
}

/// A request on its way to the machine thread, with the way back to its client. The listener
/// reads the client's next request only once the machine has answered this one, so answers
/// keep the requests' order.
pub struct Call<T> {
    /// What the client asked.
    pub request: T,
    out: Writer,
    done: mpsc::Sender<()>,
}

impl<T> Call<T> {
    /// A call for `request` from the client writing to `out`, and what the listener waits on
    /// (an error: the machine dropped the call unanswered, it is going away).
    pub(crate) fn new(request: T, out: &Writer) -> (Call<T>, mpsc::Receiver<()>) {
        let (done, answered) = mpsc::channel();
        (Call { request, out: out.clone(), done }, answered)
    }

    /// Sends the answer's bytes and lets the listener go on.
    pub(crate) fn answer(self, bytes: &[u8]) {
        send(&self.out, bytes);
        let _ = self.done.send(());
    }
}

impl<T: std::fmt::Debug> std::fmt::Debug for Call<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Call({:?})", self.request)
    }
}

/// Serves one connected client until it hangs up; returns false when the machine is gone.
pub(crate) type Serve = Box<dyn Fn(Box<dyn Read + Send>, &Writer) -> bool + Send>;

/// A listening control socket.
pub(crate) struct ControlSocket {
    addr: ControlAddr,
    /// The option that opened it (for messages).
    option: &'static str,
    /// The machine waits for a first client before it starts (`wait=on`).
    wait: bool,
    events: Arc<HostEvents>,
    /// Whether a client has ever connected.
    connected: (Mutex<bool>, Condvar),
}

impl ControlSocket {
    /// Binds `listen`'s socket (`option` names it in messages and the thread) and serves
    /// clients with `serve` in the background.
    pub(crate) fn start(listen: &ControlListen, option: &'static str, events: Arc<HostEvents>, serve: Serve) -> Result<Arc<ControlSocket>, String> {
        let addr = listen.addr.clone();
        let err = |e: std::io::Error| format!("{option} {addr}: cannot listen: {e}");
        let listener = match &addr {
            ControlAddr::Tcp(h, p) => {
                let host = if h.is_empty() { "0.0.0.0" } else { h.trim_start_matches('[').trim_end_matches(']') };
                Listener::Tcp(TcpListener::bind((host, *p)).map_err(err)?)
            }
            ControlAddr::Unix(path) => {
                // A stale socket file from an earlier run is replaced, anything else is not.
                if std::fs::symlink_metadata(path).is_ok_and(|m| std::os::unix::fs::FileTypeExt::is_socket(&m.file_type())) {
                    let _ = std::fs::remove_file(path);
                }
                Listener::Unix(UnixListener::bind(path).map_err(err)?)
            }
        };
        let socket = Arc::new(ControlSocket { addr, option, wait: listen.wait, events, connected: (Mutex::new(false), Condvar::new()) });
        let s = socket.clone();
        std::thread::Builder::new()
            .name(format!("ferrite{option}"))
            .spawn(move || s.accept_loop(listener, serve))
            .map_err(|e| format!("cannot start the {option} thread: {e}"))?;
        Ok(socket)
    }

    /// With `wait=on`, blocks until a client has connected (or the host asks to quit).
    pub(crate) fn hold_until_client(&self) {
        if !self.wait {
            return;
        }
        tracing::info!("{}: waiting for a client on {}", self.option, self.addr);
        let (m, c) = &self.connected;
        let mut g = m.lock().unwrap();
        while !*g && !self.events.quit_requested() {
            g = c.wait_timeout(g, Duration::from_millis(50)).unwrap().0;
        }
    }

    /// The machine goes away: a Unix socket's file is removed.
    pub(crate) fn close(&self) {
        if let ControlAddr::Unix(path) = &self.addr {
            let _ = std::fs::remove_file(path);
        }
    }

    fn accept_loop(&self, listener: Listener, serve: Serve) {
        loop {
            let conn: std::io::Result<(Box<dyn Read + Send>, Box<dyn Write + Send>)> = match &listener {
                Listener::Tcp(l) => l.accept().and_then(|(s, _)| Ok((Box::new(s.try_clone()?) as _, Box::new(s) as _))),
                Listener::Unix(l) => l.accept().and_then(|(s, _)| Ok((Box::new(s.try_clone()?) as _, Box::new(s) as _))),
            };
            let (reader, writer) = match conn {
                Ok(c) => c,
                Err(e) => {
                    tracing::warn!(target: "control", "{}: accept failed: {e}", self.addr);
                    std::thread::sleep(Duration::from_millis(100));
                    continue;
                }
            };
            {
                let (m, c) = &self.connected;
                *m.lock().unwrap() = true;
                c.notify_all();
            }
            tracing::info!(target: "control", "{}: client connected", self.addr);
            let writer: Writer = Arc::new(Mutex::new(writer));
            if !serve(reader, &writer) {
                return;
            }
            tracing::info!(target: "control", "{}: client disconnected", self.addr);
        }
    }
}

enum Listener {
    Tcp(TcpListener),
    Unix(UnixListener),
}
