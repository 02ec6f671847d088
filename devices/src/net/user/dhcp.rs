//! The DHCP server of the user network: one lease, the guest address, with the gateway and
//! DNS server of QEMU's defaults.

use super::{DNS, GATEWAY, GUEST, NETMASK};
use smoltcp::wire::{DhcpMessageType, DhcpOption, DhcpPacket, DhcpRepr, Ipv4Address};

/// Server port.
pub const SERVER_PORT: u16 = 67;
/// Client port.
pub const CLIENT_PORT: u16 = 68;
/// Lease length in seconds (QEMU's slirp gives a day).
const LEASE_SECS: u32 = 24 * 3600;
/// Option: domain name servers.
const OPT_DNS: u8 = 6;

/// The reply (DHCP message bytes) to a client message, if it needs one.
pub fn reply(request: &[u8]) -> Option<Vec<u8>> {
    let packet = DhcpPacket::new_checked(request).ok()?;
    let req = DhcpRepr::parse(&packet).ok()?;
    let ty = match req.message_type {
        DhcpMessageType::Discover => DhcpMessageType::Offer,
        DhcpMessageType::Request => {
            let asked = req.requested_ip.unwrap_or(req.client_ip);
            let ours = req.server_identifier.is_none_or(|s| s == GATEWAY);
            if !ours {
                return None; // the client chose another server
            }
            if asked == GUEST || asked == Ipv4Address::UNSPECIFIED {
                DhcpMessageType::Ack
            } else {
                DhcpMessageType::Nak
            }
        }
        _ => return None, // release, decline, inform: nothing to keep
    };
    let ack = ty != DhcpMessageType::Nak;
    let dns_octets = DNS.octets();
    let dns_option = [DhcpOption { kind: OPT_DNS, data: &dns_octets }];
    let repr = DhcpRepr {
        message_type: ty,
        transaction_id: req.transaction_id,
        secs: 0,
        client_hardware_address: req.client_hardware_address,
        client_ip: Ipv4Address::UNSPECIFIED,
        your_ip: if ack { GUEST } else { Ipv4Address::UNSPECIFIED },
        server_ip: GATEWAY,
        router: ack.then_some(GATEWAY),
        subnet_mask: ack.then_some(NETMASK),
        relay_agent_ip: Ipv4Address::UNSPECIFIED,
        broadcast: req.broadcast,
        requested_ip: None,
        client_identifier: None,
        server_identifier: Some(GATEWAY),
        parameter_request_list: None,
        dns_servers: None,
        max_size: None,
        lease_duration: ack.then_some(LEASE_SECS),
        renew_duration: None,
        rebind_duration: None,
        // smoltcp's own DNS list is a heapless vector; the raw option needs no extra crate.
        additional_options: if ack { &dns_option } else { &[] },
    };
    let mut buf = vec![0u8; repr.buffer_len()];
    repr.emit(&mut DhcpPacket::new_unchecked(&mut buf[..])).ok()?;
    Some(buf)
}


#[cfg(test)]
mod tests {
    use super::*;
    use smoltcp::wire::EthernetAddress;

    fn client(ty: DhcpMessageType, requested: Option<Ipv4Address>) -> Vec<u8> {
        let repr = DhcpRepr {
            message_type: ty,
            transaction_id: 0x1234_5678,
            secs: 0,
            client_hardware_address: EthernetAddress([0x52, 0x54, 0, 0x12, 0x34, 0x56]),
            client_ip: Ipv4Address::UNSPECIFIED,
            your_ip: Ipv4Address::UNSPECIFIED,
            server_ip: Ipv4Address::UNSPECIFIED,
            router: None,
            subnet_mask: None,
            relay_agent_ip: Ipv4Address::UNSPECIFIED,
            broadcast: false,
            requested_ip: requested,
            client_identifier: None,
            server_identifier: None,
            parameter_request_list: Some(&[1, 3, 6]),
            dns_servers: None,
            max_size: None,
            lease_duration: None,
            renew_duration: None,
            rebind_duration: None,
            additional_options: &[],
        };
        let mut buf = vec![0u8; repr.buffer_len()];
        repr.emit(&mut DhcpPacket::new_unchecked(&mut buf[..])).unwrap();
        buf
    }

    type Addr = Option<Ipv4Address>;

    /// (message type, your address, router, mask, server id, transaction, DNS option).
    fn parse(b: &[u8]) -> (DhcpMessageType, Ipv4Address, Addr, Addr, Addr, u32, Vec<Ipv4Address>) {
        let p = DhcpPacket::new_checked(b).unwrap();
        let r = DhcpRepr::parse(&p).unwrap();
        let dns = r.dns_servers.map(|d| d.to_vec()).unwrap_or_default();
        (r.message_type, r.your_ip, r.router, r.subnet_mask, r.server_identifier, r.transaction_id, dns)
    }

    #[test]
    fn discover_gets_an_offer_of_the_guest_address_with_gateway_and_dns() {
        let r = reply(&client(DhcpMessageType::Discover, None)).unwrap();
        let (ty, yiaddr, router, mask, server, xid, dns) = parse(&r);
        assert_eq!(ty, DhcpMessageType::Offer);
        assert_eq!(xid, 0x1234_5678);
        assert_eq!(yiaddr, Ipv4Address::new(10, 0, 2, 15));
        assert_eq!(router, Some(Ipv4Address::new(10, 0, 2, 2)));
        assert_eq!(mask, Some(Ipv4Address::new(255, 255, 255, 0)));
        assert_eq!(dns, vec![Ipv4Address::new(10, 0, 2, 3)]);
        assert_eq!(server, Some(Ipv4Address::new(10, 0, 2, 2)));
    }

    #[test]
    fn request_for_the_lease_is_acked_and_for_another_address_naked() {
        let ack = reply(&client(DhcpMessageType::Request, Some(GUEST))).unwrap();
        assert_eq!(parse(&ack).0, DhcpMessageType::Ack);
        let nak = reply(&client(DhcpMessageType::Request, Some(Ipv4Address::new(10, 0, 2, 99)))).unwrap();
        assert_eq!(parse(&nak).0, DhcpMessageType::Nak);
    }

    #[test]
    fn garbage_gets_no_reply() {
        assert!(reply(&[0u8; 10]).is_none());
        assert!(reply(&[0xffu8; 300]).is_none());
    }
}
