//! The Freescale MPIC (QEMU 7.2 `OPENPIC_MODEL_FSL_MPIC_42`): sources with priorities and
//! destinations, per-CPU task priority / acknowledge / end-of-interrupt, IPIs, global timers,
//! the MSI bank, and critical-interrupt routing.
//!
//! Delivery follows QEMU's model: a source raised for a CPU joins that CPU's "raised" set; the
//! CPU's INT output is asserted while the highest raised priority exceeds both CTPR and the
//! highest in-service priority. IACK moves the source to "in service"; EOI retires the highest
//! in-service source.

use super::regs::*;
use crate::{Clock, IrqLine, TimerHandle, TimerQueue};
use ferrite_softmmu::MmioDevice;
use std::sync::{Arc, Mutex, Weak};

/// Which core output a source drives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Output {
    Int,
    Cint,
    Mcheck,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// External sources 0-15: sense from IVPR.
    Normal,
    /// FSL internal sources: always level.
    FslInternal,
    /// IPIs and timers: edge, no sense/polarity bits.
    FslSpecial,
}

#[derive(Clone, Copy, Debug)]
struct Source {
    ivpr: u32,
    idr: u32,
    destmask: u32,
    last_cpu: usize,
    output: Output,
    nomask: bool,
    level: bool,
    pending: bool,
    kind: Kind,
}

/// A set of sources with a cached highest priority (QEMU `IRQQueue`).
#[derive(Clone, Debug)]
struct Queue {
    bits: Vec<u64>,
    next: Option<usize>,
    priority: i32,
}

impl Queue {
    fn new() -> Queue {
        Queue { bits: vec![0; MAX_IRQ.div_ceil(64)], next: None, priority: 0 }
    }
    fn set(&mut self, n: usize) {
        self.bits[n / 64] |= 1 << (n % 64);
    }
    fn reset(&mut self, n: usize) {
        self.bits[n / 64] &= !(1 << (n % 64));
    }
    fn clear(&mut self) {
        self.bits.fill(0);
        self.next = None;
        self.priority = 0;
    }
}

struct Dest {
    ctpr: u32,
    raised: Queue,
    servicing: Queue,
    int: IrqLine,
    cint: IrqLine,
}

struct Timer {
    tccr: u32,
    tbcr: u32,
    /// Virtual time when the current count started, for computing TCCR.
    start_ns: u64,
    handle: Option<TimerHandle>,
}

/// The interrupt controller.
pub struct OpenPic {
    src: Vec<Source>,
    dst: Vec<Dest>,
    timers: Vec<Timer>,
    msir: [u32; MAX_MSI],
    gcr: u32,
    spve: u32,
    tfrr: u32,
    pir: u32,
    clock: Arc<dyn Clock>,
}

fn priority(ivpr: u32) -> i32 {
    ((ivpr & IVPR_PRIORITY) >> 16) as i32
}

impl OpenPic {
    /// An MPIC for `outputs.len()` CPUs: `outputs[n]` = (INT, critical INT) of CPU n. Global
    /// timers run on `clock` and fire through `timers`.
    pub fn new(outputs: Vec<(IrqLine, IrqLine)>, clock: Arc<dyn Clock>, timers: &Arc<TimerQueue>) -> Arc<Mutex<OpenPic>> {
        let pic = Arc::new(Mutex::new(OpenPic::unshared(outputs, clock)));
        OpenPic::attach_timers(&pic, timers);
        pic
    }

    fn unshared(outputs: Vec<(IrqLine, IrqLine)>, clock: Arc<dyn Clock>) -> OpenPic {
        let mut p = OpenPic {
            src: Vec::new(),
            dst: outputs
                .into_iter()
                .map(|(int, cint)| Dest { ctpr: 15, raised: Queue::new(), servicing: Queue::new(), int, cint })
                .collect(),
            timers: (0..MAX_TMR).map(|_| Timer { tccr: 0, tbcr: TBCR_CI, start_ns: 0, handle: None }).collect(),
            msir: [0; MAX_MSI],
            gcr: 0,
            spve: IVPR_VECTOR,
            tfrr: 0,
            pir: 0,
            clock,
        };
        p.src = (0..MAX_IRQ)
            .map(|i| Source {
                ivpr: IVPR_MASK,
                idr: 0,
                destmask: 0,
                last_cpu: 0,
                output: Output::Int,
                nomask: false,
                level: i >= 16 && i < MAX_SRC,
                pending: false,
                kind: if i < 16 {
                    Kind::Normal
                } else if i < MAX_SRC {
                    Kind::FslInternal
                } else {
                    Kind::FslSpecial
                },
            })
            .collect();
        p.reset_state();
        p
    }

