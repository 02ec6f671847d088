//! The user network driven with raw frames, as a guest would: ARP, DHCP, TCP and UDP to the
//! host's loopback, and malformed frames that must vanish without harm.

use super::*;
use crate::net::NetBackend;
use smoltcp::phy::ChecksumCapabilities;
use smoltcp::wire::{
    ArpOperation, ArpPacket, ArpRepr, DhcpMessageType, DhcpPacket, DhcpRepr, EthernetFrame, EthernetProtocol, EthernetRepr, IpProtocol,
    Ipv4Packet, Ipv4Repr, TcpControl, TcpPacket, TcpRepr, TcpSeqNumber,
};
use std::net::{TcpListener, UdpSocket};
use std::time::{Duration, Instant};

const GUEST_MAC: EthernetAddress = EthernetAddress([0x52, 0x54, 0, 0x12, 0x34, 0x56]);

fn start() -> UserNet {
    UserNet::start(&UserConfig::default(), Arc::new(|| {})).unwrap()
}

/// Frames from the stack within `wait` that `pick` accepts (the first one).
fn expect<T>(net: &mut UserNet, wait: Duration, mut pick: impl FnMut(&[u8]) -> Option<T>) -> Option<T> {
    let t0 = Instant::now();
    while t0.elapsed() < wait {
        match net.recv() {
            Some(f) => {
                if let Some(v) = pick(&f) {
                    return Some(v);
                }
            }
            None => std::thread::sleep(Duration::from_millis(2)),
        }
    }
    None
}

fn arp_request(target: Ipv4Address) -> Vec<u8> {
    let arp = ArpRepr::EthernetIpv4 {
        operation: ArpOperation::Request,
        source_hardware_addr: GUEST_MAC,
        source_protocol_addr: GUEST,
        target_hardware_addr: EthernetAddress([0; 6]),
        target_protocol_addr: target,
    };
    let eth = EthernetRepr { src_addr: GUEST_MAC, dst_addr: EthernetAddress::BROADCAST, ethertype: EthernetProtocol::Arp };
    let mut buf = vec![0u8; eth.buffer_len() + arp.buffer_len()];
    let mut f = EthernetFrame::new_unchecked(&mut buf[..]);
    eth.emit(&mut f);
    arp.emit(&mut ArpPacket::new_unchecked(f.payload_mut()));
    buf
}

fn arp_reply_for(f: &[u8]) -> Option<(Ipv4Address, EthernetAddress)> {
    let eth = EthernetFrame::new_checked(f).ok()?;
    match ArpRepr::parse(&ArpPacket::new_checked(eth.payload()).ok()?).ok()? {
        ArpRepr::EthernetIpv4 { operation: ArpOperation::Reply, source_protocol_addr, source_hardware_addr, .. } => {
            Some((source_protocol_addr, source_hardware_addr))
        }
        _ => None,
    }
}

fn tcp_syn(dst: (Ipv4Address, u16), sport: u16) -> Vec<u8> {
    let caps = ChecksumCapabilities::default();
    let tcp = TcpRepr {
        src_port: sport,
        dst_port: dst.1,
        control: TcpControl::Syn,
        seq_number: TcpSeqNumber(1000),
        ack_number: None,
        window_len: 64000,
        window_scale: None,
        max_seg_size: Some(1460),
        sack_permitted: false,
        sack_ranges: [None; 3],
        timestamp: None,
        payload: &[],
    };
    let ip = Ipv4Repr { src_addr: GUEST, dst_addr: dst.0, next_header: IpProtocol::Tcp, payload_len: tcp.buffer_len(), hop_limit: 64 };
    let eth = EthernetRepr { src_addr: GUEST_MAC, dst_addr: GATEWAY_MAC, ethertype: EthernetProtocol::Ipv4 };
    let mut buf = vec![0u8; eth.buffer_len() + ip.buffer_len() + tcp.buffer_len()];
    let mut f = EthernetFrame::new_unchecked(&mut buf[..]);
    eth.emit(&mut f);
    let mut p = Ipv4Packet::new_unchecked(f.payload_mut());
    ip.emit(&mut p, &caps);
    tcp.emit(&mut TcpPacket::new_unchecked(p.payload_mut()), &GUEST.into(), &dst.0.into(), &caps);
    buf
}

