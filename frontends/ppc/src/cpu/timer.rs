//! Book E timers of the e500mc on the machine's virtual clock: the 64-bit timebase (400 MHz on
//! ppce500), the decrementer with auto-reload, the fixed-interval timer and the watchdog
//! (QEMU 7.2 `ppc_booke.c` behaviour: the watchdog only reports, it never resets).
//!
//! Expiry callbacks run on the machine loop and only set bits in `fired`; the CPU folds them
//! into TSR when it polls for interrupts, so no callback ever touches the CPU structure.

use super::PpcCpu;
use ferrite_devices::{Clock, TimerHandle, TimerQueue};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

/// TSR: enable next watchdog.
pub const TSR_ENW: u32 = 0x8000_0000;
/// TSR: watchdog interrupt status.
pub const TSR_WIS: u32 = 0x4000_0000;
/// TSR: decrementer interrupt status.
pub const TSR_DIS: u32 = 0x0800_0000;
/// TSR: fixed-interval interrupt status.
pub const TSR_FIS: u32 = 0x0400_0000;
/// TCR: watchdog interrupt enable.
pub const TCR_WIE: u32 = 0x0800_0000;
/// TCR: decrementer interrupt enable.
pub const TCR_DIE: u32 = 0x0400_0000;
/// TCR: fixed-interval interrupt enable.
pub const TCR_FIE: u32 = 0x0080_0000;
/// TCR: decrementer auto-reload enable.
pub const TCR_ARE: u32 = 0x0040_0000;

const FIRED_DEC: u32 = 1;
const FIRED_FIT: u32 = 2;
const FIRED_WDT: u32 = 4;

/// Timebase ticks per second.
pub const TB_HZ: u64 = 400_000_000;

/// Converts nanoseconds to timebase ticks.
fn ns_to_ticks(ns: u64) -> u64 {
    (ns as u128 * TB_HZ as u128 / 1_000_000_000) as u64
}

/// The first nanosecond at which `ticks` ticks have elapsed.
fn ticks_to_ns(ticks: u64) -> u64 {
    ((ticks as u128 * 1_000_000_000).div_ceil(TB_HZ as u128)) as u64
}

/// Timer state of one core.
pub struct Timers {
    clock: Arc<dyn Clock>,
    tb_offset: u64,
    dec_base: u64,
    dec_val: u32,
    decar: u32,
    tcr: u32,
    tsr: u32,
    fired: Arc<AtomicU32>,
    dec_timer: Option<TimerHandle>,
    fit_timer: Option<TimerHandle>,
    wdt_timer: Option<TimerHandle>,
}

impl std::fmt::Debug for Timers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Timers").field("tcr", &self.tcr).field("tsr", &self.tsr).field("dec_val", &self.dec_val).finish()
    }
}

impl Timers {
    /// Timers reading `clock`; expiries are scheduled on `queue` (none: timers never fire,
    /// for harnesses without a machine loop).
    pub fn new(clock: Arc<dyn Clock>, queue: Option<&Arc<TimerQueue>>) -> Timers {
        let fired = Arc::new(AtomicU32::new(0));
        let make = |bit: u32| {
            queue.map(|q| {
                let f = fired.clone();
                q.timer(Box::new(move |_now| {
                    f.fetch_or(bit, Ordering::AcqRel);
                }))
            })
        };
        Timers {
            dec_timer: make(FIRED_DEC),
            fit_timer: make(FIRED_FIT),
            wdt_timer: make(FIRED_WDT),
            clock,
            tb_offset: 0,
            dec_base: 0,
            dec_val: 0,
            decar: 0,
            tcr: 0,
            tsr: 0,
            fired,
        }
    }

    fn now_ticks(&self) -> u64 {
        ns_to_ticks(self.clock.now_ns())
    }

    /// Reset state: TB 0, DEC/TCR/TSR 0, nothing armed.
    pub fn reset(&mut self) {
        let now = self.now_ticks();
        self.tb_offset = now.wrapping_neg();
        self.dec_base = now;
        self.dec_val = 0;
        self.decar = 0;
        self.tcr = 0;
        self.tsr = 0;
        for t in [&self.dec_timer, &self.fit_timer, &self.wdt_timer].into_iter().flatten() {
            t.cancel();
        }
        self.fired.store(0, Ordering::Release);
    }

    /// The timebase.
    pub fn tb(&self) -> u64 {
        self.now_ticks().wrapping_add(self.tb_offset)
    }

    fn set_tb(&mut self, upper: bool, v: u32) {
        let tb = self.tb();
        let new = if upper { (tb & 0xffff_ffff) | ((v as u64) << 32) } else { (tb & !0xffff_ffff) | v as u64 };
        self.tb_offset = new.wrapping_sub(self.now_ticks());
        self.arm_periodic();
    }

    fn dec(&self) -> u32 {
        let elapsed = self.now_ticks().saturating_sub(self.dec_base);
        (self.dec_val as u64).saturating_sub(elapsed) as u32
    }

    fn set_dec(&mut self, v: u32) {
        self.dec_base = self.now_ticks();
        self.dec_val = v;
        self.arm_dec();
    }

    fn arm_dec(&self) {
        if let Some(t) = &self.dec_timer {
            if self.dec_val == 0 {
                t.cancel();
            } else {
                t.arm(ticks_to_ns(self.dec_base + self.dec_val as u64));
            }
        }
    }