    /// Attaches the global timers to the machine's timer queue.
    fn attach_timers(pic: &Arc<Mutex<OpenPic>>, queue: &Arc<TimerQueue>) {
        let weak: Weak<Mutex<OpenPic>> = Arc::downgrade(pic);
        let mut p = pic.lock().unwrap();
        for (i, t) in p.timers.iter_mut().enumerate() {
            let w = weak.clone();
            t.handle = Some(queue.timer(Box::new(move |now| {
                if let Some(pic) = w.upgrade() {
                    pic.lock().unwrap().timer_expired(i, now);
                }
            })));
        }
    }

    /// The controller's input lines (sources 0..255) as an [`crate::IrqSink`].
    pub fn inputs(pic: &Arc<Mutex<OpenPic>>) -> Arc<dyn crate::IrqSink> {
        Arc::new(Inputs(pic.clone()))
    }

    fn ncpus(&self) -> usize {
        self.dst.len()
    }

    fn reset_state(&mut self) {
        self.gcr = 0;
        self.pir = 0;
        self.spve = IVPR_VECTOR;
        self.tfrr = 0;
        for i in 0..MAX_IRQ {
            let s = &mut self.src[i];
            s.ivpr = IVPR_MASK;
            s.pending = false;
            match s.kind {
                Kind::Normal => s.level = false,
                Kind::FslInternal => s.ivpr |= IVPR_POLARITY,
                Kind::FslSpecial => {}
            }
            self.write_idr(i, 1);
        }
        for d in &mut self.dst {
            d.ctpr = 15;
            d.raised.clear();
            d.servicing.clear();
            d.int.lower();
            d.cint.lower();
        }
        let now = self.clock.now_ns();
        for t in &mut self.timers {
            t.tccr = 0;
            t.tbcr = TBCR_CI;
            t.start_ns = now;
            if let Some(h) = &t.handle {
                h.cancel();
            }
        }
        self.msir = [0; MAX_MSI];
    }

    /// Highest-priority member of a queue (QEMU `IRQ_check`).
    fn check(src: &[Source], q: &mut Queue) -> Option<usize> {
        let mut next = None;
        let mut prio = -1;
        for (w, &word) in q.bits.iter().enumerate() {
            let mut bits = word;
            while bits != 0 {
                let n = w * 64 + bits.trailing_zeros() as usize;
                bits &= bits - 1;
                let p = priority(src[n].ivpr);
                if p > prio {
                    next = Some(n);
                    prio = p;
                }
            }
        }
        q.next = next;
        q.priority = prio;
        next
    }

    fn local_pipe(&mut self, cpu: usize, n: usize, active: bool) {
        let src = self.src[n];
        let d = &mut self.dst[cpu];
        if src.output != Output::Int {
            // Critical (and machine-check) routing ignores priority, IACK and EOI.
            let line = if src.output == Output::Cint { &d.cint } else { &d.int };
            line.set(active);
            return;
        }
        let prio = priority(src.ivpr);
        if active {
            d.raised.set(n);
        } else {
            d.raised.reset(n);
        }
        Self::check(&self.src, &mut d.raised);
        let active = active && prio > d.ctpr as i32;
        if active {
            let in_service = Self::check(&self.src, &mut d.servicing).is_some();
            if !(in_service && prio <= d.servicing.priority) {
                d.int.raise();
            }
        } else {
            Self::check(&self.src, &mut d.servicing);
            if !(d.raised.priority > d.ctpr as i32 && d.raised.priority > d.servicing.priority) {
                d.int.lower();
            }
        }
    }

    fn update_irq(&mut self, n: usize) {
        let src = &mut self.src[n];
        let mut active = src.pending;
        if src.ivpr & IVPR_MASK != 0 && !src.nomask {
            active = false;
        }
        let was_active = src.ivpr & IVPR_ACTIVITY != 0;
        if !active && !was_active {
            return;
        }
        if active {
            src.ivpr |= IVPR_ACTIVITY;
        } else {
            src.ivpr &= !IVPR_ACTIVITY;
        }
        let (destmask, last) = (src.destmask, src.last_cpu);
        if destmask == 0 {
            return;
        }
        if destmask == 1 << last {
            self.local_pipe(last, n, active);
        } else if self.src[n].ivpr & IVPR_MODE == 0 {
            for cpu in 0..self.ncpus() {
                if destmask & (1 << cpu) != 0 {
                    self.local_pipe(cpu, n, active);
                }
            }
        } else {
            let ncpus = self.ncpus();
            let mut i = (last + 1) % ncpus;
            while i != last {
                if destmask & (1 << i) != 0 {
                    self.local_pipe(i, n, active);
                    self.src[n].last_cpu = i;
                    break;
                }
                i = (i + 1) % ncpus;
            }
        }
    }

