//! Opening host character backends: the terminal, files, Unix and TCP sockets. Input a
//! socket reads goes to the machine as a [`HostEvent::Input`] for a UART, or straight into a
//! virtio console's input queue, whose room holds the reader (and so the peer) back.

use crate::chardev::{Chardev, SocketAddr};
use anyhow::Context;
use ferrite_machines::ppce500::{CharBackend, ConsoleInput, NullBackend};
use ferrite_machines::{CharInput, HostEvent, HostEvents};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::net::{UnixListener, UnixStream};
use std::sync::{Arc, Mutex};

/// Standard output, buffered until a newline or the machine pauses.
pub struct Stdout {
    buf: Vec<u8>,
}

impl CharBackend for Stdout {
    fn write(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
        if data.contains(&b'\n') || self.buf.len() >= 4096 {
            self.flush();
        }
    }

    fn flush(&mut self) {
        if !self.buf.is_empty() {
            let mut out = std::io::stdout().lock();
            let _ = out.write_all(&self.buf);
            let _ = out.flush();
            self.buf.clear();
        }
    }
}

/// A file the output is written to.
pub struct File(std::fs::File);

impl CharBackend for File {
    fn write(&mut self, data: &[u8]) {
        let _ = self.0.write_all(data);
    }
}

/// A connected Unix or TCP stream.
enum Conn {
    Unix(UnixStream),
    Tcp(TcpStream),
}

impl Conn {
    fn try_clone(&self) -> std::io::Result<Conn> {
        Ok(match self {
            Conn::Unix(s) => Conn::Unix(s.try_clone()?),
            Conn::Tcp(s) => Conn::Tcp(s.try_clone()?),
        })
    }

    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Conn::Unix(s) => s.read(buf),
            Conn::Tcp(s) => s.read(buf),
        }
    }

    fn write_all(&mut self, data: &[u8]) -> std::io::Result<()> {
        match self {
            Conn::Unix(s) => s.write_all(data),
            Conn::Tcp(s) => s.write_all(data),
        }
    }
}

/// A socket: output goes to the connected peer (dropped while none is), input from it goes
/// to the guest.
pub struct Socket {
    conn: Arc<Mutex<Option<Conn>>>,
}

impl CharBackend for Socket {
    fn write(&mut self, data: &[u8]) {
        let mut c = self.conn.lock().unwrap();
        if let Some(s) = c.as_mut() {
            if s.write_all(data).is_err() {
                *c = None;
            }
        }
    }
}

/// Where a backend's input goes.
#[derive(Clone)]
pub enum InputTo {
    /// A UART, through the machine's events.
    Serial(usize),
    /// A virtio console: its number (for the terminal's events) and its input queue.
    Console(usize, Arc<ConsoleInput>),
}

impl InputTo {
    /// The device, as host events name it.
    pub fn device(&self) -> CharInput {
        match self {
            InputTo::Serial(n) => CharInput::Serial(*n),
            InputTo::Console(n, _) => CharInput::Console(*n),
        }
    }

    fn deliver(&self, events: &HostEvents, data: &[u8]) {
        match self {
            InputTo::Serial(n) => events.push(HostEvent::Input { to: CharInput::Serial(*n), data: data.to_vec() }),
            InputTo::Console(_, input) => input.push_wait(data),
        }
    }
}

/// Makes `stream` the connection of `conn` and feeds what it sends to `to` until it closes.
fn adopt(stream: Conn, conn: &Arc<Mutex<Option<Conn>>>, to: &InputTo, events: &Arc<HostEvents>) -> std::io::Result<()> {
    let mut reader = stream.try_clone()?;
    *conn.lock().unwrap() = Some(stream);
    let (events, to) = (events.clone(), to.clone());
    std::thread::Builder::new().name("ferrite-chardev-in".into()).spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = reader.read(&mut buf) {
            if n == 0 {
                break;
            }
            to.deliver(&events, &buf[..n]);
        }
    })?;
    Ok(())
}

