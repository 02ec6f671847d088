//! Parsing the guest's frames far enough to route them, and building the UDP frames the NAT
//! sends back. Everything is checked (lengths, IPv4 and UDP/TCP checksums) before use.

use smoltcp::phy::ChecksumCapabilities;
use smoltcp::wire::{
    ArpOperation, ArpPacket, ArpRepr, EthernetAddress, EthernetFrame, EthernetProtocol, EthernetRepr, IpProtocol, Ipv4Address, Ipv4Packet,
    Ipv4Repr, TcpPacket, TcpRepr, UdpPacket, UdpRepr,
};

/// A UDP or TCP endpoint as the guest sees it.
pub type Endpoint = (Ipv4Address, u16);

/// What a guest frame is, as far as the user network cares.
#[derive(Debug, PartialEq, Eq)]
pub enum Kind<'a> {
    /// A UDP datagram (checksum verified).
    Udp {
        /// Sender.
        src: Endpoint,
        /// Destination.
        dst: Endpoint,
        /// Datagram payload.
        payload: &'a [u8],
    },
    /// A TCP segment opening a connection (SYN without ACK, checksum verified).
    TcpSyn {
        /// The guest's end.
        src: Endpoint,
        /// The destination.
        dst: Endpoint,
    },
    /// An ICMP message to `dst`.
    Icmp {
        /// Destination address.
        dst: Ipv4Address,
    },
    /// An ARP request for `target`.
    ArpRequest {
        /// The address asked for.
        target: Ipv4Address,
    },
    /// Anything else that parses: the TCP/IP stack decides.
    Other,
    /// Unusable: too short, bad header, bad checksum, unknown protocol.
    Malformed(&'static str),
}

/// Classifies an Ethernet frame from the guest.
pub fn classify(frame: &[u8]) -> Kind<'_> {
    let Ok(eth) = EthernetFrame::new_checked(frame) else { return Kind::Malformed("runt Ethernet frame") };
    let eth_payload = &frame[EthernetFrame::<&[u8]>::header_len()..];
    match eth.ethertype() {
        EthernetProtocol::Arp => match ArpPacket::new_checked(eth_payload).and_then(|p| ArpRepr::parse(&p)) {
            Ok(ArpRepr::EthernetIpv4 { operation: ArpOperation::Request, target_protocol_addr, .. }) => {
                Kind::ArpRequest { target: target_protocol_addr }
            }
            Ok(_) => Kind::Other,
            Err(_) => Kind::Malformed("bad ARP packet"),
        },
        EthernetProtocol::Ipv4 => classify_ipv4(eth_payload),
        // IPv6 and the rest: not routed by the user network (QEMU's slirp does IPv6; we do not).
        _ => Kind::Malformed("not IPv4 or ARP"),
    }
}

fn classify_ipv4(bytes: &[u8]) -> Kind<'_> {
    let caps = ChecksumCapabilities::default();
    let Ok(ip) = Ipv4Packet::new_checked(bytes) else { return Kind::Malformed("bad IPv4 header") };
    let Ok(repr) = Ipv4Repr::parse(&ip, &caps) else { return Kind::Malformed("bad IPv4 header or checksum") };
    let start = usize::from(ip.header_len());
    let payload = &bytes[start..start + repr.payload_len];
    let (src, dst) = (repr.src_addr.into(), repr.dst_addr.into());
    match repr.next_header {
        IpProtocol::Udp => {
            let Ok(udp) = UdpPacket::new_checked(payload) else { return Kind::Malformed("bad UDP header") };
            let Ok(u) = UdpRepr::parse(&udp, &src, &dst, &caps) else { return Kind::Malformed("bad UDP checksum") };
            let data = &payload[8..usize::from(udp.len())];
            Kind::Udp { src: (repr.src_addr, u.src_port), dst: (repr.dst_addr, u.dst_port), payload: data }
        }
        IpProtocol::Tcp => {
            let Ok(tcp) = TcpPacket::new_checked(payload) else { return Kind::Malformed("bad TCP header") };
            let Ok(t) = TcpRepr::parse(&tcp, &src, &dst, &caps) else { return Kind::Malformed("bad TCP header or checksum") };
            if tcp.syn() && !tcp.ack() {
                Kind::TcpSyn { src: (repr.src_addr, t.src_port), dst: (repr.dst_addr, t.dst_port) }
            } else {
                Kind::Other
            }
        }
        IpProtocol::Icmp => Kind::Icmp { dst: repr.dst_addr },
        _ => Kind::Malformed("IP protocol other than TCP, UDP and ICMP"),
    }
}

/// The guest's MAC address: the source of a frame, if it is a unicast one.
pub fn source_mac(frame: &[u8]) -> Option<EthernetAddress> {
    let mac = EthernetFrame::new_checked(frame).ok()?.src_addr();
    mac.is_unicast().then_some(mac)
}

/// An Ethernet frame carrying one UDP datagram.
pub fn udp_frame(macs: (EthernetAddress, EthernetAddress), src: Endpoint, dst: Endpoint, payload: &[u8]) -> Vec<u8> {
    let caps = ChecksumCapabilities::default();
    let eth = EthernetRepr { src_addr: macs.0, dst_addr: macs.1, ethertype: EthernetProtocol::Ipv4 };
    let udp = UdpRepr { src_port: src.1, dst_port: dst.1 };
    let ip = Ipv4Repr {
        src_addr: src.0,
        dst_addr: dst.0,
        next_header: IpProtocol::Udp,
        payload_len: udp.header_len() + payload.len(),
        hop_limit: 64,
    };
    let mut buf = vec![0u8; eth.buffer_len() + ip.buffer_len() + ip.payload_len];
    let mut f = EthernetFrame::new_unchecked(&mut buf[..]);
    eth.emit(&mut f);
    let mut p = Ipv4Packet::new_unchecked(f.payload_mut());
    ip.emit(&mut p, &caps);
    let mut u = UdpPacket::new_unchecked(p.payload_mut());
    udp.emit(&mut u, &src.0.into(), &dst.0.into(), payload.len(), |b| b.copy_from_slice(payload), &caps);
    buf
}
