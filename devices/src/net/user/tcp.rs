//! TCP NAT: every guest connection is a `smoltcp` socket on the gateway side paired with a
//! host `TcpStream`, and bytes are relayed both ways; half-closes pass through.
//!
//! Outbound: when a SYN from the guest arrives for a new destination, the SYN is held while a
//! non-blocking host connection is made; only if it succeeds does a listening socket take the
//! SYN (otherwise `smoltcp` answers it with a reset, as a closed port would). Inbound (port forwarding): the
//! caller accepts the host connection and [`TcpNat::connect`] opens one to the guest.

use super::frame::Endpoint;
use super::map_destination;
use smoltcp::iface::{Interface, SocketHandle, SocketSet};
use smoltcp::socket::tcp::{self, State};
use smoltcp::wire::{IpEndpoint, IpListenEndpoint, Ipv4Address};
use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::os::fd::{AsRawFd, FromRawFd, RawFd};
use std::time::{Duration, Instant};

/// Socket buffer size on the guest side.
const BUFFER: usize = 64 << 10;
/// How long a host connection attempt may take before the guest gets a reset.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// A listening socket whose SYN never came (dropped as malformed) is given up after this.
const LISTEN_TIMEOUT: Duration = Duration::from_secs(10);

struct Conn {
    handle: SocketHandle,
    host: TcpStream,
    /// The guest's end and the address it connected to (outbound connections only).
    flow: Option<(Endpoint, Endpoint)>,
    /// Guest bytes not yet taken by the host socket.
    to_host: Vec<u8>,
    host_eof: bool,
    host_shut: bool,
    created: Instant,
}

/// The TCP connections of the user network.
#[derive(Default)]
pub struct TcpNat {
    conns: Vec<Conn>,
    pending: Vec<Pending>,
    next_port: u16,
    /// Copy buffer for the relay (kept to avoid an allocation per round).
    buf: Vec<u8>,
}

/// A host connection under way for a guest SYN.
struct Pending {
    host: TcpStream,
    flow: (Endpoint, Endpoint),
    syn: Vec<u8>,
    started: Instant,
}

/// Starts a non-blocking connection to `target`, so the stack never waits for a slow host.
fn start_connect(target: SocketAddr) -> std::io::Result<TcpStream> {
    let SocketAddr::V4(v4) = target else {
        return Err(std::io::Error::new(ErrorKind::Unsupported, "IPv6 destination"));
    };
    // SAFETY: socket(2) with constant arguments; the result is checked.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: `fd` is a fresh socket nobody else owns; the stream closes it.
    let stream = unsafe { TcpStream::from_raw_fd(fd) };
    let addr = libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: v4.port().to_be(),
        sin_addr: libc::in_addr { s_addr: u32::from_ne_bytes(v4.ip().octets()) },
        sin_zero: [0; 8],
    };
    let len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
    // SAFETY: `addr` is a live sockaddr_in of the given length.
    let r = unsafe { libc::connect(fd, std::ptr::addr_of!(addr).cast(), len) };
    if r < 0 {
        let e = std::io::Error::last_os_error();
        if e.raw_os_error() != Some(libc::EINPROGRESS) {
            return Err(e);
        }
    }
    Ok(stream)
}

fn new_socket() -> tcp::Socket<'static> {
    let mut s = tcp::Socket::new(tcp::SocketBuffer::new(vec![0; BUFFER]), tcp::SocketBuffer::new(vec![0; BUFFER]));
    s.set_nagle_enabled(false);
    s
}

impl TcpNat {
    /// A guest SYN from `src` to `dst`. Returns whether the stack should see the frame now:
    /// yes for a connection it already has (a retransmitted SYN) or one that cannot be made
    /// (it answers with a reset); no while the host connection is being made (the frame is
    /// held and handed back by [`Self::progress`]).
    pub fn syn(&mut self, src: Endpoint, dst: Endpoint, frame: &[u8]) -> bool {
        if self.conns.iter().any(|c| c.flow == Some((src, dst))) {
            return true;
        }
        if self.pending.iter().any(|p| p.flow == (src, dst)) {
            return false;
        }
        let Some(target) = map_destination(dst) else { return true };
        match start_connect(target) {
            Ok(host) => {
                self.pending.push(Pending { host, flow: (src, dst), syn: frame.to_vec(), started: Instant::now() });
                false
            }
            Err(e) => {
                tracing::debug!("user net: TCP {}:{} -> {target}: {e}", dst.0, dst.1);
                true
            }
        }
    }

