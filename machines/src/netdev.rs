//! Network cards and their host backends from the command line, in QEMU's spellings:
//!
//! * `-netdev user,id=ID[,hostfwd=tcp|udp:[HOSTADDR]:PORT-[GUESTADDR]:PORT]...` or
//!   `-netdev socket,id=ID,listen=[HOST]:PORT|connect=HOST:PORT` or
//!   `-netdev tap,id=ID[,ifname=NAME][,script=no,downscript=no]`, plus
//!   `-device virtio-net-pci,netdev=ID[,mac=MAC]`;
//! * the short `-nic user[,hostfwd=...][,model=virtio-net-pci][,mac=MAC]` (or `-nic none`);
//! * the old `-net nic[,model=virtio][,macaddr=MAC] -net user[,hostfwd=...]` (or `-net none`).
//!
//! Every card is a virtio-net-pci; MAC addresses default to QEMU's 52:54:00:12:34:56, +1
//! per card without one. Without any of these options the board gets QEMU's default card,
//! `-net nic -net user` (`-net none`, `-nic none` or `-nodefaults` turn it off).

use crate::drive::split_options;
use ferrite_devices::net::socket::SocketNet;
use ferrite_devices::net::tap::TapNet;
use ferrite_devices::net::user::{HostFwd, UserConfig, UserNet, UserNetError};
use ferrite_devices::net::{NetBackend, Waker};
use std::collections::HashMap;

/// A network backend that could not start.
#[derive(Debug, thiserror::Error)]
pub enum NetError {
    /// User networking (a forwarded port is taken, ...).
    #[error(transparent)]
    User(#[from] UserNetError),
    /// `-netdev socket`.
    #[error("-netdev socket {addr}: {source}")]
    Socket {
        /// The address.
        addr: String,
        /// Why.
        source: std::io::Error,
    },
    /// `-netdev tap`.
    #[error("-netdev tap: cannot open the TAP interface: {0} (it needs CAP_NET_ADMIN or a TAP device you own)")]
    Tap(std::io::Error),
}

/// Starts the backend `cfg` describes; `waker` is called when frames for the guest arrive.
pub fn open_backend(cfg: &NetBackendConfig, waker: Waker) -> Result<Box<dyn NetBackend>, NetError> {
    Ok(match cfg {
        NetBackendConfig::User(u) => Box::new(UserNet::start(u, waker)?),
        NetBackendConfig::Socket { listen, addr } => {
            let s = if *listen { SocketNet::listen(addr, waker) } else { SocketNet::connect(addr, waker) };
            Box::new(s.map_err(|source| NetError::Socket { addr: addr.clone(), source })?)
        }
        NetBackendConfig::Tap { ifname } => {
            let tap = TapNet::open(ifname.as_deref(), waker).map_err(NetError::Tap)?;
            tracing::info!("tap: guest network on host interface {}", tap.name());
            Box::new(tap)
        }
    })
}

/// A host network backend.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NetBackendConfig {
    /// User networking (NAT to host sockets).
    User(UserConfig),
    /// Frames over TCP to another emulator: listen on, or connect to, `addr` (HOST:PORT).
    Socket {
        /// Listen (true) or connect.
        listen: bool,
        /// The address.
        addr: String,
    },
    /// A host TAP interface (`None`: the kernel names it).
    Tap {
        /// Interface name.
        ifname: Option<String>,
    },
}

/// One network card for the board.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NicConfig {
    /// Its MAC address.
    pub mac: [u8; 6],
    /// What it is plugged into.
    pub backend: NetBackendConfig,
    /// Position of its `-device` among all `-device` options (None: a board card, from
    /// `-nic`, `-net nic` or the default).
    pub device_index: Option<usize>,
}

/// The network options of a command line.
#[derive(Clone, Debug, Default)]
pub struct NetOptions {
    /// `-netdev` values.
    pub netdev: Vec<String>,
    /// `-device` values.
    pub device: Vec<String>,
    /// `-nic` values.
    pub nic: Vec<String>,
    /// `-net` values.
    pub net: Vec<String>,
    /// `-nodefaults`: no card unless one is asked for.
    pub nodefaults: bool,
}

/// QEMU's first MAC address.
const DEFAULT_MAC: [u8; 6] = [0x52, 0x54, 0x00, 0x12, 0x34, 0x56];

