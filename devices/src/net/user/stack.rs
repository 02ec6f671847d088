//! The user network's thread: takes the guest's frames, answers DHCP, hands UDP to the NAT
//! and the rest (ARP, ICMP, TCP) to `smoltcp`, relays TCP, and sleeps in `poll(2)` on every
//! host socket until something happens.

use super::forward::{Bound, Forward};
use super::frame::{classify, source_mac, udp_frame, Kind};
use super::tcp::TcpNat;
use super::udp::UdpNat;
use super::{dhcp, Inbox, Shared, DNS, GATEWAY, GATEWAY_MAC};
use smoltcp::iface::{Config, Interface, SocketSet};
use smoltcp::phy::{Device, DeviceCapabilities, Medium, RxToken, TxToken};
use smoltcp::time::Instant as SmolInstant;
use smoltcp::wire::{EthernetAddress, IpCidr, Ipv4Address};
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// Longest sleep: the stop flag and idle flows are looked at this often.
const MAX_WAIT: Duration = Duration::from_millis(200);

/// The link between the gateway's `smoltcp` interface and the guest.
#[derive(Default)]
struct Wire {
    /// Frames from the guest for the stack.
    rx: VecDeque<Vec<u8>>,
    /// Frames from the stack for the guest.
    tx: Vec<Vec<u8>>,
}

struct Rx(Vec<u8>);
struct Tx<'a>(&'a mut Vec<Vec<u8>>);

impl RxToken for Rx {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        f(&self.0)
    }
}

impl TxToken for Tx<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let mut buf = vec![0u8; len];
        let r = f(&mut buf);
        self.0.push(buf);
        r
    }
}

impl Device for Wire {
    type RxToken<'a> = Rx;
    type TxToken<'a> = Tx<'a>;

    fn receive(&mut self, _t: SmolInstant) -> Option<(Rx, Tx<'_>)> {
        let f = self.rx.pop_front()?;
        Some((Rx(f), Tx(&mut self.tx)))
    }

    fn transmit(&mut self, _t: SmolInstant) -> Option<Tx<'_>> {
        Some(Tx(&mut self.tx))
    }

    fn capabilities(&self) -> DeviceCapabilities {
        let mut c = DeviceCapabilities::default();
        c.medium = Medium::Ethernet;
        c.max_transmission_unit = 1514;
        c
    }
}

/// The gateway, DHCP and DNS servers and the NAT.
pub(super) struct Stack {
    iface: Interface,
    wire: Wire,
    sockets: SocketSet<'static>,
    udp: UdpNat,
    tcp: TcpNat,
    forwards: Vec<Forward>,
    guest_mac: Option<EthernetAddress>,
    epoch: Instant,
}

impl Stack {
    pub(super) fn new(bound: Vec<Bound>, resolver: SocketAddr) -> Stack {
        let mut wire = Wire::default();
        let mut config = Config::new(GATEWAY_MAC.into());
        config.random_seed = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(1, |d| d.as_nanos() as u64);
        let mut iface = Interface::new(config, &mut wire, SmolInstant::from_millis(0));
        iface.update_ip_addrs(|a| {
            let _ = a.push(IpCidr::new(GATEWAY.into(), 24));
            let _ = a.push(IpCidr::new(DNS.into(), 24));
        });
        // Accept TCP for any destination: the gateway answers for the whole Internet.
        let _ = iface.routes_mut().add_default_ipv4_route(GATEWAY);
        iface.set_any_ip(true);
        let mut udp = UdpNat::new(resolver);
        let mut forwards = Vec::new();
        for b in bound {
            match b {
                Bound::Tcp(f) => forwards.push(f),
                Bound::Udp(sock, rule) => udp.forward(sock, &rule),
            }
        }
        Stack {
            iface,
            wire,
            sockets: SocketSet::new(Vec::new()),
            udp,
            tcp: TcpNat::default(),
            forwards,
            guest_mac: None,
            epoch: Instant::now(),
        }
    }

    fn now(&self) -> SmolInstant {
        SmolInstant::from_micros(self.epoch.elapsed().as_micros() as i64)
    }

    fn macs(&self) -> (EthernetAddress, EthernetAddress) {
        (GATEWAY_MAC, self.guest_mac.unwrap_or(EthernetAddress::BROADCAST))
    }