    /// Drives source `n` (external devices, MSIs, IPIs, timers).
    pub fn set_irq(&mut self, n: usize, level: bool) {
        if n >= MAX_IRQ {
            tracing::warn!(target: "guest_errors", "mpic: interrupt source {n} out of range");
            return;
        }
        let s = &mut self.src[n];
        if s.level {
            s.pending = level;
            self.update_irq(n);
        } else {
            if level {
                s.pending = true;
                self.update_irq(n);
            }
            if self.src[n].output != Output::Int {
                self.src[n].pending = false;
                self.update_irq(n);
            }
        }
    }

    fn write_ivpr(&mut self, n: usize, v: u32) {
        let mask = IVPR_MASK | IVPR_PRIORITY | IVPR_SENSE | IVPR_POLARITY | IVPR_MODE | IVPR_VECTOR;
        let s = &mut self.src[n];
        s.ivpr = (s.ivpr & IVPR_ACTIVITY) | (v & mask);
        match s.kind {
            Kind::Normal => s.level = s.ivpr & IVPR_SENSE != 0,
            Kind::FslInternal => s.ivpr &= !IVPR_SENSE,
            Kind::FslSpecial => s.ivpr &= !(IVPR_POLARITY | IVPR_SENSE),
        }
        self.update_irq(n);
    }

    fn write_idr(&mut self, n: usize, v: u32) {
        let ncpus = self.ncpus() as u32;
        let normal = (1u32 << ncpus) - 1;
        let crit = normal << (31 - ncpus);
        let s = &mut self.src[n];
        s.idr = v & (normal | crit | 0x8000_0000);
        if s.idr & crit != 0 {
            s.output = Output::Cint;
            s.nomask = true;
            s.destmask = (0..ncpus).filter(|i| s.idr & (1 << (30 - i)) != 0).fold(0, |m, i| m | (1 << i));
        } else {
            s.output = Output::Int;
            s.nomask = false;
            s.destmask = s.idr & normal;
        }
    }

    fn write_ilr(&mut self, n: usize, v: u32) {
        self.src[n].output = match v & 0xff {
            1 => Output::Cint,
            2 => Output::Mcheck,
            _ => Output::Int,
        };
    }

    fn read_ilr(&self, n: usize) -> u32 {
        match self.src[n].output {
            Output::Int => 0,
            Output::Cint => 1,
            Output::Mcheck => 2,
        }
    }

    /// Interrupt acknowledge by CPU `cpu`: the vector of the highest raised source, which
    /// goes in service (or the spurious vector).
    pub fn iack(&mut self, cpu: usize) -> u32 {
        if cpu >= self.ncpus() {
            return self.spve;
        }
        self.dst[cpu].int.lower();
        let Some(n) = Self::check(&self.src, &mut self.dst[cpu].raised) else { return self.spve };
        let s = self.src[n];
        let ret = if s.ivpr & IVPR_ACTIVITY == 0 || priority(s.ivpr) <= self.dst[cpu].ctpr as i32 {
            tracing::warn!(target: "guest_errors", "mpic: bad raised IRQ {n} ctpr {} ivpr {:#x}", self.dst[cpu].ctpr, s.ivpr);
            self.update_irq(n);
            self.spve
        } else {
            self.dst[cpu].servicing.set(n);
            s.ivpr & IVPR_VECTOR
        };
        if !self.src[n].level {
            self.src[n].ivpr &= !IVPR_ACTIVITY;
            self.src[n].pending = false;
            self.dst[cpu].raised.reset(n);
        }
        // IPIs and timers are multicast: re-deliver to CPUs that have not seen it yet.
        if (IRQ_IPI0..IRQ_IPI0 + MAX_IPI + MAX_TMR).contains(&n) {
            self.src[n].destmask &= !(1 << cpu);
            if self.src[n].destmask != 0 && !self.src[n].level {
                self.set_irq(n, true);
                self.set_irq(n, false);
                self.src[n].ivpr |= IVPR_ACTIVITY;
            }
        }
        ret
    }

