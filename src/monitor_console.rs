//! The console's monitor mode (Ctrl-A C, as QEMU's `mon:stdio`): typed lines go to the
//! machine's monitor instead of the guest, with echo and backspace, until Ctrl-A C again.

/// The prompt printed after each command's output.
pub const PROMPT: &str = "(ferrite) ";

/// Line editing of the monitor mode.
#[derive(Default, Debug)]
pub struct MonitorLine {
    active: bool,
    line: Vec<u8>,
}

/// What monitor-mode input produced.
#[derive(Default, Debug, PartialEq, Eq)]
pub struct Typed {
    /// Bytes to echo to the terminal.
    pub echo: Vec<u8>,
    /// Completed command lines.
    pub commands: Vec<String>,
}

impl MonitorLine {
    /// Whether typed bytes go to the monitor.
    pub fn active(&self) -> bool {
        self.active
    }

    /// Switches between the guest console and the monitor; returns what to print.
    pub fn toggle(&mut self) -> String {
        self.active = !self.active;
        self.line.clear();
        if self.active {
            format!("\nferrite monitor: 'help' lists the commands, Ctrl-A C returns to the guest\n{PROMPT}")
        } else {
            "\n".to_string()
        }
    }

    /// Feeds typed bytes (monitor mode).
    pub fn feed(&mut self, bytes: &[u8]) -> Typed {
        let mut t = Typed::default();
        for &b in bytes {
            match b {
                b'\r' | b'\n' => {
                    t.echo.extend_from_slice(b"\r\n");
                    let cmd = String::from_utf8_lossy(&self.line).trim().to_string();
                    self.line.clear();
                    if cmd.is_empty() {
                        t.echo.extend_from_slice(PROMPT.as_bytes());
                    } else {
                        t.commands.push(cmd);
                    }
                }
                0x7f | 0x08 => {
                    if self.line.pop().is_some() {
                        t.echo.extend_from_slice(b"\x08 \x08");
                    }
                }
                0x03 | 0x15 => {
                    // Ctrl-C, Ctrl-U: drop the line.
                    self.line.clear();
                    t.echo.extend_from_slice(b"\r\n");
                    t.echo.extend_from_slice(PROMPT.as_bytes());
                }
                0x20..=0x7e if self.line.len() < 1024 => {
                    self.line.push(b);
                    t.echo.push(b);
                }
                _ => {}
            }
        }
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_with_backspace_and_toggling() {
        let mut m = MonitorLine::default();
        assert!(m.toggle().ends_with(PROMPT));
        assert!(m.active());
        let t = m.feed(b"info tlbx\x7f\r");
        assert_eq!(t.commands, vec!["info tlb".to_string()]);
        assert_eq!(t.echo, b"info tlbx\x08 \x08\r\n".to_vec());
        assert_eq!(m.feed(b"\r").commands, Vec::<String>::new());
        assert_eq!(m.feed(b"junk\x15quit\n").commands, vec!["quit".to_string()]);
        assert_eq!(m.toggle(), "\n");
        assert!(!m.active());
    }
}