/// (syn, ack, rst) of a TCP segment to the guest's `sport`.
fn tcp_flags(f: &[u8], sport: u16) -> Option<(bool, bool, bool)> {
    let eth = EthernetFrame::new_checked(f).ok()?;
    let ip = Ipv4Packet::new_checked(eth.payload()).ok()?;
    if ip.next_header() != IpProtocol::Tcp {
        return None;
    }
    let t = TcpPacket::new_checked(ip.payload()).ok()?;
    (t.dst_port() == sport).then(|| (t.syn(), t.ack(), t.rst()))
}

/// UDP payload of a frame to `port` on the guest, with its source.
fn udp_to(f: &[u8], port: u16) -> Option<((Ipv4Address, u16), Vec<u8>)> {
    match frame::classify(f) {
        frame::Kind::Udp { src, dst, payload } if dst.1 == port => Some((src, payload.to_vec())),
        _ => None,
    }
}

#[test]
fn arp_is_answered_for_the_gateway_and_dns_only() {
    let mut net = start();
    net.send(&arp_request(GATEWAY));
    assert_eq!(expect(&mut net, Duration::from_secs(2), arp_reply_for), Some((GATEWAY, GATEWAY_MAC)));
    net.send(&arp_request(DNS));
    assert_eq!(expect(&mut net, Duration::from_secs(2), arp_reply_for).map(|r| r.0), Some(DNS));
    net.send(&arp_request(Ipv4Address::new(10, 0, 2, 15)));
    net.send(&arp_request(Ipv4Address::new(10, 0, 2, 77)));
    assert_eq!(expect(&mut net, Duration::from_millis(300), arp_reply_for), None);
}

#[test]
fn dhcp_discover_in_a_broadcast_frame_gets_an_offer() {
    let mut net = start();
    let repr = DhcpRepr {
        message_type: DhcpMessageType::Discover,
        transaction_id: 77,
        secs: 0,
        client_hardware_address: GUEST_MAC,
        client_ip: Ipv4Address::UNSPECIFIED,
        your_ip: Ipv4Address::UNSPECIFIED,
        server_ip: Ipv4Address::UNSPECIFIED,
        router: None,
        subnet_mask: None,
        relay_agent_ip: Ipv4Address::UNSPECIFIED,
        broadcast: false,
        requested_ip: None,
        client_identifier: None,
        server_identifier: None,
        parameter_request_list: None,
        dns_servers: None,
        max_size: None,
        lease_duration: None,
        renew_duration: None,
        rebind_duration: None,
        additional_options: &[],
    };
    let mut msg = vec![0u8; repr.buffer_len()];
    repr.emit(&mut DhcpPacket::new_unchecked(&mut msg[..])).unwrap();
    let macs = (GUEST_MAC, EthernetAddress::BROADCAST);
    net.send(&frame::udp_frame(macs, (Ipv4Address::UNSPECIFIED, 68), (Ipv4Address::BROADCAST, 67), &msg));
    let (src, reply) = expect(&mut net, Duration::from_secs(2), |f| udp_to(f, 68)).expect("an offer");
    assert_eq!(src, (GATEWAY, 67));
    let r = DhcpPacket::new_checked(&reply[..]).unwrap();
    let r = DhcpRepr::parse(&r).unwrap();
    assert_eq!((r.message_type, r.your_ip, r.transaction_id), (DhcpMessageType::Offer, GUEST, 77));
}

#[test]
fn tcp_to_the_gateway_reaches_the_host_loopback_and_closed_ports_reset() {
    let mut net = start();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    net.send(&tcp_syn((GATEWAY, port), 40000));
    // The stack needs the guest's MAC to answer: a request from the guest teaches it.
    net.send(&arp_request(GATEWAY));
    let flags = expect(&mut net, Duration::from_secs(3), |f| tcp_flags(f, 40000));
    assert_eq!(flags, Some((true, true, false)), "SYN-ACK");
    listener.set_nonblocking(true).unwrap();
    assert!(listener.accept().is_ok(), "the host saw the connection");
    drop(listener);
    net.send(&tcp_syn((GATEWAY, port), 40001));
    let flags = expect(&mut net, Duration::from_secs(3), |f| tcp_flags(f, 40001));
    assert_eq!(flags.map(|f| f.2), Some(true), "RST for a closed port");
}