    fn eoi(&mut self, cpu: usize) {
        let d = &mut self.dst[cpu];
        let Some(n) = Self::check(&self.src, &mut d.servicing) else {
            tracing::debug!(target: "guest_errors", "mpic: EOI with nothing in service");
            return;
        };
        d.servicing.reset(n);
        let in_service = Self::check(&self.src, &mut d.servicing);
        if let Some(next) = Self::check(&self.src, &mut d.raised) {
            if in_service.is_none() || priority(self.src[next].ivpr) > d.servicing.priority {
                d.int.raise();
            }
        }
    }

    fn cpu_read(&mut self, cpu: usize, reg: u64) -> u32 {
        if cpu >= self.ncpus() {
            return 0;
        }
        match reg {
            CTPR => self.dst[cpu].ctpr,
            WHOAMI => cpu as u32,
            IACK => self.iack(cpu),
            _ => 0,
        }
    }

    fn cpu_write(&mut self, cpu: usize, reg: u64, v: u32) {
        if cpu >= self.ncpus() {
            return;
        }
        match reg {
            0x40 | 0x50 | 0x60 | 0x70 => {
                let n = IRQ_IPI0 + ((reg - 0x40) >> 4) as usize;
                self.src[n].destmask |= v;
                self.set_irq(n, true);
                self.set_irq(n, false);
            }
            CTPR => {
                let d = &mut self.dst[cpu];
                d.ctpr = v & 0xf;
                // QEMU compares with a possibly stale in-service priority here; recompute it.
                Self::check(&self.src, &mut d.servicing);
                if d.raised.priority <= d.ctpr as i32 {
                    d.int.lower();
                } else if d.raised.priority > d.servicing.priority {
                    d.int.raise();
                }
            }
            EOI => self.eoi(cpu),
            _ => {}
        }
    }

    fn timer_count(&self, i: usize) -> u32 {
        let t = &self.timers[i];
        if t.tbcr & TBCR_CI != 0 {
            return t.tccr;
        }
        let base = t.tbcr & !TBCR_CI;
        let ticks = (self.clock.now_ns().saturating_sub(t.start_ns) as u128 * TIMER_HZ as u128 / 1_000_000_000) as u64;
        let period = base as u64 + 1;
        let left = base as u64 - (ticks % period);
        let toggles = (ticks / period) as u32;
        (left as u32 & !TCCR_TOG) | ((t.tccr ^ (toggles << 31)) & TCCR_TOG)
    }

    fn arm_timer(&mut self, i: usize) {
        let now = self.clock.now_ns();
        let t = &mut self.timers[i];
        t.start_ns = now;
        let Some(h) = &t.handle else { return };
        if t.tbcr & TBCR_CI != 0 || t.tbcr == 0 {
            h.cancel();
        } else {
            let period = (t.tbcr & !TBCR_CI) as u64 + 1;
            h.arm(now + (period as u128 * 1_000_000_000 / TIMER_HZ as u128) as u64);
        }
    }

    fn timer_expired(&mut self, i: usize, _now: u64) {
        self.timers[i].tccr ^= TCCR_TOG;
        self.arm_timer(i);
        self.set_irq(IRQ_TIM0 + i, true);
        self.set_irq(IRQ_TIM0 + i, false);
    }

    fn timer_write(&mut self, off: u64, v: u32) {
        let i = ((off - TIMER0) >> 6) as usize & 3;
        match (off - TIMER0) & 0x30 {
            0x10 => {
                let t = &mut self.timers[i];
                if t.tccr & TCCR_TOG != 0 && v & TBCR_CI == 0 && t.tbcr & TBCR_CI != 0 {
                    t.tccr &= !TCCR_TOG;
                }
                if v & TBCR_CI == 0 && t.tbcr & TBCR_CI != 0 {
                    t.tccr = v & !TBCR_CI;
                }
                t.tbcr = v;
                self.arm_timer(i);
            }
            0x20 => self.write_ivpr(IRQ_TIM0 + i, v),
            0x30 => self.write_idr(IRQ_TIM0 + i, v),
            _ => {}
        }
    }

    fn timer_read(&self, off: u64) -> u32 {
        let i = ((off - TIMER0) >> 6) as usize & 3;
        match (off - TIMER0) & 0x30 {
            0x00 => self.timer_count(i),
            0x10 => self.timers[i].tbcr,
            0x20 => self.src[IRQ_TIM0 + i].ivpr,
            _ => self.src[IRQ_TIM0 + i].idr,
        }
    }

