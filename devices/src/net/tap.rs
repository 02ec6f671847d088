//! `-netdev tap`: frames to and from a host TAP interface (`/dev/net/tun`, which needs
//! CAP_NET_ADMIN or a TAP device the user owns). No scripts are run: configure the host side
//! (`ip addr add ... dev IFNAME; ip link set IFNAME up`) yourself.

use super::{Inbox, NetBackend, Waker, MAX_FRAME, MIN_FRAME};
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// `TUNSETIFF`, `_IOW('T', 202, int)`.
const TUNSETIFF: libc::c_ulong = 0x4004_54ca;
const IFF_TAP: i16 = 0x0002;
const IFF_NO_PI: i16 = 0x1000;

/// `struct ifreq` as TUNSETIFF reads it: a name and the flags, padded to 40 bytes.
#[repr(C)]
struct IfReq {
    name: [u8; 16],
    flags: i16,
    _pad: [u8; 22],
}

/// A TAP backend.
pub struct TapNet {
    file: File,
    name: String,
    inbox: Arc<Inbox>,
    stop: Arc<AtomicBool>,
}

impl TapNet {
    /// Opens (creating if needed) the TAP interface `ifname` (the kernel picks `tapN` if none).
    pub fn open(ifname: Option<&str>, waker: Waker) -> io::Result<TapNet> {
        let file = OpenOptions::new().read(true).write(true).custom_flags(libc::O_CLOEXEC).open("/dev/net/tun")?;
        let mut req = IfReq { name: [0; 16], flags: IFF_TAP | IFF_NO_PI, _pad: [0; 22] };
        let want = ifname.unwrap_or("tap%d").as_bytes();
        if want.len() >= req.name.len() {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "interface name longer than 15 bytes"));
        }
        req.name[..want.len()].copy_from_slice(want);
        // SAFETY: TUNSETIFF reads and writes one ifreq-sized structure, which `req` is.
        if unsafe { libc::ioctl(file.as_raw_fd(), TUNSETIFF, std::ptr::addr_of_mut!(req)) } < 0 {
            return Err(io::Error::last_os_error());
        }
        let len = req.name.iter().position(|&b| b == 0).unwrap_or(req.name.len());
        let name = String::from_utf8_lossy(&req.name[..len]).into_owned();
        let inbox = Inbox::new(waker);
        let stop = Arc::new(AtomicBool::new(false));
        let (mut reader, i, s) = (file.try_clone()?, inbox.clone(), stop.clone());
        std::thread::Builder::new().name("ferrite-tap".into()).spawn(move || {
            let mut buf = vec![0u8; 65536];
            while !s.load(Ordering::SeqCst) {
                let mut p = libc::pollfd { fd: reader.as_raw_fd(), events: libc::POLLIN, revents: 0 };
                // SAFETY: one live, initialised pollfd.
                if unsafe { libc::poll(&mut p, 1, 200) } <= 0 {
                    continue;
                }
                match reader.read(&mut buf) {
                    Ok(n) if (MIN_FRAME..=MAX_FRAME).contains(&n) => i.push_all([buf[..n].to_vec()]),
                    Ok(_) => {}
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => {
                        tracing::warn!("tap: read failed: {e}");
                        return;
                    }
                }
            }
        })?;
        Ok(TapNet { file, name, inbox, stop })
    }

    /// The interface's name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl NetBackend for TapNet {
    fn send(&mut self, frame: &[u8]) {
        if let Err(e) = self.file.write(frame) {
            tracing::debug!("tap {}: write failed: {e}", self.name);
        }
    }

    fn recv(&mut self) -> Option<Vec<u8>> {
        self.inbox.pop()
    }
}

impl Drop for TapNet {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}
