use super::*;
use crate::chardev::BufferBackend;
use crate::irq::testing::Levels;
use crate::virtio::queue::{DESC_F_NEXT, DESC_F_WRITE};
use crate::virtio::testing::{accept_all_features, start, Buf, Driver};
use crate::virtio::*;
use crate::IrqLine;

/// (core, rx driver, tx driver, output, input, interrupt levels) before DRIVER_OK.
fn device() -> (VirtioCore, Driver, Driver, BufferBackend, Arc<ConsoleInput>, Arc<Levels>) {
    let rx = Driver::new();
    let tx = rx.second();
    let out = BufferBackend::new();
    let input = ConsoleInput::new();
    let levels = Arc::new(Levels::default());
    let dev = VirtioConsole::new(Box::new(out.clone()), input.clone());
    let core = VirtioCore::new(Box::new(dev), rx.mem.clone(), IrqLine::new(levels.clone(), 0));
    (core, rx, tx, out, input, levels)
}

/// As [`device`], with the driver at DRIVER_OK.
fn setup() -> (VirtioCore, Driver, Driver, BufferBackend, Arc<ConsoleInput>, Arc<Levels>) {
    let (mut core, rx, tx, out, input, levels) = device();
    accept_all_features(&mut core);
    start(&mut core, &[&rx, &tx]);
    (core, rx, tx, out, input, levels)
}

#[test]
fn one_port_without_multiport_and_with_emergency_write() {
    let (core, ..) = setup();
    assert_eq!(core.device().device_type(), DEVICE_CONSOLE);
    assert_eq!(core.num_queues(), 2, "port 0's receive and transmit queues only");
    let f = core.driver_features();
    assert_eq!(f & 0b11, 0, "neither F_SIZE nor F_MULTIPORT");
    assert_ne!(f & F_EMERG_WRITE, 0);
    assert_eq!((core.read_config(0, 2), core.read_config(2, 2)), (0, 0), "no console size");
    assert_eq!(core.read_config(4, 4), 1, "max_nr_ports");
    assert_eq!(core.read_config(8, 4), 0, "emerg_wr reads 0");
}

#[test]
fn guest_output_reaches_the_backend_in_order() {
    let (mut core, _rx, mut tx, out, _, levels) = setup();
    tx.submit(&[Buf::Out(b"hello, "), Buf::Out(b"host")]);
    tx.submit(&[Buf::Out(b"\r\n")]);
    core.notify(TX_QUEUE as u16);
    assert_eq!(out.contents(), b"hello, host\r\n");
    assert_eq!(tx.used(), (2, (2, 0)), "both chains given back, nothing written into them");
    assert!(levels.get(0));
    assert_eq!(core.status() & STATUS_NEEDS_RESET, 0);
}

#[test]
fn host_input_waits_for_buffers_and_fills_them_in_order() {
    let (mut core, mut rx, tx, _, input, levels) = device();
    input.push(b"typed before the driver was ready\n");
    core.poll(); // not ready: nothing happens
    accept_all_features(&mut core);
    start(&mut core, &[&rx, &tx]);
    core.poll(); // ready, but no buffer yet
    assert_eq!(rx.used().0, 0);
    assert!(!levels.get(0));
    let a = rx.submit(&[Buf::In(5)]);
    core.notify(RX_QUEUE as u16);
    assert_eq!(rx.used(), (1, (0, 5)));
    assert_eq!(rx.bytes(a[0], 5), b"typed");
    assert!(levels.get(0));
    // A buffer in two pieces takes the rest; more input arrives and the host-side poll
    // delivers it into the next buffer.
    let b = rx.submit(&[Buf::In(10), Buf::In(100)]);
    core.poll();
    let rest = b" before the driver was ready\n";
    assert_eq!(rx.used(), (2, (1, rest.len() as u32)));
    assert_eq!([rx.bytes(b[0], 10), rx.bytes(b[1], rest.len() - 10)].concat(), rest);
    let c = rx.submit(&[Buf::In(64)]);
    input.push(b"more");
    core.poll();
    assert_eq!(rx.used(), (3, (3, 4)));
    assert_eq!(rx.bytes(c[0], 4), b"more");
    // With no input waiting, posted buffers stay with the device.
    rx.submit(&[Buf::In(64)]);
    core.notify(RX_QUEUE as u16);
    assert_eq!(rx.used().0, 3);
}

