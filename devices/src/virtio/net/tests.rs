use super::*;
use crate::irq::testing::Levels;
use crate::virtio::testing::{accept_all_features, start, Buf, Driver};
use crate::virtio::*;
use crate::IrqLine;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

const MAC: [u8; 6] = [0x52, 0x54, 0, 0x12, 0x34, 0x56];

/// A backend whose two directions the test sees.
#[derive(Clone, Default)]
struct Loop {
    sent: Arc<Mutex<Vec<Vec<u8>>>>,
    incoming: Arc<Mutex<VecDeque<Vec<u8>>>>,
}

impl NetBackend for Loop {
    fn send(&mut self, frame: &[u8]) {
        self.sent.lock().unwrap().push(frame.to_vec());
    }
    fn recv(&mut self) -> Option<Vec<u8>> {
        self.incoming.lock().unwrap().pop_front()
    }
}

/// (core, rx driver, tx driver, backend, interrupt levels), the driver at DRIVER_OK.
fn setup() -> (VirtioCore, Driver, Driver, Loop, Arc<Levels>) {
    let rx = Driver::new();
    let tx = rx.second();
    let backend = Loop::default();
    let levels = Arc::new(Levels::default());
    let dev = VirtioNet::new(MAC, Box::new(backend.clone()));
    let mut core = VirtioCore::new(Box::new(dev), rx.mem.clone(), IrqLine::new(levels.clone(), 0));
    accept_all_features(&mut core);
    start(&mut core, &[&rx, &tx]);
    (core, rx, tx, backend, levels)
}

fn frame(len: usize, tag: u8) -> Vec<u8> {
    (0..len).map(|i| (i as u8).wrapping_mul(3) ^ tag).collect()
}

#[test]
fn config_space_has_the_mac_and_link_up() {
    let (core, ..) = setup();
    let mac: Vec<u8> = (0..6).map(|i| core.read_config(i, 1) as u8).collect();
    assert_eq!(mac, MAC);
    assert_eq!(core.read_config(6, 2) as u16, STATUS_LINK_UP);
    assert_eq!(core.driver_features() & (F_MAC | F_STATUS), F_MAC | F_STATUS);
    assert_eq!(core.num_queues(), 2);
}

#[test]
fn transmitted_frames_reach_the_backend_without_the_header() {
    let (mut core, _rx, mut tx, backend, levels) = setup();
    let f = frame(60, 1);
    tx.submit(&[Buf::Out(&[0; HDR_LEN]), Buf::Out(&f[..20]), Buf::Out(&f[20..])]);
    let g = frame(1514, 2);
    let mut one = vec![0u8; HDR_LEN];
    one.extend_from_slice(&g);
    tx.submit(&[Buf::Out(&one)]);
    core.notify(TX_QUEUE as u16);
    assert_eq!(*backend.sent.lock().unwrap(), vec![f, g]);
    assert_eq!(tx.used().0, 2);
    assert!(levels.get(0));
    assert_eq!(core.status() & STATUS_NEEDS_RESET, 0);
}

#[test]
fn received_frames_fill_posted_buffers_or_wait_for_one() {
    let (mut core, mut rx, _tx, backend, levels) = setup();
    let f = frame(98, 3);
    backend.incoming.lock().unwrap().push_back(f.clone());
    core.poll(); // no buffer yet: the frame waits
    assert_eq!(rx.used().0, 0);
    assert!(!levels.get(0));
    let a = rx.submit(&[Buf::In(HDR_LEN + 1514)]);
    core.notify(RX_QUEUE as u16); // the driver adds a buffer: the frame goes in
    assert_eq!(rx.used(), (1, (0, (HDR_LEN + f.len()) as u32)));
    let got = rx.bytes(a[0], HDR_LEN + f.len());
    assert_eq!(u16::from_le_bytes([got[10], got[11]]), 1, "num_buffers");
    assert_eq!(&got[HDR_LEN..], &f[..]);
    assert!(levels.get(0));
    // A frame arriving later is delivered by the host-side poll, into a split buffer.
    let b = rx.submit(&[Buf::In(10), Buf::In(HDR_LEN + 1514)]);
    let g = frame(200, 4);
    backend.incoming.lock().unwrap().push_back(g.clone());
    core.poll();
    assert_eq!(rx.used(), (2, (1, (HDR_LEN + g.len()) as u32)));
    let got = [rx.bytes(b[0], 10), rx.bytes(b[1], HDR_LEN + g.len() - 10)].concat();
    assert_eq!(&got[HDR_LEN..], &g[..]);
}