/// Parses a MAC address written `xx:xx:xx:xx:xx:xx` (or with dashes).
pub fn parse_mac(s: &str) -> Result<[u8; 6], String> {
    let parts: Vec<&str> = s.split([':', '-']).collect();
    let mut mac = [0u8; 6];
    if parts.len() != 6 || parts.iter().zip(mac.iter_mut()).any(|(p, m)| p.len() != 2 || u8::from_str_radix(p, 16).map(|v| *m = v).is_err()) {
        return Err(format!("'{s}' is not a MAC address (xx:xx:xx:xx:xx:xx)"));
    }
    if mac[0] & 1 != 0 {
        return Err(format!("MAC address {s} is a multicast address"));
    }
    Ok(mac)
}

/// Key/value pairs of an option string after its leading type word.
fn pairs<'a>(opt: &str, items: &'a [String]) -> Result<Vec<(&'a str, &'a str)>, String> {
    items.iter().map(|i| i.split_once('=').ok_or_else(|| format!("{opt}: '{i}' is not KEY=VALUE"))).collect()
}

/// A backend from its type word and options; keys the caller handles are skipped.
fn backend(opt: &str, ty: &str, kv: &[(&str, &str)], skip: &[&str]) -> Result<NetBackendConfig, String> {
    match ty {
        "user" => {
            let mut cfg = UserConfig::default();
            for &(k, v) in kv {
                match k {
                    "hostfwd" => cfg.hostfwd.push(HostFwd::parse(v)?),
                    _ if skip.contains(&k) => {}
                    _ => return Err(format!("{opt} user: unknown option '{k}' (accepted: id, hostfwd)")),
                }
            }
            Ok(NetBackendConfig::User(cfg))
        }
        "socket" => {
            let mut addr = None;
            for &(k, v) in kv {
                match k {
                    "listen" => addr = Some((true, v.to_string())),
                    "connect" => addr = Some((false, v.to_string())),
                    _ if skip.contains(&k) => {}
                    _ => return Err(format!("{opt} socket: unknown option '{k}' (accepted: id, listen, connect)")),
                }
            }
            let (listen, addr) = addr.ok_or_else(|| format!("{opt} socket: listen=[HOST]:PORT or connect=HOST:PORT is required"))?;
            Ok(NetBackendConfig::Socket { listen, addr })
        }
        "tap" => {
            let mut ifname = None;
            for &(k, v) in kv {
                match k {
                    "ifname" => ifname = Some(v.to_string()),
                    "script" | "downscript" if v == "no" || v.is_empty() => {}
                    "script" | "downscript" => return Err(format!("{opt} tap: {k}={v}: scripts are not run (use {k}=no and configure the host side yourself)")),
                    _ if skip.contains(&k) => {}
                    _ => return Err(format!("{opt} tap: unknown option '{k}' (accepted: id, ifname, script=no, downscript=no)")),
                }
            }
            Ok(NetBackendConfig::Tap { ifname })
        }
        "bridge" | "vde" | "l2tpv3" | "vhost-user" | "stream" | "dgram" => {
            Err(format!("{opt} {ty}: not supported (user, socket and tap are)"))
        }
        _ => Err(format!("{opt}: unknown network backend '{ty}' (user, socket or tap)")),
    }
}

fn check_model(opt: &str, model: &str) -> Result<(), String> {
    match model {
        "virtio" | "virtio-net-pci" | "virtio-net" => Ok(()),
        _ => Err(format!("{opt}: model={model} is not supported (only virtio-net-pci)")),
    }
}

