//! `-netdev socket`: frames carried over a TCP connection to another emulator (ferrite or
//! QEMU), each preceded by its length as a 32-bit big-endian number, QEMU's framing.
//!
//! `listen` waits for one peer at a time (a new one may connect after the first leaves);
//! `connect` connects once, at start. Frames sent while no peer is connected are dropped, as
//! on an unplugged cable.

use super::{Inbox, NetBackend, Waker, MAX_FRAME, MIN_FRAME};
use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream, ToSocketAddrs};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// Longest length word accepted from a peer; beyond it the stream is out of step.
const MAX_WIRE_FRAME: usize = 65536;

struct Shared {
    stream: Mutex<Option<TcpStream>>,
    stop: AtomicBool,
}

/// A socket backend.
pub struct SocketNet {
    shared: Arc<Shared>,
    inbox: Arc<Inbox>,
}

/// `HOST:PORT` with an empty host meaning every address.
fn resolve(addr: &str) -> io::Result<std::net::SocketAddr> {
    let full = if addr.starts_with(':') { format!("0.0.0.0{addr}") } else { addr.to_string() };
    full.to_socket_addrs()?.next().ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no address"))
}

impl SocketNet {
    /// Listens on `addr` (`[HOST]:PORT`) for a peer.
    pub fn listen(addr: &str, waker: Waker) -> io::Result<SocketNet> {
        let listener = TcpListener::bind(resolve(addr)?)?;
        let net = SocketNet::new(waker);
        let (shared, inbox) = (net.shared.clone(), net.inbox.clone());
        std::thread::Builder::new().name("ferrite-netsocket".into()).spawn(move || {
            while !shared.stop.load(Ordering::SeqCst) {
                let mut p = libc::pollfd { fd: listener.as_raw_fd(), events: libc::POLLIN, revents: 0 };
                // SAFETY: one live, initialised pollfd.
                if unsafe { libc::poll(&mut p, 1, 200) } <= 0 {
                    continue;
                }
                if let Ok((s, _)) = listener.accept() {
                    if attach(&shared, &s).is_ok() {
                        serve(&shared, &inbox, s);
                    }
                }
            }
        })?;
        Ok(net)
    }

    /// Connects to a listening peer at `addr` (`HOST:PORT`).
    pub fn connect(addr: &str, waker: Waker) -> io::Result<SocketNet> {
        let stream = TcpStream::connect(resolve(addr)?)?;
        let net = SocketNet::new(waker);
        attach(&net.shared, &stream)?;
        let (shared, inbox) = (net.shared.clone(), net.inbox.clone());
        std::thread::Builder::new().name("ferrite-netsocket".into()).spawn(move || serve(&shared, &inbox, stream))?;
        Ok(net)
    }

    fn new(waker: Waker) -> SocketNet {
        SocketNet { shared: Arc::new(Shared { stream: Mutex::new(None), stop: AtomicBool::new(false) }), inbox: Inbox::new(waker) }
    }
}

/// Makes `stream` the connection frames from the guest go to.
fn attach(shared: &Shared, stream: &TcpStream) -> io::Result<()> {
    let _ = stream.set_nodelay(true);
    *shared.stream.lock().unwrap_or_else(|e| e.into_inner()) = Some(stream.try_clone()?);
    Ok(())
}

/// Reads frames from a connected peer until it leaves.
fn serve(shared: &Shared, inbox: &Inbox, stream: TcpStream) {
    let mut reader = io::BufReader::new(stream);
    let mut buf = vec![0u8; MAX_WIRE_FRAME];
    loop {
        let mut len = [0u8; 4];
        if reader.read_exact(&mut len).is_err() {
            break;
        }
        let len = u32::from_be_bytes(len) as usize;
        if len > MAX_WIRE_FRAME {
            tracing::warn!("netdev socket: peer sent a {len}-byte frame length; disconnecting");
            break;
        }
        if reader.read_exact(&mut buf[..len]).is_err() {
            break;
        }
        if (MIN_FRAME..=MAX_FRAME).contains(&len) {
            inbox.push_all([buf[..len].to_vec()]);
        }
    }
    if let Some(s) = shared.stream.lock().unwrap_or_else(|e| e.into_inner()).take() {
        let _ = s.shutdown(Shutdown::Both);
    }
}

impl NetBackend for SocketNet {
    fn send(&mut self, frame: &[u8]) {
        let mut g = self.shared.stream.lock().unwrap_or_else(|e| e.into_inner());
        let Some(s) = g.as_mut() else { return };
        let mut msg = Vec::with_capacity(4 + frame.len());
        msg.extend_from_slice(&(frame.len() as u32).to_be_bytes());
        msg.extend_from_slice(frame);
        if s.write_all(&msg).is_err() {
            let _ = s.shutdown(Shutdown::Both);
            *g = None;
        }
    }

    fn recv(&mut self) -> Option<Vec<u8>> {
        self.inbox.pop()
    }
}

impl Drop for SocketNet {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        if let Some(s) = self.shared.stream.lock().unwrap_or_else(|e| e.into_inner()).take() {
            let _ = s.shutdown(Shutdown::Both);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    fn wait_for(net: &mut SocketNet) -> Vec<u8> {
        let t = Instant::now();
        loop {
            if let Some(f) = net.recv() {
                return f;
            }
            assert!(t.elapsed() < Duration::from_secs(5), "no frame");
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    #[test]
    fn two_backends_exchange_frames_with_length_prefixes() {
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let mut a = SocketNet::listen(&format!("127.0.0.1:{port}"), Arc::new(|| {})).unwrap();
        let mut b = SocketNet::connect(&format!("127.0.0.1:{port}"), Arc::new(|| {})).unwrap();
        let f: Vec<u8> = (0..60).collect();
        b.send(&f);
        assert_eq!(wait_for(&mut a), f);
        // `a` learns its peer when it accepts; by now it has.
        let g: Vec<u8> = (0..100).map(|i| i as u8 ^ 0x55).collect();
        a.send(&g);
        assert_eq!(wait_for(&mut b), g);
    }

    #[test]
    fn runt_frames_from_the_peer_are_dropped_and_a_bad_length_disconnects() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let mut net = SocketNet::connect(&addr.to_string(), Arc::new(|| {})).unwrap();
        let (mut peer, _) = listener.accept().unwrap();
        peer.write_all(&[0, 0, 0, 3, 1, 2, 3]).unwrap(); // runt
        let good: Vec<u8> = (0..64).collect();
        peer.write_all(&64u32.to_be_bytes()).unwrap();
        peer.write_all(&good).unwrap();
        assert_eq!(wait_for(&mut net), good);
        peer.write_all(&u32::MAX.to_be_bytes()).unwrap();
        let mut b = [0u8; 1];
        peer.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        assert_eq!(peer.read(&mut b).unwrap(), 0, "ferrite hung up");
    }
}
