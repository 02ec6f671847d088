//! MPIC behaviour as Linux's `sysdev/mpic.c` drives it.

use super::regs::*;
use super::OpenPic;
use crate::irq::testing::Levels;
use crate::{Clock, IrqLine, ManualClock, TimerQueue};
use ferrite_softmmu::MmioDevice;
use std::sync::{Arc, Mutex};

fn pic(ncpus: u32) -> (Arc<Mutex<OpenPic>>, Arc<Levels>, Arc<ManualClock>, Arc<TimerQueue>) {
    let lv = Arc::new(Levels::default());
    let clock = ManualClock::new();
    let q = Arc::new(TimerQueue::new());
    let outs = (0..ncpus).map(|n| (IrqLine::new(lv.clone(), 2 * n), IrqLine::new(lv.clone(), 2 * n + 1))).collect();
    (OpenPic::new(outs, clock.clone(), &q), lv, clock, q)
}

fn src(n: u64) -> u64 {
    SRC_BASE + 0x20 * n
}

/// What `mpic_init` does: reset, read FRR, program every source masked, CTPR 0.
fn linux_init(p: &mut OpenPic) {
    p.write(GCR, 4, GCR_RESET as u64);
    assert_eq!(p.read(GCR, 4) as u32 & GCR_RESET, 0, "reset self-clears");
    p.write(GCR, 4, GCR_MODE_PROXY as u64);
    let frr = p.read(FRR, 4) as u32;
    assert_eq!(frr & 0xffff_00ff, 0x00c3_0002);
    for n in 0..((frr >> 16) & 0x7ff) + 1 {
        p.write(src(n as u64), 4, (IVPR_MASK | (8 << 16) | n) as u64);
        p.write(src(n as u64) + 0x10, 4, 1);
    }
    p.write(CTPR, 4, 0);
}

#[test]
fn version_and_reset_values() {
    let (p, ..) = pic(1);
    let mut p = p.lock().unwrap();
    assert_eq!(p.read(BRR1, 4), 0x0040_0402);
    assert_eq!(p.read(src(42), 4) as u32 & IVPR_MASK, IVPR_MASK);
    assert_eq!(p.read(CPU_BASE + CTPR, 4), 15);
    assert_eq!(p.read(WHOAMI, 4), 0);
    // Holes Linux touches (timer group B, EIMR) do nothing.
    assert_eq!(p.read(0x2100, 4), 0);
    p.write(0x3910, 4, 0xffff_ffff);
    assert_eq!(p.read(0x3910, 4), 0);
}

#[test]
fn level_source_iack_eoi_cycle() {
    let (pic, lv, ..) = pic(1);
    let mut p = pic.lock().unwrap();
    linux_init(&mut p);
    // Unmask the UART source 42.
    p.write(src(42), 4, ((8 << 16) | 42) as u64);
    p.set_irq(42, true);
    assert!(lv.get(0), "INT asserted");
    assert_eq!(p.iack(0), 42);
    assert!(!lv.get(0), "acknowledged");
    // Still level-high, but in service at the same priority: no re-assertion.
    p.write(EOI, 4, 0);
    assert!(lv.get(0), "still pending after EOI, the level source asserts again");
    assert_eq!(p.iack(0), 42);
    p.set_irq(42, false);
    p.write(EOI, 4, 0);
    assert!(!lv.get(0), "the device dropped its line");
    assert_eq!(p.iack(0), 0xffff, "nothing pending: spurious vector");
    p.set_irq(42, true);
    p.set_irq(42, false);
    assert!(!lv.get(0), "a level source withdrawn before IACK is not delivered");
}

#[test]
fn priorities_and_ctpr() {
    let (pic, lv, ..) = pic(1);
    let mut p = pic.lock().unwrap();
    linux_init(&mut p);
    p.write(src(20), 4, ((3 << 16) | 20) as u64);
    p.write(src(21), 4, ((9 << 16) | 21) as u64);
    p.write(CTPR, 4, 5);
    p.set_irq(20, true);
    assert!(!lv.get(0), "priority 3 <= CTPR 5");
    p.set_irq(21, true);
    assert!(lv.get(0));
    assert_eq!(p.iack(0), 21, "highest priority first");
    p.set_irq(21, false);
    p.write(CTPR, 4, 0);
    assert!(!lv.get(0), "priority 3 < in-service 9");
    p.write(EOI, 4, 0);
    assert!(lv.get(0), "after EOI the lower one is delivered");
    assert_eq!(p.iack(0), 20);
}

#[test]
fn masked_sources_do_not_interrupt_and_critical_routing() {
    let (pic, lv, ..) = pic(1);
    let mut p = pic.lock().unwrap();
    linux_init(&mut p);
    p.set_irq(30, true);
    assert!(!lv.get(0));
    // Route source 31 to CPU 0's critical input (IDR CI0 = bit 30).
    p.write(src(31) + 0x10, 4, 0x4000_0000);
    p.write(src(31), 4, ((8 << 16) | 31) as u64);
    p.set_irq(31, true);
    assert!(lv.get(1), "critical INT");
    assert!(!lv.get(0));
}

#[test]
fn ipi_and_msi() {
    let (pic, lv, ..) = pic(2);
    let mut p = pic.lock().unwrap();
    linux_init(&mut p);
    p.write(CPU_BASE + 0x1000 + CTPR, 4, 0);
    p.write(IPI_IVPR0, 4, ((10 << 16) | 0x100) as u64);
    p.write(CPU_BASE + 0x40, 4, 0b10); // IPI 0 to CPU 1
    assert!(lv.get(2), "CPU 1 interrupted");
    assert_eq!(p.read(CPU_BASE + 0x1000 + IACK, 4), 0x100);
    // MSI: write MSIIR for register 2, bit 5.
    p.write(src(226), 4, ((8 << 16) | 226) as u64);
    p.write(MSI_BASE + 0x140, 4, (2 << 29) | (5 << 24));
    assert!(lv.get(0));
    assert_eq!(p.read(MSI_BASE + 0x120, 4), 0b100);
    assert_eq!(p.read(MSI_BASE + 0x20, 4), 1 << 5);
    assert_eq!(p.read(MSI_BASE + 0x20, 4), 0, "MSIR clears on read");
}

#[test]
fn global_timer_fires_after_its_period() {
    let (pic, lv, clock, q) = pic(1);
    {
        let mut p = pic.lock().unwrap();
        linux_init(&mut p);
        p.write(TIMER0 + 0x20, 4, ((8 << 16) | 0x200) as u64); // TVPR unmasked
        p.write(TIMER0 + 0x30, 4, 1); // TDR cpu0
        p.write(TIMER0 + 0x10, 4, 25_000); // TBCR: 1 ms at 25 MHz
    }
    clock.set(500_000);
    q.run_due(clock.now_ns());
    assert!(!lv.get(0));
    let c = pic.lock().unwrap().read(TIMER0, 4) as u32;
    assert!((12_000..13_000).contains(&(c & !TCCR_TOG)), "count halfway: {c}");
    clock.set(1_000_100);
    q.run_due(clock.now_ns());
    assert!(lv.get(0), "timer interrupt after its period");
    assert_eq!(pic.lock().unwrap().iack(0), 0x200);
}