impl NetOptions {
    /// The network cards these options describe, in QEMU's order: `-nic`s, `-net nic`s,
    /// then `-device`s. With no network option at all (and no `-nodefaults`), one card on
    /// user networking, as QEMU's ppce500 has.
    pub fn nics(&self) -> Result<Vec<NicConfig>, String> {
        let mut netdevs: HashMap<String, Option<NetBackendConfig>> = HashMap::new();
        for spec in &self.netdev {
            let items = split_options(spec);
            let (ty, rest) = items.split_first().ok_or("-netdev: empty option")?;
            let kv = pairs("-netdev", rest)?;
            let id = kv.iter().find(|(k, _)| *k == "id").map(|(_, v)| v.to_string()).ok_or_else(|| format!("-netdev {ty}: id= is required"))?;
            let b = backend("-netdev", ty, &kv, &["id"])?;
            if netdevs.insert(id.clone(), Some(b)).is_some() {
                return Err(format!("-netdev: duplicate id '{id}'"));
            }
        }
        // QEMU's order: the board's cards (-nic, then -net nic), then -device in order.
        let mut cards: Vec<(Option<usize>, Option<[u8; 6]>, NetBackendConfig)> = Vec::new();
        for spec in &self.nic {
            let items = split_options(spec);
            let (ty, rest) = items.split_first().ok_or("-nic: empty option")?;
            if ty == "none" {
                continue;
            }
            let kv = pairs("-nic", rest)?;
            let mut mac = None;
            for &(k, v) in &kv {
                match k {
                    "model" => check_model("-nic", v)?,
                    "mac" => mac = Some(parse_mac(v)?),
                    _ => {}
                }
            }
            cards.push((None, mac, backend("-nic", ty, &kv, &["id", "model", "mac"])?));
        }
        let (mut nic_macs, mut backends) = (Vec::new(), Vec::new());
        for spec in &self.net {
            let items = split_options(spec);
            let (ty, rest) = items.split_first().ok_or("-net: empty option")?;
            let kv = pairs("-net", rest)?;
            match ty.as_str() {
                "none" => {}
                "nic" => {
                    let mut mac = None;
                    for (k, v) in kv {
                        match k {
                            "model" => check_model("-net nic", v)?,
                            "macaddr" | "mac" => mac = Some(parse_mac(v)?),
                            "id" | "name" | "netdev" | "vlan" => {}
                            _ => return Err(format!("-net nic: unknown option '{k}' (accepted: model, macaddr)")),
                        }
                    }
                    nic_macs.push(mac);
                }
                _ => backends.push(backend("-net", ty, &kv, &["id", "name", "vlan"])?),
            }
        }
        if nic_macs.len() > backends.len() {
            return Err("-net nic: each card needs its own -net user (or socket)".into());
        }
        nic_macs.resize(backends.len(), None);
        cards.extend(nic_macs.into_iter().zip(backends).map(|(mac, b)| (None, mac, b)));
        for (index, spec) in self.device.iter().enumerate() {
            let items = split_options(spec);
            let (model, rest) = items.split_first().ok_or("-device: empty option")?;
            if crate::console::DRIVERS.contains(&model.as_str()) {
                continue;
            }
            if !matches!(model.as_str(), "virtio-net-pci" | "virtio-net") {
                return Err(format!("-device {model}: not supported (virtio-net-pci, virtio-serial-pci and virtconsole are; disks are -drive)"));
            }
            let mut mac = None;
            let mut netdev = None;
            for (k, v) in pairs("-device", rest)? {
                match k {
                    "netdev" => netdev = Some(v),
                    "mac" => mac = Some(parse_mac(v)?),
                    "id" | "bus" | "addr" => {}
                    _ => return Err(format!("-device {model}: unknown option '{k}' (accepted: netdev, mac, id)")),
                }
            }
            let id = netdev.ok_or_else(|| format!("-device {model}: netdev= is required"))?;
            let b = netdevs.get_mut(id).ok_or_else(|| format!("-device {model}: no -netdev with id '{id}'"))?;
            let b = b.take().ok_or_else(|| format!("-netdev '{id}' is used by two cards"))?;
            cards.push((Some(index), mac, b));
        }
        if let Some((id, _)) = netdevs.iter().find(|(_, b)| b.is_some()) {
            return Err(format!("-netdev '{id}' is not used by any -device virtio-net-pci,netdev={id}"));
        }
        // Without any network option, QEMU's ppce500 has one card on user networking.
        if self.netdev.is_empty() && self.nic.is_empty() && self.net.is_empty() && !self.nodefaults {
            cards.push((None, None, NetBackendConfig::User(UserConfig::default())));
        }
        // Cards without a MAC get QEMU's next default one, counting only those.
        let mut next = 0u8;
        Ok(cards
            .into_iter()
            .map(|(device_index, mac, backend)| {
                let mac = mac.unwrap_or_else(|| {
                    let mut m = DEFAULT_MAC;
                    m[5] = m[5].wrapping_add(next);
                    next = next.wrapping_add(1);
                    m
                });
                NicConfig { mac, backend, device_index }
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(netdev: &[&str], device: &[&str], nic: &[&str], net: &[&str]) -> NetOptions {
        let v = |s: &[&str]| s.iter().map(|x| x.to_string()).collect();
        NetOptions { netdev: v(netdev), device: v(device), nic: v(nic), net: v(net), nodefaults: false }
    }

    #[test]
    fn the_three_spellings_give_the_same_card() {
        let a = opts(&["user,id=n0,hostfwd=tcp::5555-:22"], &["virtio-net-pci,netdev=n0"], &[], &[]).nics().unwrap();
        let b = opts(&[], &[], &["user,model=virtio-net-pci,hostfwd=tcp::5555-:22"], &[]).nics().unwrap();
        let c = opts(&[], &[], &[], &["nic,model=virtio", "user,hostfwd=tcp::5555-:22"]).nics().unwrap();
        let card = |n: &[NicConfig]| (n[0].mac, n[0].backend.clone());
        assert_eq!(card(&a), card(&b));
        assert_eq!(card(&a), card(&c));
        assert_eq!((a[0].device_index, b[0].device_index), (Some(0), None));
        assert_eq!(a[0].mac, DEFAULT_MAC);
        let NetBackendConfig::User(u) = &a[0].backend else { panic!("user") };
        assert_eq!(u.hostfwd[0].host_port, 5555);
    }

    #[test]
    fn macs_count_up_and_can_be_given() {
        let n = opts(&[], &[], &["user", "user,mac=02:00:00:00:00:07"], &[]).nics().unwrap();
        assert_eq!(n[0].mac, DEFAULT_MAC);
        assert_eq!(n[1].mac, [2, 0, 0, 0, 0, 7]);
        let n = opts(&[], &[], &["user", "user"], &[]).nics().unwrap();
        assert_eq!(n[1].mac[5], DEFAULT_MAC[5] + 1);
        assert!(opts(&[], &[], &[], &["none"]).nics().unwrap().is_empty());
        assert!(opts(&[], &[], &["none"], &[]).nics().unwrap().is_empty());
    }

    #[test]
    fn qemu_default_card_and_order() {
        // No network option: one card on user networking; -nodefaults or "none": no card.
        let n = opts(&[], &["virtio-serial-pci"], &[], &[]).nics().unwrap();
        assert_eq!(n, vec![NicConfig { mac: DEFAULT_MAC, backend: NetBackendConfig::User(UserConfig::default()), device_index: None }]);
        assert!(NetOptions { nodefaults: true, ..NetOptions::default() }.nics().unwrap().is_empty());
        assert!(opts(&[], &[], &[], &["none"]).nics().unwrap().is_empty());
        // Board cards first (-nic, then -net nic), then -device; a given MAC takes no number
        // (what qemu-system-ppc 7.2's `info network` shows for these options).
        let n = opts(&["user,id=n0"], &["virtio-serial-pci", "virtio-net-pci,netdev=n0,mac=52:54:00:00:00:09"], &["user"], &["nic", "user"]).nics().unwrap();
        let got: Vec<(u8, Option<usize>)> = n.iter().map(|c| (c.mac[5], c.device_index)).collect();
        assert_eq!(got, vec![(0x56, None), (0x57, None), (0x09, Some(1))]);
    }

    #[test]
    fn socket_backends() {
        let n = opts(&["socket,id=s,listen=:1234"], &["virtio-net-pci,netdev=s"], &[], &[]).nics().unwrap();
        assert_eq!(n[0].backend, NetBackendConfig::Socket { listen: true, addr: ":1234".into() });
        let n = opts(&[], &[], &["tap,ifname=tap7,script=no,downscript=no"], &[]).nics().unwrap();
        assert_eq!(n[0].backend, NetBackendConfig::Tap { ifname: Some("tap7".into()) });
    }

    #[test]
    fn refusals_say_why() {
        let err = |o: NetOptions| o.nics().unwrap_err();
        assert!(err(opts(&["bridge,id=t"], &["virtio-net-pci,netdev=t"], &[], &[])).contains("not supported"));
        assert!(err(opts(&[], &[], &["tap,script=/etc/qemu-ifup"], &[])).contains("scripts are not run"));
        assert!(err(opts(&["user"], &[], &[], &[])).contains("id= is required"));
        assert!(err(opts(&["user,id=a"], &[], &[], &[])).contains("not used"));
        assert!(err(opts(&[], &["virtio-net-pci,netdev=x"], &[], &[])).contains("no -netdev"));
        assert!(err(opts(&[], &["e1000,netdev=x"], &[], &[])).contains("-device e1000: not supported"));
        assert!(err(opts(&[], &[], &["user,model=e1000"], &[])).contains("only virtio-net-pci"));
        assert!(err(opts(&[], &[], &["user,bogus=1"], &[])).contains("unknown option 'bogus'"));
        assert!(err(opts(&[], &[], &["user,hostfwd=sctp::1-:2"], &[])).contains("tcp|udp"));
        assert!(err(opts(&[], &[], &["user,mac=01:00:00:00:00:00"], &[])).contains("multicast"));
        assert!(err(opts(&[], &[], &[], &["nic"])).contains("needs its own"));
        assert!(err(opts(&[], &[], &["socket"], &[])).contains("listen="));
    }
}
