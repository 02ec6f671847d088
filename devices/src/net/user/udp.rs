//! UDP NAT: each (guest port, destination) pair the guest sends to gets a host socket
//! connected to the mapped destination; datagrams that come back are framed for the guest as
//! if the destination had answered. DNS to 10.0.2.3 goes to the host's resolver.
//!
//! Forwarded ports (`hostfwd=udp:...`) work the other way round: a datagram from a host peer
//! on the forward's socket goes to the rule's guest address, from the gateway (10.0.2.2) for
//! a peer on the host's loopback or from the peer's own address otherwise, as QEMU's slirp
//! does; the guest's replies to that address go back to the peer through the same socket.

use super::forward::HostFwd;
use super::frame::{udp_frame, Endpoint};
use super::{map_destination, Macs, DNS, GATEWAY};
use smoltcp::wire::Ipv4Address;
use std::collections::HashMap;
use std::io::ErrorKind;
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::os::fd::{AsRawFd, RawFd};
use std::time::{Duration, Instant};

/// A flow unused this long is forgotten (QEMU's slirp: 4 minutes; DNS flows sooner).
const IDLE: Duration = Duration::from_secs(240);
const DNS_IDLE: Duration = Duration::from_secs(10);
/// Largest payload that fits one unfragmented frame.
const MAX_PAYLOAD: usize = 1500 - 20 - 8;

/// Where a flow's datagrams leave the host.
enum Via {
    /// Its own socket, connected to the destination.
    Own(UdpSocket),
    /// Forward `index`'s socket, to the peer that wrote to it.
    Forward {
        /// Index in [`UdpNat::forwards`].
        index: usize,
        /// The host peer.
        peer: SocketAddr,
    },
}

struct Flow {
    via: Via,
    guest: Endpoint,
    remote: Endpoint,
    last: Instant,
}

/// A bound `hostfwd=udp:` socket and the guest end it forwards to.
struct Forward {
    sock: UdpSocket,
    guest: Endpoint,
}

/// The UDP flows of the user network.
pub struct UdpNat {
    flows: HashMap<(Endpoint, Endpoint), Flow>,
    forwards: Vec<Forward>,
    resolver: SocketAddr,
    /// Receive buffer (kept to avoid an allocation per round).
    buf: Vec<u8>,
}

impl UdpNat {
    /// A NAT that sends DNS queries to `resolver`.
    pub fn new(resolver: SocketAddr) -> UdpNat {
        UdpNat { flows: HashMap::new(), forwards: Vec::new(), resolver, buf: vec![0; 65536] }
    }

    /// Adds a forward: datagrams arriving on `sock` (bound, non-blocking) go to the guest
    /// end of `rule`.
    pub fn forward(&mut self, sock: UdpSocket, rule: &HostFwd) {
        self.forwards.push(Forward { sock, guest: (rule.guest_addr, rule.guest_port) });
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
            self.flows.insert(key, Flow { via: Via::Own(sock), guest: src, remote: dst, last: Instant::now() });
        }
        if let Some(flow) = self.flows.get_mut(&key) {
            flow.last = Instant::now();
            let sent = match &flow.via {
                Via::Own(sock) => sock.send(payload),
                Via::Forward { index, peer } => self.forwards[*index].sock.send_to(payload, peer),
            };
            if let Err(e) = sent {
                tracing::debug!("user net: UDP send to {}:{}: {e}", dst.0, dst.1);
            }
        }
    }

    /// Frames for the guest from every datagram that arrived; forgets idle flows.
    pub fn receive(&mut self, macs: Macs, out: &mut Vec<Vec<u8>>) {
        let buf = &mut self.buf;
        let now = Instant::now();
        for (index, fwd) in self.forwards.iter().enumerate() {
            while let Some((n, peer)) = recv(&fwd.sock, buf, |s, b| s.recv_from(b)) {
                let Some(remote) = peer_endpoint(peer) else {
                    tracing::debug!("user net: UDP from {peer} to a forwarded port dropped (not IPv4)");
                    continue;
                };
                let flow = Flow { via: Via::Forward { index, peer }, guest: fwd.guest, remote, last: now };
                self.flows.insert((fwd.guest, remote), flow);
                out.push(udp_frame(macs, remote, fwd.guest, &buf[..n]));
            }
        }
        self.flows.retain(|_, f| {
            if let Via::Own(sock) = &f.via {
                while let Some((n, ())) = recv(sock, buf, |s, b| s.recv(b).map(|n| (n, ()))) {
                    f.last = now;
                    out.push(udp_frame(macs, f.remote, f.guest, &buf[..n]));
                }
            }
            let idle = if f.remote == (DNS, 53) { DNS_IDLE } else { IDLE };
            now.duration_since(f.last) < idle
        });
    }

    /// The host sockets to wait on.
    pub fn fds(&self) -> impl Iterator<Item = RawFd> + '_ {
        let own = self.flows.values().filter_map(|f| match &f.via {
            Via::Own(s) => Some(s.as_raw_fd()),
            Via::Forward { .. } => None,
        });
        own.chain(self.forwards.iter().map(|f| f.sock.as_raw_fd()))
    }
}

/// The next datagram that fits a frame from `sock` (through `op`), with what `op` says of
/// its sender; None once nothing is waiting. Oversized datagrams are dropped.
fn recv<T>(sock: &UdpSocket, buf: &mut [u8], op: impl Fn(&UdpSocket, &mut [u8]) -> std::io::Result<(usize, T)>) -> Option<(usize, T)> {
    loop {
        match op(sock, buf) {
            Ok((n, from)) if n <= MAX_PAYLOAD => return Some((n, from)),
            Ok((n, _)) => tracing::debug!("user net: {n}-byte UDP datagram too large for one frame, dropped"),
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            // Nothing waiting, or an ICMP error (connection refused) and the like.
            Err(_) => return None,
        }
    }
}

/// Where the guest sees a host peer of a forwarded port: the gateway for the host itself.
fn peer_endpoint(peer: SocketAddr) -> Option<Endpoint> {
    let ip = match peer.ip() {
        IpAddr::V4(v4) => v4,
        IpAddr::V6(v6) if v6.is_loopback() => std::net::Ipv4Addr::LOCALHOST,
        IpAddr::V6(v6) => v6.to_ipv4_mapped()?,
    };
    let ip: Ipv4Address = if ip.is_loopback() || ip.is_unspecified() { GATEWAY } else { ip };
    Some((ip, peer.port()))
}