    /// Routes one frame from the guest; returns frames to send back at once.
    pub(super) fn ingest(&mut self, frame: Vec<u8>, out: &mut Vec<Vec<u8>>) {
        if let Some(mac) = source_mac(&frame) {
            self.guest_mac = Some(mac);
        }
        match classify(&frame) {
            Kind::Malformed(why) => {
                tracing::debug!(target: "guest_errors", "user net: {}-byte frame from the guest dropped: {why}", frame.len());
                return;
            }
            Kind::Udp { src, dst, payload } => {
                if dst.1 == dhcp::SERVER_PORT {
                    if let Some(reply) = dhcp::reply(payload) {
                        let to = (Ipv4Address::BROADCAST, dhcp::CLIENT_PORT);
                        out.push(udp_frame((GATEWAY_MAC, EthernetAddress::BROADCAST), (GATEWAY, dhcp::SERVER_PORT), to, &reply));
                    }
                } else {
                    self.udp.send(src, dst, payload);
                }
                return;
            }
            Kind::TcpSyn { src, dst } => {
                if !self.tcp.syn(src, dst, &frame) {
                    return; // held until the host connection is made
                }
            }
            // With any-IP on, smoltcp would claim every address: answer ARP and echo requests
            // only for ours (the NAT cannot ping the outside world without privileges).
            Kind::ArpRequest { target: ip } | Kind::Icmp { dst: ip } if ip != GATEWAY && ip != DNS => return,
            Kind::ArpRequest { .. } | Kind::Icmp { .. } | Kind::Other => {}
        }
        self.wire.rx.push_back(frame);
    }

    /// Runs until the backend is dropped.
    pub(super) fn run(&mut self, shared: &Shared, inbox: &Inbox) {
        let mut out = Vec::new();
        while !shared.stop.load(Ordering::SeqCst) {
            let frames: Vec<Vec<u8>> = shared.from_guest.lock().unwrap_or_else(|e| e.into_inner()).drain(..).collect();
            for f in frames {
                self.ingest(f, &mut out);
            }
            for i in 0..self.forwards.len() {
                while let Some(host) = self.forwards[i].accept() {
                    let guest = (self.forwards[i].rule.guest_addr, self.forwards[i].rule.guest_port);
                    self.tcp.connect(&mut self.iface, &mut self.sockets, host, GATEWAY, guest);
                }
            }
            let connected = self.tcp.progress(&mut self.sockets);
            self.wire.rx.extend(connected);
            let macs = self.macs();
            self.udp.receive(macs, &mut out);
            let now = self.now();
            self.iface.poll(now, &mut self.wire, &mut self.sockets);
            self.tcp.relay(&mut self.sockets);
            let now = self.now();
            self.iface.poll(now, &mut self.wire, &mut self.sockets);
            self.tcp.cleanup(&mut self.sockets);
            out.append(&mut self.wire.tx);
            if !out.is_empty() {
                inbox.push_all(out.drain(..));
            }
            self.wait(shared);
        }
    }

    /// Sleeps until a host socket or the guest has something, or the stack's next timer.
    fn wait(&mut self, shared: &Shared) {
        let now = self.now();
        let delay = self.iface.poll_delay(now, &self.sockets).map_or(MAX_WAIT, |d| Duration::from_micros(d.total_micros()).min(MAX_WAIT));
        let mut fds = vec![libc::pollfd { fd: shared.wake.as_raw_fd(), events: libc::POLLIN, revents: 0 }];
        fds.extend(self.forwards.iter().map(|f| libc::pollfd { fd: f.fd(), events: libc::POLLIN, revents: 0 }));
        fds.extend(self.udp.fds().map(|fd| libc::pollfd { fd, events: libc::POLLIN, revents: 0 }));
        for (fd, read, write) in self.tcp.fds(&self.sockets) {
            let events = if read { libc::POLLIN } else { 0 } | if write { libc::POLLOUT } else { 0 };
            if events != 0 {
                fds.push(libc::pollfd { fd, events, revents: 0 });
            }
        }
        let ms = delay.as_millis().min(i32::MAX as u128) as i32;
        // SAFETY: `fds` is a live array of initialised pollfd structures of the given length.
        unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, ms) };
        let mut b = [0u8; 8];
        // SAFETY: reads at most 8 bytes into a live buffer from our non-blocking eventfd.
        unsafe { libc::read(shared.wake.as_raw_fd(), b.as_mut_ptr().cast(), 8) };
    }
}
