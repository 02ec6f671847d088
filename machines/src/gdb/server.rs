//! The debugger's socket: a listener thread that accepts one client at a time (a second one is
//! told so and closed), and a watcher that wakes the machine when the attached client sends
//! something while the guest runs (gdb's Ctrl-C).

use crate::host::{HostEvent, HostEvents};
use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Where the stub listens (`-gdb tcp:[HOST]:PORT`, `-gdb unix:PATH`, `-s`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GdbAddr {
    /// A TCP host and port.
    Tcp(String, u16),
    /// A Unix socket path.
    Unix(PathBuf),
}

impl GdbAddr {
    /// Parses QEMU's spellings: `tcp::1234`, `tcp:HOST:PORT`, `:1234`, `1234`, `unix:PATH`.
    /// Without a host the stub listens on 127.0.0.1 only.
    pub fn parse(spec: &str) -> Result<GdbAddr, String> {
        if let Some(path) = spec.strip_prefix("unix:") {
            let path = path.split(',').next().unwrap_or("");
            if path.is_empty() {
                return Err(format!("-gdb {spec}: missing socket path"));
            }
            return Ok(GdbAddr::Unix(PathBuf::from(path)));
        }
        let rest = spec.strip_prefix("tcp:").unwrap_or(spec);
        let rest = rest.split(',').next().unwrap_or("");
        let (host, port) = match rest.rsplit_once(':') {
            Some((h, p)) => (h, p),
            None => ("", rest),
        };
        let port: u16 = port.parse().map_err(|_| format!("-gdb {spec}: '{port}' is not a port number (use tcp::PORT or unix:PATH)"))?;
        let host = if host.is_empty() { "127.0.0.1" } else { host.trim_start_matches('[').trim_end_matches(']') };
        Ok(GdbAddr::Tcp(host.to_string(), port))
    }
}

impl std::fmt::Display for GdbAddr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            GdbAddr::Tcp(h, p) => write!(f, "tcp:{h}:{p}"),
            GdbAddr::Unix(p) => write!(f, "unix:{}", p.display()),
        }
    }
}

/// A connected debugger.
pub enum Client {
    /// Over TCP.
    Tcp(TcpStream),
    /// Over a Unix socket.
    Unix(UnixStream),
}

impl Client {
    fn raw_fd(&self) -> RawFd {
        match self {
            Client::Tcp(s) => s.as_raw_fd(),
            Client::Unix(s) => s.as_raw_fd(),
        }
    }

    /// The connection as gdbstub drives it.
    pub fn into_connection(self) -> Box<dyn gdbstub::conn::ConnectionExt<Error = std::io::Error>> {
        match self {
            Client::Tcp(s) => {
                let _ = s.set_nodelay(true);
                Box::new(s)
            }
            Client::Unix(s) => Box::new(s),
        }
    }
}

enum Listener {
    Tcp(TcpListener),
    Unix(UnixListener),
}

/// The listening stub: hands one client at a time to the machine loop.
pub struct GdbServer {
    addr: GdbAddr,
    pending: Mutex<Option<Client>>,
    attached: AtomicBool,
    events: Arc<HostEvents>,
}

/// Why the stub could not listen.
#[derive(Debug, thiserror::Error)]
#[error("cannot listen for gdb on {addr}: {source}")]
pub struct ListenError {
    addr: GdbAddr,
    source: std::io::Error,
}

impl GdbServer {
    /// Binds `addr` and starts accepting in the background. A client that connects is queued
    /// for the machine loop ([`HostEvent::Debugger`]).
    pub fn start(addr: GdbAddr, events: Arc<HostEvents>) -> Result<Arc<GdbServer>, ListenError> {
        let err = |source| ListenError { addr: addr.clone(), source };
        let listener = match &addr {
            GdbAddr::Tcp(h, p) => Listener::Tcp(TcpListener::bind((h.as_str(), *p)).map_err(err)?),
            GdbAddr::Unix(path) => {
                // A stale socket file from an earlier run is replaced, anything else is not.
                if let Ok(meta) = std::fs::symlink_metadata(path) {
                    use std::os::unix::fs::FileTypeExt;
                    if meta.file_type().is_socket() {
                        let _ = std::fs::remove_file(path);
                    }
                }
                Listener::Unix(UnixListener::bind(path).map_err(err)?)
            }
        };
        let server = Arc::new(GdbServer { addr, pending: Mutex::new(None), attached: AtomicBool::new(false), events });
        let s = server.clone();
        std::thread::Builder::new()
            .name("ferrite-gdb-listen".into())
            .spawn(move || s.accept_loop(listener))
            .map_err(|e| ListenError { addr: server.addr.clone(), source: e })?;
        Ok(server)
    }

    /// Where it listens.
    pub fn addr(&self) -> &GdbAddr {
        &self.addr
    }