#[test]
fn emergency_write_prints_one_byte_even_before_initialisation() {
    let (mut core, _rx, _tx, out, _, _) = device();
    core.write_config(8, 4, u64::from(b'!'));
    core.write_config(0, 2, 80); // cols is read-only
    assert_eq!(out.contents(), b"!");
}

#[test]
fn typed_input_beyond_the_limit_is_dropped_and_the_machine_is_woken() {
    let input = ConsoleInput::new();
    let wakes = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let w = wakes.clone();
    input.set_waker(Arc::new(move || {
        w.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }));
    input.push(&vec![b'a'; MAX_PENDING - 3]);
    input.push(b"bcdefg");
    let q = input.lock();
    assert_eq!(q.len(), MAX_PENDING);
    assert_eq!(q.iter().rev().take(4).copied().collect::<Vec<u8>>(), b"dcba");
    assert_eq!(wakes.load(std::sync::atomic::Ordering::SeqCst), 2);
}

#[test]
fn a_socket_writer_waits_for_the_guest_instead_of_losing_input() {
    let (mut core, mut rx, _tx, _, input, _) = setup();
    let writer = {
        let input = input.clone();
        std::thread::spawn(move || input.push_wait(&vec![b'z'; MAX_PENDING + 100]))
    };
    let t0 = std::time::Instant::now();
    while input.lock().len() < MAX_PENDING {
        assert!(t0.elapsed().as_secs() < 10, "the writer never filled the queue");
        std::thread::yield_now();
    }
    std::thread::sleep(std::time::Duration::from_millis(50));
    assert!(!writer.is_finished(), "a full queue holds the writer back");
    assert_eq!(input.lock().len(), MAX_PENDING, "nothing beyond the limit is queued");
    // The guest takes 4 KiB: the writer gets room for its last 100 bytes and finishes.
    rx.submit(&[Buf::In(4096)]);
    core.notify(RX_QUEUE as u16);
    writer.join().unwrap();
    assert_eq!(input.lock().len(), MAX_PENDING + 100 - 4096, "every byte is kept");
}

#[test]
fn malformed_queues_put_the_device_in_the_error_state() {
    // A receive chain with nothing writable.
    let (mut core, mut rx, _tx, _, input, _) = setup();
    rx.submit(&[Buf::Out(b"read-only")]);
    input.push(b"x");
    core.poll();
    assert_ne!(core.status() & STATUS_NEEDS_RESET, 0);

    // A transmit buffer outside guest RAM; then nothing more is served until a reset.
    let (mut core, _rx, mut tx, out, _, _) = setup();
    tx.raw_desc(0, 0xffff_f000, 64, 0, 0);
    tx.publish(0);
    core.notify(TX_QUEUE as u16);
    assert_ne!(core.status() & STATUS_NEEDS_RESET, 0);
    tx.submit(&[Buf::Out(b"after the error")]);
    core.notify(TX_QUEUE as u16);
    assert!(out.contents().is_empty());
    core.reset();
    assert_eq!(core.status(), 0);

    // A descriptor loop, and a receive buffer whose length wraps past the end of RAM.
    let (mut core, _rx, mut tx, out, _, _) = setup();
    tx.raw_desc(0, 0x90000, 16, DESC_F_NEXT, 1);
    tx.raw_desc(1, 0x90010, 16, DESC_F_NEXT, 0);
    tx.publish(0);
    core.notify(TX_QUEUE as u16);
    assert_ne!(core.status() & STATUS_NEEDS_RESET, 0);
    assert!(out.contents().is_empty());
    let (mut core, mut rx, _tx, _, input, _) = setup();
    rx.raw_desc(0, 0xf_0000, u32::MAX, DESC_F_WRITE, 0);
    rx.publish(0);
    input.push(b"y");
    core.poll();
    assert_ne!(core.status() & STATUS_NEEDS_RESET, 0);
}
