//! UDP NAT: each (guest port, destination) pair the guest sends to gets a host socket
//! connected to the mapped destination; datagrams that come back are framed for the guest as
//! if the destination had answered. DNS to 10.0.2.3 goes to the host's resolver.

use super::frame::{udp_frame, Endpoint};
use super::{map_destination, Macs, DNS};
use std::collections::HashMap;
use std::io::ErrorKind;
use std::net::{SocketAddr, UdpSocket};
use std::os::fd::{AsRawFd, RawFd};
use std::time::{Duration, Instant};

/// A flow unused this long is forgotten (QEMU's slirp: 4 minutes; DNS flows sooner).
const IDLE: Duration = Duration::from_secs(240);
const DNS_IDLE: Duration = Duration::from_secs(10);
/// Largest payload that fits one unfragmented frame.
const MAX_PAYLOAD: usize = 1500 - 20 - 8;

struct Flow {
    sock: UdpSocket,
    guest: Endpoint,
    remote: Endpoint,
    last: Instant,
}

/// The UDP flows of the user network.
pub struct UdpNat {
    flows: HashMap<(Endpoint, Endpoint), Flow>,
    resolver: SocketAddr,
    /// Receive buffer (kept to avoid an allocation per round).
    buf: Vec<u8>,
}

impl UdpNat {
    /// A NAT that sends DNS queries to `resolver`.
    pub fn new(resolver: SocketAddr) -> UdpNat {
        UdpNat { flows: HashMap::new(), resolver, buf: vec![0; 65536] }
    }

    /// Sends a datagram the guest addressed from `src` to `dst`.
    pub fn send(&mut self, src: Endpoint, dst: Endpoint, payload: &[u8]) {
        let key = (src, dst);
        if !self.flows.contains_key(&key) {
            let target = if dst == (DNS, 53) { Some(self.resolver) } else { map_destination(dst) };
            let Some(target) = target else {
                tracing::debug!("user net: UDP to {}:{} not forwarded", dst.0, dst.1);
                return;
            };
            let bind: SocketAddr = if target.is_ipv4() { "0.0.0.0:0".parse().unwrap_or(target) } else { "[::]:0".parse().unwrap_or(target) };
            let sock = match UdpSocket::bind(bind).and_then(|s| s.connect(target).map(|()| s)) {
                Ok(s) => s,
                Err(e) => {
                    tracing::debug!("user net: UDP socket to {target}: {e}");
                    return;
                }
            };
            if sock.set_nonblocking(true).is_err() {
                return;
            }
            self.flows.insert(key, Flow { sock, guest: src, remote: dst, last: Instant::now() });
        }
        if let Some(flow) = self.flows.get_mut(&key) {
            flow.last = Instant::now();
            if let Err(e) = flow.sock.send(payload) {
                tracing::debug!("user net: UDP send to {}:{}: {e}", dst.0, dst.1);
            }
        }
    }

    /// Frames for the guest from every datagram that arrived; forgets idle flows.
    pub fn receive(&mut self, macs: Macs, out: &mut Vec<Vec<u8>>) {
        let buf = &mut self.buf;
        let now = Instant::now();
        self.flows.retain(|_, f| {
            loop {
                match f.sock.recv(buf) {
                    Ok(n) if n <= MAX_PAYLOAD => {
                        f.last = now;
                        out.push(udp_frame(macs, f.remote, f.guest, &buf[..n]));
                    }
                    Ok(n) => tracing::debug!("user net: {n}-byte UDP datagram too large for one frame, dropped"),
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == ErrorKind::Interrupted => {}
                    Err(_) => break, // ICMP errors (connection refused) and the like
                }
            }
            let idle = if f.remote == (DNS, 53) { DNS_IDLE } else { IDLE };
            now.duration_since(f.last) < idle
        });
    }

    /// The host sockets to wait on.
    pub fn fds(&self) -> impl Iterator<Item = RawFd> + '_ {
        self.flows.values().map(|f| f.sock.as_raw_fd())
    }
}