    fn accept_loop(&self, listener: Listener) {
        loop {
            let client = match &listener {
                Listener::Tcp(l) => l.accept().map(|(s, _)| Client::Tcp(s)),
                Listener::Unix(l) => l.accept().map(|(s, _)| Client::Unix(s)),
            };
            let client = match client {
                Ok(c) => c,
                Err(e) => {
                    tracing::warn!(target: "gdb", "accept failed: {e}");
                    std::thread::sleep(Duration::from_millis(100));
                    continue;
                }
            };
            if self.attached.swap(true, Ordering::AcqRel) {
                refuse(client);
                continue;
            }
            tracing::info!(target: "gdb", "debugger connected");
            *self.pending.lock().unwrap() = Some(client);
            self.events.push(HostEvent::Debugger);
        }
    }

    /// The client that just connected, if any.
    pub fn take_client(&self) -> Option<Client> {
        self.pending.lock().unwrap().take()
    }

    /// The session ended: the next client may attach.
    pub fn detached(&self) {
        self.attached.store(false, Ordering::Release);
    }

    /// The machine goes away: a Unix socket's file is removed (the listening thread ends with
    /// the process).
    pub fn close(&self) {
        if let GdbAddr::Unix(path) = &self.addr {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// A second debugger gets gdb's error reply to its first packet and a closed connection.
fn refuse(client: Client) {
    tracing::warn!(target: "gdb", "refused a second debugger: one is already attached");
    let msg = b"$E.a debugger is already attached#";
    let sum = msg[2..msg.len() - 1].iter().fold(0u8, |a, b| a.wrapping_add(*b));
    let reply = [msg.as_slice(), format!("{sum:02x}").as_bytes()].concat();
    let _ = match client {
        Client::Tcp(mut s) => s.write_all(&reply),
        Client::Unix(mut s) => s.write_all(&reply),
    };
}

/// Watches the attached client's socket while the guest runs: data (Ctrl-C) or a hang-up
/// wakes the machine loop with [`HostEvent::DebugInput`]. Also closes the socket when the host
/// asks to quit, so a session blocked on the client ends.
pub struct InputWatch {
    armed: Arc<AtomicBool>,
    done: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl InputWatch {
    /// Starts watching `client`'s socket (disarmed).
    pub fn start(client: &Client, events: Arc<HostEvents>) -> InputWatch {
        let fd = client.raw_fd();
        let armed = Arc::new(AtomicBool::new(false));
        let done = Arc::new(AtomicBool::new(false));
        let (a, d) = (armed.clone(), done.clone());
        let thread = std::thread::Builder::new()
            .name("ferrite-gdb-watch".into())
            .spawn(move || watch(fd, &a, &d, &events))
            .ok();
        InputWatch { armed, done, thread }
    }

    /// Report the next input (the guest is about to run).
    pub fn arm(&self) {
        self.armed.store(true, Ordering::Release);
    }

    /// Stop reporting (the stub reads the socket itself now).
    pub fn disarm(&self) {
        self.armed.store(false, Ordering::Release);
    }
}

impl Drop for InputWatch {
    fn drop(&mut self) {
        self.done.store(true, Ordering::Release);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn watch(fd: RawFd, armed: &AtomicBool, done: &AtomicBool, events: &HostEvents) {
    let mut closed = false;
    while !done.load(Ordering::Acquire) {
        if events.quit_requested() && !closed {
            // SAFETY: fd stays open until the session (which joins this thread) ends.
            unsafe { libc::shutdown(fd, libc::SHUT_RDWR) };
            closed = true;
        }
        if !armed.load(Ordering::Acquire) {
            std::thread::sleep(Duration::from_millis(5));
            continue;
        }
        let mut p = libc::pollfd { fd, events: libc::POLLIN, revents: 0 };
        // SAFETY: one valid pollfd; the fd stays open while this thread runs.
        let n = unsafe { libc::poll(&mut p, 1, 20) };
        if n > 0 && armed.swap(false, Ordering::AcqRel) {
            events.push(HostEvent::DebugInput);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_in_qemu_spelling() {
        assert_eq!(GdbAddr::parse("tcp::1234").unwrap(), GdbAddr::Tcp("127.0.0.1".into(), 1234));
        assert_eq!(GdbAddr::parse("tcp:0.0.0.0:99").unwrap(), GdbAddr::Tcp("0.0.0.0".into(), 99));
        assert_eq!(GdbAddr::parse(":4321").unwrap(), GdbAddr::Tcp("127.0.0.1".into(), 4321));
        assert_eq!(GdbAddr::parse("4321").unwrap(), GdbAddr::Tcp("127.0.0.1".into(), 4321));
        assert_eq!(GdbAddr::parse("unix:/tmp/g.sock").unwrap(), GdbAddr::Unix("/tmp/g.sock".into()));
        assert!(GdbAddr::parse("tcp::").is_err());
        assert!(GdbAddr::parse("tcp::70000").is_err());
        assert!(GdbAddr::parse("unix:").is_err());
    }
}