    /// Host connections that finished: a listening socket for each success, and the held SYN
    /// of every finished attempt for the stack (which resets the failed ones).
    pub fn progress(&mut self, sockets: &mut SocketSet<'static>) -> Vec<Vec<u8>> {
        let mut ready = Vec::new();
        let now = Instant::now();
        let mut i = 0;
        while i < self.pending.len() {
            let p = &self.pending[i];
            let failed = !matches!(p.host.take_error(), Ok(None)) || now.duration_since(p.started) > CONNECT_TIMEOUT;
            let connected = !failed && p.host.peer_addr().is_ok();
            if !failed && !connected {
                i += 1;
                continue;
            }
            let p = self.pending.swap_remove(i);
            if connected {
                let (_, dst) = p.flow;
                let mut s = new_socket();
                if s.listen(IpListenEndpoint { addr: Some(dst.0.into()), port: dst.1 }).is_ok() {
                    let _ = p.host.set_nodelay(true);
                    let handle = sockets.add(s);
                    let conn = Conn { handle, host: p.host, flow: Some(p.flow), to_host: Vec::new(), host_eof: false, host_shut: false, created: now };
                    self.conns.push(conn);
                }
            }
            ready.push(p.syn);
        }
        ready
    }

    /// A host connection accepted by a port forward: opens a connection from the gateway
    /// (`local`, an ephemeral port) to `guest`.
    pub fn connect(&mut self, iface: &mut Interface, sockets: &mut SocketSet<'static>, host: TcpStream, local: Ipv4Address, guest: Endpoint) {
        let mut s = new_socket();
        self.next_port = if self.next_port < 49152 { 49152 } else { self.next_port.wrapping_add(1).max(49152) };
        let remote = IpEndpoint::new(guest.0.into(), guest.1);
        if s.connect(iface.context(), remote, IpListenEndpoint { addr: Some(local.into()), port: self.next_port }).is_err()
            || host.set_nonblocking(true).is_err()
        {
            return;
        }
        let _ = host.set_nodelay(true);
        let handle = sockets.add(s);
        self.conns.push(Conn { handle, host, flow: None, to_host: Vec::new(), host_eof: false, host_shut: false, created: Instant::now() });
    }

    /// Moves bytes between every guest socket and its host stream.
    pub fn relay(&mut self, sockets: &mut SocketSet<'static>) {
        self.buf.resize(BUFFER, 0);
        let buf = &mut self.buf;
        for c in &mut self.conns {
            let s = sockets.get_mut::<tcp::Socket>(c.handle);
            // Guest to host.
            loop {
                if !c.to_host.is_empty() {
                    match c.host.write(&c.to_host) {
                        Ok(n) => {
                            c.to_host.drain(..n);
                        }
                        Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                        Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                        Err(_) => {
                            s.abort();
                            break;
                        }
                    }
                    continue;
                }
                if !s.can_recv() {
                    break;
                }
                match s.recv_slice(buf) {
                    Ok(n) if n > 0 => c.to_host.extend_from_slice(&buf[..n]),
                    _ => break,
                }
            }
            let guest_closed = matches!(s.state(), State::CloseWait | State::LastAck | State::Closing | State::TimeWait) && !s.can_recv();
            if guest_closed && c.to_host.is_empty() && !c.host_shut {
                let _ = c.host.shutdown(Shutdown::Write);
                c.host_shut = true;
            }
            // Host to guest.
            while !c.host_eof && s.can_send() {
                let room = (s.send_capacity() - s.send_queue()).min(buf.len());
                if room == 0 {
                    break;
                }
                match c.host.read(&mut buf[..room]) {
                    Ok(0) => {
                        c.host_eof = true;
                        s.close();
                    }
                    Ok(n) => {
                        let _ = s.send_slice(&buf[..n]);
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == ErrorKind::Interrupted => {}
                    Err(_) => {
                        c.host_eof = true;
                        s.abort();
                    }
                }
            }
        }
    }

    /// Forgets connections that are over (after the stack sent their last segments).
    pub fn cleanup(&mut self, sockets: &mut SocketSet<'static>) {
        let now = Instant::now();
        self.conns.retain(|c| {
            let state = sockets.get::<tcp::Socket>(c.handle).state();
            let stale_listen = state == State::Listen && now.duration_since(c.created) > LISTEN_TIMEOUT;
            let over = matches!(state, State::Closed | State::TimeWait) || stale_listen;
            if over {
                sockets.remove(c.handle);
            }
            !over
        });
    }

    /// Host streams to wait on: (fd, wants to write) for each connection that can take or
    /// give bytes now.
    pub fn fds(&self, sockets: &SocketSet<'static>) -> Vec<(RawFd, bool, bool)> {
        let connecting = self.pending.iter().map(|p| (p.host.as_raw_fd(), false, true));
        self.conns
            .iter()
            .map(|c| {
                let s = sockets.get::<tcp::Socket>(c.handle);
                let read = !c.host_eof && s.can_send() && s.send_queue() < s.send_capacity();
                (c.host.as_raw_fd(), read, !c.to_host.is_empty())
            })
            .chain(connecting)
            .collect()
    }
}
