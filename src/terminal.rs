//! The host terminal behind `-serial stdio` / `-nographic`: raw mode while the guest owns it,
//! restored on every way out (normal exit, error, signal, panic), and QEMU's Ctrl-A escape keys.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

/// The terminal settings to restore, saved when raw mode was entered.
static SAVED: Mutex<Option<libc::termios>> = Mutex::new(None);
static HOOKED: AtomicBool = AtomicBool::new(false);

/// Whether standard input is a terminal.
pub fn stdin_is_tty() -> bool {
    // SAFETY: isatty only inspects the descriptor.
    unsafe { libc::isatty(0) == 1 }
}

/// Puts the terminal in raw mode (as QEMU's stdio character device does: no echo, no line
/// editing, no signals from Ctrl-C, output post-processing kept) until [`restore`].
pub fn enter_raw_mode() -> std::io::Result<()> {
    if !stdin_is_tty() {
        return Ok(());
    }
    // SAFETY: termios is plain data; tcgetattr fills it.
    let mut t: libc::termios = unsafe { std::mem::zeroed() };
    // SAFETY: valid descriptor and pointer.
    if unsafe { libc::tcgetattr(0, &mut t) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    *SAVED.lock().unwrap() = Some(t);
    install_restore_hooks();
    let mut raw = t;
    raw.c_iflag &= !(libc::IGNBRK | libc::BRKINT | libc::PARMRK | libc::ISTRIP | libc::INLCR | libc::IGNCR | libc::ICRNL | libc::IXON);
    raw.c_oflag |= libc::OPOST;
    raw.c_lflag &= !(libc::ECHO | libc::ECHONL | libc::ICANON | libc::IEXTEN | libc::ISIG);
    raw.c_cflag &= !(libc::CSIZE | libc::PARENB);
    raw.c_cflag |= libc::CS8;
    raw.c_cc[libc::VMIN] = 1;
    raw.c_cc[libc::VTIME] = 0;
    // SAFETY: valid descriptor and pointer.
    if unsafe { libc::tcsetattr(0, libc::TCSANOW, &raw) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// Restores the terminal if raw mode was entered (idempotent, async-signal tolerant enough for
/// our handlers: it only calls tcsetattr).
pub fn restore() {
    if let Ok(mut saved) = SAVED.try_lock() {
        if let Some(t) = saved.take() {
            // SAFETY: valid descriptor and pointer.
            unsafe { libc::tcsetattr(0, libc::TCSANOW, &t) };
        }
    }
}

/// Set by SIGINT/SIGTERM/SIGHUP: the machine loop stops cleanly when it sees it.
pub static SIGNALLED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_sig: libc::c_int) {
    SIGNALLED.store(true, Ordering::SeqCst);
    crate::quit_machine();
}

fn install_restore_hooks() {
    if HOOKED.swap(true, Ordering::SeqCst) {
        return;
    }
    let prev = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        restore();
        prev(info);
    }));
}

/// Routes SIGINT, SIGTERM and SIGHUP to a clean shutdown.
pub fn install_signal_handlers() {
    for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
        // SAFETY: the handler only stores to an atomic and wakes the machine through atomics.
        unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = on_signal as *const () as usize;
            libc::sigemptyset(&mut sa.sa_mask);
            libc::sigaction(sig, &sa, std::ptr::null_mut());
        }
    }
}

/// What a key sequence on the console means.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Key {
    /// Bytes for the guest.
    Guest(Vec<u8>),
    /// Ctrl-A X: quit.
    Quit,
    /// Ctrl-A H: show the help.
    Help,
    /// Ctrl-A C: switch between the guest console and the monitor.
    Monitor,
}

/// QEMU's escape-key state machine (Ctrl-A prefix).
#[derive(Default, Debug)]
pub struct Escapes {
    armed: bool,
}

/// The Ctrl-A help text.
pub const HELP: &str = "\r\nC-a h    print this help\r\nC-a x    exit emulator\r\nC-a c    switch between console and monitor\r\nC-a C-a  sends C-a\r\n";

impl Escapes {
    /// Feeds input bytes; returns what they mean, in order.
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<Key> {
        let mut out = Vec::new();
        let mut guest = Vec::new();
        for &b in bytes {
            if self.armed {
                self.armed = false;
                let k = match b {
                    b'x' | b'X' => Some(Key::Quit),
                    b'h' | b'H' | b'?' => Some(Key::Help),
                    b'c' | b'C' => Some(Key::Monitor),
                    0x01 | b'a' => {
                        guest.push(0x01);
                        None
                    }
                    _ => None,
                };
                if let Some(k) = k {
                    if !guest.is_empty() {
                        out.push(Key::Guest(std::mem::take(&mut guest)));
                    }
                    out.push(k);
                }
            } else if b == 0x01 {
                self.armed = true;
            } else {
                guest.push(b);
            }
        }
        if !guest.is_empty() {
            out.push(Key::Guest(guest));
        }
        out
    }
}

/// Prints a message to the terminal even in raw mode.
pub fn message(s: &str) {
    let mut e = std::io::stderr();
    let _ = e.write_all(s.replace('\n', "\r\n").as_bytes());
    let _ = e.flush();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes() {
        let mut e = Escapes::default();
        assert_eq!(e.feed(b"ls\r"), vec![Key::Guest(b"ls\r".to_vec())]);
        assert_eq!(e.feed(b"a\x01"), vec![Key::Guest(b"a".to_vec())]);
        assert_eq!(e.feed(b"x"), vec![Key::Quit]);
        assert_eq!(e.feed(b"\x01\x01q\x01h"), vec![Key::Guest(b"\x01q".to_vec()), Key::Help]);
    }
}
