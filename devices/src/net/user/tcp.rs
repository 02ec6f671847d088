//! TCP NAT: every guest connection is a `smoltcp` socket on the gateway side paired with a
//! host `TcpStream`, and bytes are relayed both ways; half-closes pass through.
//!
//! Outbound: when a SYN from the guest arrives for a new destination, the host connection is
//! made first; only if it succeeds does a listening socket take the SYN (otherwise `smoltcp`
//! answers the SYN with a reset, as a closed port would). Inbound (port forwarding): the
//! caller accepts the host connection and [`TcpNat::connect`] opens one to the guest.

use super::frame::Endpoint;
use super::map_destination;
use smoltcp::iface::{Interface, SocketHandle, SocketSet};
use smoltcp::socket::tcp::{self, State};
use smoltcp::wire::{IpEndpoint, IpListenEndpoint, Ipv4Address};
use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::os::fd::{AsRawFd, RawFd};
use std::time::{Duration, Instant};

/// Socket buffer size on the guest side.
const BUFFER: usize = 64 << 10;
/// How long a host connection attempt may take (the stack waits meanwhile).
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
    next_port: u16,
}

fn new_socket() -> tcp::Socket<'static> {
    let mut s = tcp::Socket::new(tcp::SocketBuffer::new(vec![0; BUFFER]), tcp::SocketBuffer::new(vec![0; BUFFER]));
    s.set_nagle_enabled(false);
    s
}

impl TcpNat {
    /// A guest SYN from `src` to `dst`: connects to the host and listens for it, unless the
    /// connection already exists (a retransmitted SYN).
    pub fn syn(&mut self, sockets: &mut SocketSet<'static>, src: Endpoint, dst: Endpoint) {
        if self.conns.iter().any(|c| c.flow == Some((src, dst))) {
            return;
        }
        let Some(target) = map_destination(dst) else { return };
        let host = match TcpStream::connect_timeout(&target, CONNECT_TIMEOUT) {
            Ok(h) => h,
            Err(e) => {
                tracing::debug!("user net: TCP {}:{} -> {target}: {e}", dst.0, dst.1);
                return;
            }
        };
        let mut s = new_socket();
        if s.listen(IpListenEndpoint { addr: Some(dst.0.into()), port: dst.1 }).is_err() || host.set_nonblocking(true).is_err() {
            return;
        }
        let _ = host.set_nodelay(true);
        let handle = sockets.add(s);
        self.conns.push(Conn { handle, host, flow: Some((src, dst)), to_host: Vec::new(), host_eof: false, host_shut: false, created: Instant::now() });
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
        let mut buf = vec![0u8; BUFFER];
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
                match s.recv_slice(&mut buf) {
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
        self.conns
            .iter()
            .map(|c| {
                let s = sockets.get::<tcp::Socket>(c.handle);
                let read = !c.host_eof && s.can_send() && s.send_queue() < s.send_capacity();
                (c.host.as_raw_fd(), read, !c.to_host.is_empty())
            })
            .collect()
    }
}