enum Listener {
    Unix(UnixListener),
    Tcp(TcpListener),
}

impl Listener {
    fn accept(&self) -> std::io::Result<Conn> {
        Ok(match self {
            Listener::Unix(l) => Conn::Unix(l.accept()?.0),
            Listener::Tcp(l) => Conn::Tcp(l.accept()?.0),
        })
    }
}

/// A host port string for a TCP socket: an empty host means localhost for a client and all
/// addresses for a server.
fn tcp_addr(host: &str, port: u16, server: bool) -> String {
    match host {
        "" if server => format!("0.0.0.0:{port}"),
        "" => format!("localhost:{port}"),
        h if h.contains(':') => format!("[{h}]:{port}"),
        h => format!("{h}:{port}"),
    }
}

/// Connects to `addr`, or listens there; a server waits for its first client before the
/// machine starts unless `wait` is off (as QEMU does). Later clients replace the current one.
fn socket(addr: &SocketAddr, server: bool, wait: bool, label: &str, to: &InputTo, events: &Arc<HostEvents>) -> anyhow::Result<Socket> {
    let conn: Arc<Mutex<Option<Conn>>> = Arc::new(Mutex::new(None));
    if !server {
        let s = match addr {
            SocketAddr::Unix(p) => UnixStream::connect(p).map(Conn::Unix),
            SocketAddr::Tcp(h, p) => TcpStream::connect(tcp_addr(h, *p, false)).map(Conn::Tcp),
        };
        adopt(s.with_context(|| format!("{label} {addr}: cannot connect"))?, &conn, to, events)?;
        return Ok(Socket { conn });
    }
    let listener = match addr {
        SocketAddr::Unix(path) => {
            if std::fs::symlink_metadata(path).is_ok_and(|m| std::os::unix::fs::FileTypeExt::is_socket(&m.file_type())) {
                // A stale socket from an earlier run.
                let _ = std::fs::remove_file(path);
            }
            UnixListener::bind(path).map(Listener::Unix)
        }
        SocketAddr::Tcp(h, p) => TcpListener::bind(tcp_addr(h, *p, true)).map(Listener::Tcp),
    };
    let listener = listener.with_context(|| format!("{label} {addr},server: cannot listen"))?;
    if wait {
        eprintln!("ferrite: waiting for a connection on {addr}");
        adopt(listener.accept()?, &conn, to, events)?;
    }
    let (c, ev, to) = (conn.clone(), events.clone(), to.clone());
    std::thread::Builder::new().name("ferrite-chardev-listen".into()).spawn(move || {
        while let Ok(s) = listener.accept() {
            if adopt(s, &c, &to, &ev).is_err() {
                break;
            }
        }
    })?;
    Ok(Socket { conn })
}

/// An opened backend.
pub enum Opened {
    /// The terminal: the caller gives it standard output and standard input.
    Stdio,
    /// Anything else.
    Backend(Box<dyn CharBackend>),
}

/// Opens `dev` for the device `to`; `label` names the option in error messages.
pub fn open(dev: &Chardev, label: &str, to: &InputTo, events: &Arc<HostEvents>) -> anyhow::Result<Opened> {
    Ok(match dev {
        Chardev::Stdio => Opened::Stdio,
        Chardev::Null => Opened::Backend(Box::new(NullBackend)),
        Chardev::File { path, append } => {
            let f = std::fs::OpenOptions::new()
                .create(true)
                .write(true)
                .append(*append)
                .truncate(!*append)
                .open(path)
                .with_context(|| format!("{label}: cannot open {}", path.display()))?;
            Opened::Backend(Box::new(File(f)))
        }
        Chardev::Socket { addr, server, wait } => Opened::Backend(Box::new(socket(addr, *server, *wait, label, to, events)?)),
    })
}

/// The stdout backend.
pub fn stdout() -> Box<dyn CharBackend> {
    Box::new(Stdout { buf: Vec::new() })
}