    /// Target TB bit (LSB numbering) of the FIT or watchdog period fields.
    fn period_bit(&self, watchdog: bool) -> u32 {
        let (p, ext) = if watchdog {
            ((self.tcr >> 30) & 3, (self.tcr >> 17) & 0xf)
        } else {
            ((self.tcr >> 24) & 3, (self.tcr >> 13) & 0xf)
        };
        63 - (p | ext << 2)
    }

    /// Arms the FIT / watchdog for the next 0->1 transition of their TB bit, when enabled.
    fn arm_periodic(&self) {
        for (watchdog, enabled, timer) in
            [(false, self.tcr & TCR_FIE != 0, &self.fit_timer), (true, self.tcr & TCR_WIE != 0, &self.wdt_timer)]
        {
            let Some(t) = timer else { continue };
            if !enabled {
                t.cancel();
                continue;
            }
            let bit = self.period_bit(watchdog).min(62);
            let period = 1u64 << (bit + 1);
            let tb = self.tb();
            // Bit `bit` goes 0 -> 1 at k * period + period / 2.
            let phase = tb % period;
            let wait = if phase < period / 2 { period / 2 - phase } else { period - phase + period / 2 };
            t.arm(ticks_to_ns(self.now_ticks() + wait));
        }
    }

    /// Folds expired timers into TSR (decrementer auto-reload included). Returns whether a
    /// timer was armed again (the machine loop must then hear of its new deadline).
    pub fn update(&mut self) -> bool {
        // A plain load first: this runs between blocks, and timers rarely have fired.
        if self.fired.load(Ordering::Acquire) == 0 {
            return false;
        }
        let fired = self.fired.swap(0, Ordering::AcqRel);
        if fired == 0 {
            return false;
        }
        if fired & FIRED_DEC != 0 {
            self.tsr |= TSR_DIS;
            if self.tcr & TCR_ARE != 0 && self.decar != 0 {
                self.dec_base += self.dec_val as u64;
                self.dec_val = self.decar;
                self.arm_dec();
            }
        }
        if fired & FIRED_FIT != 0 {
            self.tsr |= TSR_FIS;
            self.arm_periodic();
        }
        if fired & FIRED_WDT != 0 {
            if self.tsr & TSR_ENW == 0 {
                self.tsr |= TSR_ENW;
            } else {
                self.tsr |= TSR_WIS;
            }
            self.arm_periodic();
        }
        true
    }
}

impl PpcCpu {
    /// The timebase.
    pub fn timebase(&self) -> u64 {
        self.timers.tb()
    }

    pub(crate) fn timers_read_dec(&self) -> u32 {
        self.timers.dec()
    }

    pub(crate) fn timers_write_dec(&mut self, v: u32) {
        self.timers.set_dec(v);
        self.timers_rearmed();
    }

    /// A timer was (re)armed while guest code runs: leave to the machine loop, which sets the
    /// host alarm (or the deterministic instruction budget) from the new next deadline.
    /// Without this a guest that busy-waits on TSR after writing DEC never sees it expire.
    /// (Deterministic mode does not: there time only moves with instructions, and the loop
    /// charges slices up to the deadlines it knows.)
    fn timers_rearmed(&mut self) {
        if self.timer_exits {
            self.hdr.request_exit(ferrite_softmmu::EXIT_REQ_EXTERNAL);
        }
    }

    pub(crate) fn timers_write_decar(&mut self, v: u32) {
        self.timers.decar = v
    }

    pub(crate) fn timers_tsr(&mut self) -> u32 {
        self.timers_update();
        self.timers.tsr
    }

    /// [`Timers::update`], telling the machine loop when a timer was armed again.
    fn timers_update(&mut self) {
        if self.timers.update() {
            self.timers_rearmed();
        }
    }

    pub(crate) fn timers_tcr(&self) -> u32 {
        self.timers.tcr
    }

    pub(crate) fn timers_write_tsr(&mut self, v: u32) {
        self.timers_update();
        self.timers.tsr &= !v;
    }

    pub(crate) fn timers_write_tcr(&mut self, v: u32) {
        self.timers.tcr = v;
        self.timers.arm_periodic();
        self.timers_rearmed();
    }

    pub(crate) fn timers_write_tb(&mut self, upper: bool, v: u32) {
        self.timers.set_tb(upper, v);
        self.timers_rearmed();
    }

    /// Whether the watchdog, FIT and decrementer interrupts are pending and enabled in TCR.
    pub(crate) fn timer_status(&mut self) -> (bool, bool, bool) {
        self.timers_update();
        let (tsr, tcr) = (self.timers.tsr, self.timers.tcr);
        (tsr & TSR_WIS != 0 && tcr & TCR_WIE != 0, tsr & TSR_FIS != 0 && tcr & TCR_FIE != 0, tsr & TSR_DIS != 0 && tcr & TCR_DIE != 0)
    }

    /// Proxy (CoreInt) mode: takes the vector from the interrupt controller into EPR when the
    /// external interrupt is taken.
    pub(crate) fn acknowledge_external(&mut self) {
        if let Some(ack) = &self.epr_ack {
            if let Some(v) = ack(self.index) {
                self.spr.epr = v;
            }
        }
    }
}