#[test]
fn a_slow_host_connection_does_not_stall_the_stack() {
    let mut net = start();
    // TEST-NET-1: never answers (or is unreachable at once); either way the stack goes on.
    net.send(&tcp_syn((Ipv4Address::new(192, 0, 2, 1), 80), 42000));
    let t0 = Instant::now();
    net.send(&arp_request(GATEWAY));
    assert_eq!(expect(&mut net, Duration::from_secs(2), arp_reply_for).map(|r| r.0), Some(GATEWAY));
    assert!(t0.elapsed() < Duration::from_millis(500), "answered after {:?}", t0.elapsed());
}

#[test]
fn udp_to_the_gateway_reaches_the_host_and_replies_come_back() {
    let mut net = start();
    let echo = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = echo.local_addr().unwrap().port();
    let macs = (GUEST_MAC, GATEWAY_MAC);
    net.send(&frame::udp_frame(macs, (GUEST, 5000), (GATEWAY, port), b"ping"));
    echo.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    let mut b = [0u8; 16];
    let (n, from) = echo.recv_from(&mut b).unwrap();
    assert_eq!(&b[..n], b"ping");
    echo.send_to(b"pong", from).unwrap();
    let (src, payload) = expect(&mut net, Duration::from_secs(2), |f| udp_to(f, 5000)).expect("a reply");
    assert_eq!((src, payload.as_slice()), ((GATEWAY, port), &b"pong"[..]));
}

#[test]
fn udp_forwarded_port_reaches_the_guest_and_replies_go_back_to_the_sender() {
    let port = UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let rule = HostFwd::parse(&format!("udp:127.0.0.1:{port}-:5000")).unwrap();
    let mut net = UserNet::start(&UserConfig { hostfwd: vec![rule] }, Arc::new(|| {})).unwrap();
    let host = UdpSocket::bind("127.0.0.1:0").unwrap();
    let host_port = host.local_addr().unwrap().port();
    host.send_to(b"ping", ("127.0.0.1", port)).unwrap();
    let (src, payload) = expect(&mut net, Duration::from_secs(2), |f| udp_to(f, 5000)).expect("the datagram in the guest");
    assert_eq!((src, payload.as_slice()), ((GATEWAY, host_port), &b"ping"[..]), "from the gateway, as slirp does for the host");
    let macs = (GUEST_MAC, GATEWAY_MAC);
    net.send(&frame::udp_frame(macs, (GUEST, 5000), src, b"pong"));
    host.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    let mut b = [0u8; 16];
    let (n, from) = host.recv_from(&mut b).unwrap();
    assert_eq!((&b[..n], from.port()), (&b"pong"[..], port), "the reply comes from the forwarded port");
    // The forwarded port is taken: a second user network cannot bind it.
    let again = HostFwd::parse(&format!("udp:127.0.0.1:{port}-:5000")).unwrap();
    let err = UserNet::start(&UserConfig { hostfwd: vec![again] }, Arc::new(|| {})).err().expect("port in use");
    assert!(err.to_string().contains("cannot bind"), "{err}");
}

#[test]
fn malformed_frames_are_dropped_and_the_stack_keeps_working() {
    let mut net = start();
    let good_syn = tcp_syn((GATEWAY, 9), 41000);
    let mut bad = vec![vec![0u8; 3], vec![0xffu8; 13], vec![0x5a; 9000]];
    // IPv4 header checksum broken.
    let mut f = good_syn.clone();
    f[14 + 10] ^= 0xff;
    bad.push(f);
    // IP total length past the frame's end.
    let mut f = good_syn.clone();
    f[14 + 2..14 + 4].copy_from_slice(&1400u16.to_be_bytes());
    bad.push(f);
    // IHL below the minimum.
    let mut f = good_syn.clone();
    f[14] = 0x41;
    bad.push(f);
    // TCP data offset past the segment, and a TCP checksum error.
    let mut f = good_syn.clone();
    f[14 + 20 + 12] = 0xf0;
    bad.push(f);
    let mut f = good_syn.clone();
    f[14 + 20 + 16] ^= 0x55;
    bad.push(f);
    // Truncated in the middle of the TCP header.
    bad.push(good_syn[..14 + 20 + 7].to_vec());
    // UDP with a length larger than the packet, and an unknown IP protocol.
    let mut u = frame::udp_frame((GUEST_MAC, GATEWAY_MAC), (GUEST, 1), (GATEWAY, 53), b"xx");
    u[14 + 20 + 4..14 + 20 + 6].copy_from_slice(&900u16.to_be_bytes());
    bad.push(u);
    let mut p = good_syn.clone();
    p[14 + 9] = 99;
    bad.push(p);
    for f in &bad {
        assert!(!matches!(frame::classify(f), frame::Kind::TcpSyn { .. } | frame::Kind::Udp { .. }), "{:x?}", &f[..f.len().min(40)]);
        net.send(f);
    }
    // Nothing came back for any of them, and the stack still answers.
    assert_eq!(expect(&mut net, Duration::from_millis(300), |f| Some(f.len())), None);
    net.send(&arp_request(GATEWAY));
    assert_eq!(expect(&mut net, Duration::from_secs(2), arp_reply_for).map(|r| r.0), Some(GATEWAY));
}