#[test]
fn runt_and_oversized_frames_from_the_guest_are_dropped() {
    let (mut core, _rx, mut tx, backend, _) = setup();
    tx.submit(&[Buf::Out(&[0; HDR_LEN]), Buf::Out(&[1; 6])]);
    tx.submit(&[Buf::Out(&[0; HDR_LEN])]);
    tx.submit(&[Buf::Out(&[0; HDR_LEN]), Buf::Out(&frame(MAX_FRAME + 1, 5))]);
    tx.submit(&[Buf::Out(&[0; HDR_LEN]), Buf::Out(&frame(64, 6))]);
    core.notify(TX_QUEUE as u16);
    assert_eq!(*backend.sent.lock().unwrap(), vec![frame(64, 6)], "only the good frame goes out");
    assert_eq!(tx.used().0, 4, "every chain is given back");
    assert_eq!(core.status() & STATUS_NEEDS_RESET, 0);
}

#[test]
fn a_receive_buffer_too_small_for_the_frame_drops_the_frame_only() {
    let (mut core, mut rx, _tx, backend, _) = setup();
    rx.submit(&[Buf::In(HDR_LEN + 100)]);
    rx.submit(&[Buf::In(HDR_LEN + 1514)]);
    backend.incoming.lock().unwrap().extend([frame(500, 7), frame(80, 8)]);
    core.poll();
    let (idx, (_, len)) = rx.used();
    assert_eq!(idx, 2);
    assert_eq!(len, (HDR_LEN + 80) as u32, "the second frame went into the second buffer");
    assert_eq!(core.status() & STATUS_NEEDS_RESET, 0);
}

#[test]
fn malformed_chains_put_the_device_in_the_error_state() {
    // A transmit chain shorter than the header.
    let (mut core, _rx, mut tx, backend, _) = setup();
    tx.submit(&[Buf::Out(&[0; 4])]);
    core.notify(TX_QUEUE as u16);
    assert_ne!(core.status() & STATUS_NEEDS_RESET, 0);
    assert!(backend.sent.lock().unwrap().is_empty());

    // A receive buffer shorter than the header.
    let (mut core, mut rx, _tx, backend, _) = setup();
    rx.submit(&[Buf::In(4)]);
    backend.incoming.lock().unwrap().push_back(frame(60, 9));
    core.poll();
    assert_ne!(core.status() & STATUS_NEEDS_RESET, 0);

    // A transmit buffer outside guest RAM, and a descriptor loop.
    let (mut core, _rx, mut tx, backend, _) = setup();
    tx.raw_desc(0, 0xffff_0000, 64, 0, 0);
    tx.publish(0);
    core.notify(TX_QUEUE as u16);
    assert_ne!(core.status() & STATUS_NEEDS_RESET, 0);
    let (mut core, _rx, mut tx, _, _) = setup();
    tx.raw_desc(0, 0x90000, 16, crate::virtio::queue::DESC_F_NEXT, 1);
    tx.raw_desc(1, 0x90010, 16, crate::virtio::queue::DESC_F_NEXT, 0);
    tx.publish(0);
    core.notify(TX_QUEUE as u16);
    assert_ne!(core.status() & STATUS_NEEDS_RESET, 0);
    assert!(backend.sent.lock().unwrap().is_empty());
    // Once in the error state, nothing more is processed until a reset.
    core.poll();
    core.reset();
    assert_eq!(core.status(), 0);
}
