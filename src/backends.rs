//! Host backends of the serial ports (`-serial stdio|file:PATH|unix:PATH[,server][,nowait]|null|none`).

use anyhow::{bail, Context};
use ferrite_machines::ppce500::CharBackend;
use ferrite_machines::{HostEvent, HostEvents};
use std::io::{Read, Write};
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

/// A file the output is appended to.
pub struct File(std::fs::File);

impl CharBackend for File {
    fn write(&mut self, data: &[u8]) {
        let _ = self.0.write_all(data);
    }
}

/// A Unix-domain socket: output goes to the connected peer (dropped while none is), input
/// from it goes to the guest.
pub struct Socket {
    conn: Arc<Mutex<Option<UnixStream>>>,
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

/// Feeds what `stream` sends to serial port `port` until it closes.
fn pump_input(mut stream: UnixStream, port: usize, events: Arc<HostEvents>) {
    let mut buf = [0u8; 1024];
    while let Ok(n) = stream.read(&mut buf) {
        if n == 0 {
            break;
        }
        events.push(HostEvent::SerialInput { port, data: buf[..n].to_vec() });
    }
}

/// `unix:PATH[,server][,nowait]`: connect to PATH, or (server) listen there; a server waits
/// for its first client before the machine starts unless `nowait` is given (as QEMU does).
fn unix_socket(spec: &str, port: usize, events: &Arc<HostEvents>) -> anyhow::Result<Socket> {
    let mut parts = spec.split(',');
    let path = parts.next().unwrap_or_default().to_string();
    let (mut server, mut wait) = (false, true);
    for opt in parts {
        match opt {
            "server" | "server=on" => server = true,
            "nowait" | "wait=off" => wait = false,
            "wait" | "wait=on" => wait = true,
            other => bail!("-serial unix:{spec}: unknown option '{other}' (server, nowait)"),
        }
    }
    let conn: Arc<Mutex<Option<UnixStream>>> = Arc::new(Mutex::new(None));
    if !server {
        let s = UnixStream::connect(&path).with_context(|| format!("-serial unix:{path}: cannot connect"))?;
        let r = s.try_clone()?;
        *conn.lock().unwrap() = Some(s);
        let ev = events.clone();
        std::thread::spawn(move || pump_input(r, port, ev));
        return Ok(Socket { conn });
    }
    if std::fs::symlink_metadata(&path).is_ok_and(|m| std::os::unix::fs::FileTypeExt::is_socket(&m.file_type())) {
        // A stale socket from an earlier run.
        let _ = std::fs::remove_file(&path);
    }
    let listener = UnixListener::bind(&path).with_context(|| format!("-serial unix:{path},server: cannot listen"))?;
    let accept = move |l: &UnixListener, conn: &Arc<Mutex<Option<UnixStream>>>, ev: &Arc<HostEvents>| -> std::io::Result<()> {
        let (s, _) = l.accept()?;
        let r = s.try_clone()?;
        *conn.lock().unwrap() = Some(s);
        let ev = ev.clone();
        std::thread::spawn(move || pump_input(r, port, ev));
        Ok(())
    };
    if wait {
        eprintln!("ferrite: waiting for a connection on unix:{path}");
        accept(&listener, &conn, events)?;
    }
    let (c, ev) = (conn.clone(), events.clone());
    std::thread::Builder::new().name("ferrite-serial-listen".into()).spawn(move || {
        // Later clients replace the current one.
        while accept(&listener, &c, &ev).is_ok() {}
    })?;
    Ok(Socket { conn })
}

/// What a `-serial` argument asks for.
pub enum Serial {
    /// The terminal (with the Ctrl-A keys).
    Stdio,
    /// Another backend.
    Other(Box<dyn CharBackend>),
    /// No port.
    None,
}

/// Parses the `-serial` argument of port `port`.
pub fn serial(spec: &str, port: usize, events: &Arc<HostEvents>) -> anyhow::Result<Serial> {
    Ok(match spec {
        "stdio" | "mon:stdio" => Serial::Stdio,
        "null" => Serial::Other(Box::new(ferrite_machines::ppce500::NullBackend)),
        "none" => Serial::None,
        s if s.starts_with("file:") => {
            let path = &s[5..];
            let f = std::fs::OpenOptions::new()
                .create(true)
                .write(true)
                .truncate(true)
                .open(path)
                .with_context(|| format!("-serial {s}: cannot open {path}"))?;
            Serial::Other(Box::new(File(f)))
        }
        s if s.starts_with("unix:") => Serial::Other(Box::new(unix_socket(&s[5..], port, events)?)),
        other => bail!("-serial {other}: unsupported backend (use stdio, mon:stdio, file:PATH, unix:PATH[,server][,nowait], null or none)"),
    })
}

/// The stdout backend.
pub fn stdout() -> Box<dyn CharBackend> {
    Box::new(Stdout { buf: Vec::new() })
}