#[test]
fn destinations_map_like_qemu() {
    assert_eq!(map_destination((GATEWAY, 80)), Some("127.0.0.1:80".parse().unwrap()));
    assert_eq!(map_destination((Ipv4Address::new(93, 184, 216, 34), 443)), Some("93.184.216.34:443".parse().unwrap()));
    assert_eq!(map_destination((Ipv4Address::new(10, 0, 2, 9), 80)), None);
    assert_eq!(map_destination((Ipv4Address::BROADCAST, 80)), None);
    assert_eq!(map_destination((Ipv4Address::new(127, 0, 0, 1), 80)), None);
}

#[test]
fn dns_to_10_0_2_3_goes_to_the_resolver_and_answers_come_from_10_0_2_3() {
    let resolver = UdpSocket::bind("127.0.0.1:0").unwrap();
    resolver.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    let mut nat = udp::UdpNat::new(resolver.local_addr().unwrap());
    nat.send((GUEST, 5353), (DNS, 53), b"query");
    let mut b = [0u8; 16];
    let (n, from) = resolver.recv_from(&mut b).unwrap();
    assert_eq!(&b[..n], b"query");
    resolver.send_to(b"answer", from).unwrap();
    let mut out = Vec::new();
    let t0 = Instant::now();
    while out.is_empty() && t0.elapsed() < Duration::from_secs(2) {
        nat.receive((GATEWAY_MAC, GUEST_MAC), &mut out);
    }
    let (src, payload) = udp_to(&out[0], 5353).unwrap();
    assert_eq!((src, payload.as_slice()), ((DNS, 53), &b"answer"[..]));
}

#[test]
fn pings_are_answered_for_the_gateway_only() {
    let mut net = start();
    net.send(&arp_request(GATEWAY));
    expect(&mut net, Duration::from_secs(2), arp_reply_for).unwrap();
    for (dst, answered) in [(GATEWAY, true), (Ipv4Address::new(192, 0, 2, 1), false)] {
        let caps = ChecksumCapabilities::default();
        let icmp = smoltcp::wire::Icmpv4Repr::EchoRequest { ident: 1, seq_no: 1, data: b"hi" };
        let ip = Ipv4Repr { src_addr: GUEST, dst_addr: dst, next_header: IpProtocol::Icmp, payload_len: icmp.buffer_len(), hop_limit: 64 };
        let eth = EthernetRepr { src_addr: GUEST_MAC, dst_addr: GATEWAY_MAC, ethertype: EthernetProtocol::Ipv4 };
        let mut buf = vec![0u8; eth.buffer_len() + ip.buffer_len() + icmp.buffer_len()];
        let mut f = EthernetFrame::new_unchecked(&mut buf[..]);
        eth.emit(&mut f);
        let mut p = Ipv4Packet::new_unchecked(f.payload_mut());
        ip.emit(&mut p, &caps);
        icmp.emit(&mut smoltcp::wire::Icmpv4Packet::new_unchecked(p.payload_mut()), &caps);
        net.send(&buf);
        let reply = expect(&mut net, Duration::from_millis(500), |f| {
            let ip = Ipv4Packet::new_checked(EthernetFrame::new_checked(f).ok()?.payload()).ok()?;
            (ip.next_header() == IpProtocol::Icmp).then(|| ip.src_addr())
        });
        assert_eq!(reply.is_some(), answered, "{dst}");
    }
}
