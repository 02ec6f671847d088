//! User-mode networking, as QEMU's `-netdev user`: the guest sits alone on 10.0.2.0/24 behind
//! a gateway (10.0.2.2, which also stands for the host's loopback) and a DNS server
//! (10.0.2.3, relaying to the host's resolver); DHCP gives it 10.0.2.15. Its TCP connections
//! and UDP datagrams leave through ordinary host sockets (a NAT, no privileges needed), and
//! `hostfwd` rules forward host TCP and UDP ports into the guest.
//!
//! The gateway's TCP/IP (ARP, IPv4, ICMP echo, TCP) is `smoltcp`'s; DHCP and UDP are answered
//! directly from the parsed frames. Everything runs on one host thread ([`stack`]).

pub mod dhcp;
pub mod forward;
pub mod frame;
mod stack;
pub mod tcp;
pub mod udp;

pub use forward::HostFwd;

use super::{Inbox, NetBackend, Waker};
use smoltcp::wire::{EthernetAddress, Ipv4Address};
use std::collections::VecDeque;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::os::fd::{FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// The gateway, which is also the host (10.0.2.2).
pub const GATEWAY: Ipv4Address = Ipv4Address::new(10, 0, 2, 2);
/// The DNS relay (10.0.2.3).
pub const DNS: Ipv4Address = Ipv4Address::new(10, 0, 2, 3);
/// The address DHCP gives the guest (10.0.2.15).
pub const GUEST: Ipv4Address = Ipv4Address::new(10, 0, 2, 15);
/// The network's mask (/24).
pub const NETMASK: Ipv4Address = Ipv4Address::new(255, 255, 255, 0);
/// The gateway's MAC address (QEMU's slirp uses 52:55:0a:00:02:02).
pub const GATEWAY_MAC: EthernetAddress = EthernetAddress([0x52, 0x55, 0x0a, 0x00, 0x02, 0x02]);

/// (source, destination) MAC addresses of a frame for the guest.
pub type Macs = (EthernetAddress, EthernetAddress);

/// `-netdev user` settings.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UserConfig {
    /// Port forwards from the host into the guest.
    pub hostfwd: Vec<HostFwd>,
}

/// Why the user network could not start.
#[derive(Debug, thiserror::Error)]
pub enum UserNetError {
    /// A forwarded port could not be bound.
    #[error("hostfwd {addr} ({protocol:?}): cannot bind: {source}")]
    Listen {
        /// TCP or UDP.
        protocol: forward::Protocol,
        /// The host address and port.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// Host resources (thread, eventfd).
    #[error("user network: {0}")]
    Host(std::io::Error),
}

/// Where a guest connection to `dst` goes on the host: the gateway means the host's own
/// loopback, addresses inside 10.0.2.0/24 go nowhere, the rest is the real destination.
pub fn map_destination(dst: (Ipv4Address, u16)) -> Option<SocketAddr> {
    let (ip, port) = dst;
    if ip == GATEWAY {
        return Some(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port));
    }
    let local = ip.octets()[..3] == GATEWAY.octets()[..3];
    let usable = !local && !ip.is_broadcast() && !ip.is_multicast() && !ip.is_unspecified() && !ip.is_loopback() && port != 0;
    usable.then(|| SocketAddr::new(IpAddr::V4(ip), port))
}

/// State shared by the device side and the stack thread.
struct Shared {
    from_guest: Mutex<VecDeque<Vec<u8>>>,
    wake: OwnedFd,
    stop: AtomicBool,
}

impl Shared {
    fn kick(&self) {
        let one = 1u64.to_ne_bytes();
        // SAFETY: writes 8 bytes from a live buffer to our eventfd.
        unsafe { libc::write(std::os::fd::AsRawFd::as_raw_fd(&self.wake), one.as_ptr().cast(), 8) };
    }
}

/// Frames from the guest waiting for the stack at most (a guest flooding faster than the
/// host drains loses frames, as on a real link).
const OUTBOX_FRAMES: usize = 1024;

/// The user network backend: a handle to the stack thread.
pub struct UserNet {
    shared: Arc<Shared>,
    inbox: Arc<Inbox>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl UserNet {
    /// Binds the forwarded ports and starts the stack; `waker` is called when frames for the
    /// guest arrive.
    pub fn start(config: &UserConfig, waker: Waker) -> Result<UserNet, UserNetError> {
        let forwards = config
            .hostfwd
            .iter()
            .map(|r| {
                forward::Bound::bind(r.clone())
                    .map_err(|source| UserNetError::Listen { protocol: r.protocol, addr: SocketAddr::new(r.host_addr, r.host_port), source })
            })
            .collect::<Result<Vec<_>, _>>()?;
        // SAFETY: eventfd has no memory-safety preconditions; the result is checked.
        let fd = unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) };
        if fd < 0 {
            return Err(UserNetError::Host(std::io::Error::last_os_error()));
        }
        // SAFETY: `fd` is a fresh descriptor nobody else owns.
        let wake = unsafe { OwnedFd::from_raw_fd(fd) };
        let shared = Arc::new(Shared { from_guest: Mutex::default(), wake, stop: AtomicBool::new(false) });
        let inbox = Inbox::new(waker);
        let mut stack = stack::Stack::new(forwards, host_resolver());
        let (s, i) = (shared.clone(), inbox.clone());
        let thread = std::thread::Builder::new()
            .name("ferrite-usernet".into())
            .spawn(move || stack.run(&s, &i))
            .map_err(UserNetError::Host)?;
        Ok(UserNet { shared, inbox, thread: Some(thread) })
    }
}

impl NetBackend for UserNet {
    fn send(&mut self, frame: &[u8]) {
        {
            let mut q = self.shared.from_guest.lock().unwrap_or_else(|e| e.into_inner());
            if q.len() >= OUTBOX_FRAMES {
                return;
            }
            q.push_back(frame.to_vec());
        }
        self.shared.kick();
    }

    fn recv(&mut self) -> Option<Vec<u8>> {
        self.inbox.pop()
    }
}

impl Drop for UserNet {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        self.shared.kick();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The first name server of the host's `/etc/resolv.conf` (127.0.0.1 if there is none).
fn host_resolver() -> SocketAddr {
    let conf = std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
    conf.lines()
        .filter_map(|l| l.trim().strip_prefix("nameserver"))
        .filter_map(|a| a.trim().split('%').next()?.parse::<IpAddr>().ok())
        .map(|ip| SocketAddr::new(ip, 53))
        .next()
        .unwrap_or(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 53))
}

#[cfg(test)]
mod tests;