    fn msi_read(&mut self, off: u64) -> u32 {
        match off {
            0x00..=0x70 if off % 0x10 == 0 => {
                let srs = (off >> 4) as usize;
                let v = self.msir[srs];
                self.msir[srs] = 0;
                self.set_irq(IRQ_MSI + srs, false);
                v
            }
            0x120 => (0..MAX_MSI).fold(0, |acc, i| acc | ((self.msir[i] != 0) as u32) << i),
            _ => 0,
        }
    }

    fn msi_write(&mut self, off: u64, v: u32) {
        if off == 0x140 {
            let srs = (v >> 29) as usize;
            let ibs = (v >> 24) & 0x1f;
            self.msir[srs] |= 1 << ibs;
            self.set_irq(IRQ_MSI + srs, true);
        }
    }

    fn write_gcr(&mut self, v: u32) {
        if v & GCR_RESET != 0 {
            self.reset_state();
            return;
        }
        self.gcr = (self.gcr & !GCR_MODE_PROXY) | (v & GCR_MODE_PROXY);
    }
}

impl MmioDevice for OpenPic {
    fn read(&mut self, offset: u64, size: u32) -> u64 {
        if size != 4 {
            tracing::warn!(target: "guest_errors", "mpic: {size}-byte read at {offset:#x}");
            return 0;
        }
        let cur = ferrite_softmmu::current_cpu() as usize;
        (match offset {
            BRR1 => BRR1_VALUE,
            THIS_CPU_START..=THIS_CPU_END => self.cpu_read(cur, offset),
            FRR => ((NB_IRQS - 1) << 16) | ((self.ncpus() as u32 - 1) << 8) | VID,
            GCR => self.gcr,
            VIR | PIR => 0,
            0x10a0 | 0x10b0 | 0x10c0 | 0x10d0 => self.src[IRQ_IPI0 + ((offset - IPI_IVPR0) >> 4) as usize].ivpr,
            SPVE => self.spve,
            TFRR => self.tfrr,
            TIMER0..TIMER_END => self.timer_read(offset),
            MSI_BASE..MSI_END => self.msi_read(offset - MSI_BASE),
            o if (SRC_BASE..SRC_BASE + 0x20 * MAX_SRC as u64).contains(&o) => {
                let n = ((o - SRC_BASE) >> 5) as usize;
                match o & 0x1f {
                    0x00 => self.src[n].ivpr,
                    0x10 => self.src[n].idr,
                    0x18 => self.read_ilr(n),
                    _ => 0,
                }
            }
            o if o >= CPU_BASE => self.cpu_read(((o - CPU_BASE) >> 12) as usize, o & 0xff0),
            _ => 0,
        }) as u64
    }

    fn write(&mut self, offset: u64, size: u32, value: u64) {
        if size != 4 {
            tracing::warn!(target: "guest_errors", "mpic: {size}-byte write at {offset:#x}");
            return;
        }
        let v = value as u32;
        let cur = ferrite_softmmu::current_cpu() as usize;
        match offset {
            THIS_CPU_START..=THIS_CPU_END => self.cpu_write(cur, offset, v),
            GCR => self.write_gcr(v),
            PIR => self.pir = v,
            0x10a0 | 0x10b0 | 0x10c0 | 0x10d0 => self.write_ivpr(IRQ_IPI0 + ((offset - IPI_IVPR0) >> 4) as usize, v),
            SPVE => self.spve = v & IVPR_VECTOR,
            TFRR => self.tfrr = v,
            TIMER0..TIMER_END => self.timer_write(offset, v),
            MSI_BASE..MSI_END => self.msi_write(offset - MSI_BASE, v),
            o if (SRC_BASE..SRC_BASE + 0x20 * MAX_SRC as u64).contains(&o) => {
                let n = ((o - SRC_BASE) >> 5) as usize;
                match o & 0x1f {
                    0x00 => self.write_ivpr(n, v),
                    0x10 => self.write_idr(n, v),
                    0x18 => self.write_ilr(n, v),
                    _ => {}
                }
            }
            o if o >= CPU_BASE => self.cpu_write(((o - CPU_BASE) >> 12) as usize, o & 0xff0, v),
            // BRR1, FRR, VIR are read-only; the summary registers and holes ignore writes.
            _ => {}
        }
    }

    fn reset(&mut self) {
        self.reset_state();
    }
}

/// The controller's input side.
struct Inputs(Arc<Mutex<OpenPic>>);

impl crate::IrqSink for Inputs {
    fn set_level(&self, line: u32, level: bool) {
        self.0.lock().unwrap().set_irq(line as usize, level);
    }
}
