//! Host backends of the serial ports (`-serial stdio|file:PATH|null|none`).

use anyhow::{bail, Context};
use ferrite_machines::ppce500::CharBackend;
use std::io::Write;

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

/// What a `-serial` argument asks for.
pub enum Serial {
    /// The terminal (with the Ctrl-A keys).
    Stdio,
    /// Another backend.
    Other(Box<dyn CharBackend>),
    /// No port.
    None,
}

/// Parses a `-serial` argument.
pub fn serial(spec: &str) -> anyhow::Result<Serial> {
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
        other => bail!("-serial {other}: unsupported backend (use stdio, mon:stdio, file:PATH, null or none)"),
    })
}

/// The stdout backend.
pub fn stdout() -> Box<dyn CharBackend> {
    Box::new(Stdout { buf: Vec::new() })
}
