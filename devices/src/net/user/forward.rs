//! Host port forwarding (`hostfwd=tcp|udp:[HOSTADDR]:PORT-[GUESTADDR]:PORT`): a TCP listener
//! on the host whose connections are opened towards the guest, or a UDP socket whose
//! datagrams the NAT relays to the guest ([`super::udp`]).

use super::GUEST;
use smoltcp::wire::Ipv4Address;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::os::fd::{AsRawFd, RawFd};

/// The protocol a rule forwards.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    /// TCP connections.
    Tcp,
    /// UDP datagrams.
    Udp,
}

/// One forwarding rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostFwd {
    /// What is forwarded.
    pub protocol: Protocol,
    /// Host address to listen on (default: any).
    pub host_addr: IpAddr,
    /// Host port.
    pub host_port: u16,
    /// Guest address (default: the DHCP lease, 10.0.2.15).
    pub guest_addr: Ipv4Address,
    /// Guest port.
    pub guest_port: u16,
}

impl HostFwd {
    /// Parses QEMU's `tcp|udp:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT` (without a
    /// protocol, TCP).
    pub fn parse(spec: &str) -> Result<HostFwd, String> {
        let (protocol, rest) = match spec.split_once(':') {
            Some(("tcp" | "", r)) => (Protocol::Tcp, r),
            Some(("udp", r)) => (Protocol::Udp, r),
            _ => return Err(format!("hostfwd={spec}: expected tcp|udp:[HOSTADDR]:PORT-[GUESTADDR]:PORT")),
        };
        let (host, guest) = rest.split_once('-').ok_or_else(|| format!("hostfwd={spec}: missing '-' between host and guest"))?;
        let bad = |what: &str| format!("hostfwd={spec}: bad {what}");
        let (ha, hp) = host.rsplit_once(':').ok_or_else(|| bad("host part (want [ADDR]:PORT)"))?;
        let (ga, gp) = guest.rsplit_once(':').ok_or_else(|| bad("guest part (want [ADDR]:PORT)"))?;
        Ok(HostFwd {
            protocol,
            host_addr: if ha.is_empty() { IpAddr::V4(Ipv4Addr::UNSPECIFIED) } else { ha.parse().map_err(|_| bad("host address"))? },
            host_port: hp.parse().map_err(|_| bad("host port"))?,
            guest_addr: if ga.is_empty() { GUEST } else { ga.parse().map_err(|_| bad("guest address"))? },
            guest_port: gp.parse().ok().filter(|&p| p != 0).ok_or_else(|| bad("guest port"))?,
        })
    }
}

/// A bound forward, before the stack takes it.
pub enum Bound {
    /// A TCP listener.
    Tcp(Forward),
    /// A UDP socket and its rule.
    Udp(UdpSocket, HostFwd),
}

impl Bound {
    /// Binds the rule's host address and port (non-blocking).
    pub fn bind(rule: HostFwd) -> std::io::Result<Bound> {
        let addr = SocketAddr::new(rule.host_addr, rule.host_port);
        Ok(match rule.protocol {
            Protocol::Tcp => {
                let listener = TcpListener::bind(addr)?;
                listener.set_nonblocking(true)?;
                Bound::Tcp(Forward { listener, rule })
            }
            Protocol::Udp => {
                let sock = UdpSocket::bind(addr)?;
                sock.set_nonblocking(true)?;
                Bound::Udp(sock, rule)
            }
        })
    }
}

/// A listening TCP forward.
pub struct Forward {
    listener: TcpListener,
    /// Its rule.
    pub rule: HostFwd,
}

impl Forward {
    /// A connection waiting to be accepted.
    pub fn accept(&self) -> Option<TcpStream> {
        self.listener.accept().ok().map(|(s, _)| s)
    }

    /// The listening socket.
    pub fn fd(&self) -> RawFd {
        self.listener.as_raw_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_qemu_spellings() {
        let f = HostFwd::parse("tcp::5555-:22").unwrap();
        assert_eq!((f.protocol, f.host_addr, f.host_port, f.guest_addr, f.guest_port), (Protocol::Tcp, IpAddr::V4(Ipv4Addr::UNSPECIFIED), 5555, GUEST, 22));
        let f = HostFwd::parse("udp:127.0.0.1:5353-:53").unwrap();
        assert_eq!((f.protocol, f.host_port, f.guest_addr, f.guest_port), (Protocol::Udp, 5353, GUEST, 53));
        let f = HostFwd::parse("tcp:127.0.0.1:8080-10.0.2.16:80").unwrap();
        assert_eq!(f.host_addr, IpAddr::V4(Ipv4Addr::LOCALHOST));
        assert_eq!((f.guest_addr, f.guest_port), (Ipv4Address::new(10, 0, 2, 16), 80));
        assert_eq!(HostFwd::parse("::2222-:22").unwrap().host_port, 2222);
    }

    #[test]
    fn refuses_bad_rules() {
        for bad in ["udp::53", "tcp:5555:22", "tcp::x-:22", "tcp::1-:0", "tcp::1-nowhere:2", "sctp::1-:2"] {
            assert!(HostFwd::parse(bad).is_err(), "{bad}");
        }
    }
}
