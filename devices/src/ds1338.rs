//! The Maxim DS1338 real-time clock on I2C (QEMU `hw/rtc/ds1338.c`; Linux `rtc-ds1307`, which
//! binds the `pericom,pt7c4338` node of the `ppce500` tree): seven BCD time registers, a
//! control register and 56 bytes of RAM behind one register pointer.
//!
//! Time is the machine's virtual clock added to a base (the host's time at start, or a fixed
//! date in deterministic mode) plus whatever the guest set.
//!
//! Where QEMU 7.2 departs from the chip, this follows the chip: the time registers a write
//! transfer stores apply together when it ends (QEMU applies each byte to the running time,
//! so a burst setting Feb 29 passes through the previous year's Feb 29, which is March 1, and
//! the day of the week is counted from the date before the set), and the 12-hour mode bit is
//! kept (QEMU reads hours back in 24-hour form).

use crate::i2c::I2cTarget;
use crate::Clock;
use std::sync::Arc;

const NVRAM_SIZE: usize = 64;
/// Hours register: 12-hour mode.
const HOURS_12: u8 = 0x40;
/// Hours register: PM (12-hour mode).
const HOURS_PM: u8 = 0x20;
/// Control register: oscillator stop flag (the guest can only clear it).
const CTRL_OSF: u8 = 0x20;
/// Control register bits that exist.
const CTRL_MASK: u8 = 0xb3;

/// The clock.
pub struct Ds1338 {
    clock: Arc<dyn Clock>,
    /// Seconds since the Unix epoch when the virtual clock read 0.
    base: i64,
    /// Seconds the guest moved the time by.
    offset: i64,
    /// Days the guest moved the day of the week by (it is a counter of its own).
    wday_offset: u8,
    nvram: [u8; NVRAM_SIZE],
    ptr: usize,
    /// The next byte written sets the register pointer.
    pointer_next: bool,
    /// The guest wrote time registers in this transfer.
    time_written: bool,
}

impl Ds1338 {
    /// A clock showing `base` (seconds since the Unix epoch) when `clock` reads 0.
    pub fn new(clock: Arc<dyn Clock>, base: i64) -> Ds1338 {
        Ds1338 { clock, base, offset: 0, wday_offset: 0, nvram: [0; NVRAM_SIZE], ptr: 0, pointer_next: false, time_written: false }
    }

    fn now(&self) -> i64 {
        self.base + (self.clock.now_ns() / 1_000_000_000) as i64 + self.offset
    }

    /// Latches the current time into the time registers, as a start condition does.
    fn capture(&mut self) {
        let t = DateTime::from_unix(self.now());
        self.nvram[0] = bcd(t.sec);
        self.nvram[1] = bcd(t.min);
        self.nvram[2] = if self.nvram[2] & HOURS_12 != 0 {
            let h12 = match t.hour % 12 {
                0 => 12,
                h => h,
            };
            HOURS_12 | if t.hour >= 12 { HOURS_PM } else { 0 } | bcd(h12)
        } else {
            bcd(t.hour)
        };
        self.nvram[3] = (t.wday + self.wday_offset) % 7 + 1;
        self.nvram[4] = bcd(t.mday);
        self.nvram[5] = bcd(t.month);
        self.nvram[6] = bcd((t.year % 100) as u8);
    }

    /// Sets the running time to what the time registers now hold (after a write transfer
    /// stored into them: applying them all at once, a date written as Feb 29 does not pass
    /// through an invalid Feb 29 of the year before).
    fn apply_time_registers(&mut self) {
        let r = &self.nvram;
        let hour = if r[2] & HOURS_12 != 0 {
            unbcd(r[2] & (HOURS_PM - 1)) % 12 + if r[2] & HOURS_PM != 0 { 12 } else { 0 }
        } else {
            unbcd(r[2] & (HOURS_12 - 1))
        };
        let t = DateTime {
            year: 2000 + unbcd(r[6]) as i64,
            month: unbcd(r[5] & 0x1f),
            mday: unbcd(r[4] & 0x3f),
            hour,
            min: unbcd(r[1] & 0x7f),
            sec: unbcd(r[0] & 0x7f),
            wday: 0,
        };
        let wanted_wday = (r[3] & 7).wrapping_sub(1) % 7;
        let set = t.to_unix();
        self.offset += set - self.now();
        self.wday_offset = (wanted_wday + 7 - DateTime::from_unix(set).wday) % 7;
    }

    fn advance(&mut self) {
        // The pointer wraps after the last RAM byte, and the wrap latches the time again.
        self.ptr = (self.ptr + 1) % NVRAM_SIZE;
        if self.ptr == 0 {
            self.capture();
        }
    }
}

impl I2cTarget for Ds1338 {
    fn start(&mut self, read: bool) -> bool {
        // Every start latches the time; a write transfer begins with the register pointer.
        self.capture();
        self.pointer_next = !read;
        true
    }

    fn send(&mut self, data: u8) -> bool {
        if std::mem::take(&mut self.pointer_next) {
            self.ptr = data as usize % NVRAM_SIZE;
            return true;
        }
        match self.ptr {
            0..=6 => {
                self.nvram[self.ptr] = data;
                self.time_written = true;
            }
            7 => {
                let osf = data & self.nvram[7] & CTRL_OSF;
                self.nvram[7] = (data & CTRL_MASK & !CTRL_OSF) | osf;
            }
            p => self.nvram[p] = data,
        }
        self.advance();
        true
    }

    fn recv(&mut self) -> u8 {
        let v = self.nvram[self.ptr];
        self.advance();
        v
    }

    fn stop(&mut self) {
        if std::mem::take(&mut self.time_written) {
            self.apply_time_registers();
        }
    }

    fn reset(&mut self) {
        *self = Ds1338::new(self.clock.clone(), self.base);
    }
}

fn bcd(v: u8) -> u8 {
    ((v / 10) << 4) | (v % 10)
}

fn unbcd(v: u8) -> u8 {
    (v >> 4) * 10 + (v & 0xf)
}

/// A UTC calendar date and time (proleptic Gregorian).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DateTime {
    /// Year, e.g. 2026.
    pub year: i64,
    /// Month, 1-12.
    pub month: u8,
    /// Day of the month, 1-31.
    pub mday: u8,
    /// Hour, 0-23.
    pub hour: u8,
    /// Minute, 0-59.
    pub min: u8,
    /// Second, 0-59.
    pub sec: u8,
    /// Day of the week, 0 = Sunday.
    pub wday: u8,
}

impl DateTime {
    /// The date and time `secs` seconds after 1970-01-01 00:00:00 UTC.
    pub fn from_unix(secs: i64) -> DateTime {
        let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
        // Days to a civil date, counting in 400-year eras that start on 0000-03-01 (so that
        // February, with the leap day, ends the year).
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let mday = (doy - (153 * mp + 2) / 5 + 1) as u8;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
        let year = yoe + era * 400 + (month <= 2) as i64;
        DateTime {
            year,
            month,
            mday,
            hour: (rem / 3600) as u8,
            min: (rem / 60 % 60) as u8,
            sec: (rem % 60) as u8,
            // 1970-01-01 was a Thursday.
            wday: (days + 4).rem_euclid(7) as u8,
        }
    }

    /// Seconds since 1970-01-01 00:00:00 UTC (the day of the week is not consulted; out of
    /// range fields carry over, as `mktime` does).
    pub fn to_unix(&self) -> i64 {
        let month = self.month.clamp(1, 12) as i64;
        let y = self.year - (month <= 2) as i64;
        let era = y.div_euclid(400);
        let yoe = y.rem_euclid(400);
        let mp = (month + 9) % 12;
        let doy = (153 * mp + 2) / 5 + self.mday as i64 - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        let days = era * 146_097 + doe - 719_468;
        days * 86_400 + self.hour as i64 * 3600 + self.min as i64 * 60 + self.sec as i64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ManualClock;

    /// 2026-12-03 14:30:05 UTC, a Thursday.
    const BASE: i64 = 1_796_308_205;

    fn rtc() -> (Ds1338, Arc<ManualClock>) {
        let clock = ManualClock::new();
        (Ds1338::new(clock.clone(), BASE), clock)
    }

    fn read_regs(r: &mut Ds1338, from: u8, n: usize) -> Vec<u8> {
        r.start(false);
        r.send(from);
        r.stop();
        r.start(true);
        let v = (0..n).map(|_| r.recv()).collect();
        r.stop();
        v
    }

    #[test]
    fn calendar_round_trips() {
        let t = DateTime::from_unix(BASE);
        assert_eq!(t, DateTime { year: 2026, month: 12, mday: 3, hour: 14, min: 30, sec: 5, wday: 4 });
        for s in [0, 951_782_400 /* 2000-02-29 */, 4_107_542_399 /* 2100-02-28 23:59:59 */, -86_400, BASE] {
            assert_eq!(DateTime::from_unix(s).to_unix(), s, "{s}");
        }
        assert_eq!(DateTime::from_unix(951_782_400).mday, 29, "2000 is a leap year");
        assert_eq!(DateTime::from_unix(4_107_542_400).month, 3, "2100 is not");
    }

    #[test]
    fn reads_the_running_time_in_bcd() {
        let (mut r, clock) = rtc();
        assert_eq!(read_regs(&mut r, 0, 7), [0x05, 0x30, 0x14, 5, 0x03, 0x12, 0x26]);
        clock.set(61_000_000_000);
        assert_eq!(read_regs(&mut r, 0, 2), [0x06, 0x31], "61 s later");
    }

    #[test]
    fn setting_the_time_moves_the_clock_and_12_hour_mode_reads_back() {
        let (mut r, clock) = rtc();
        // 2024-02-29 23:59:58 (BCD), as Linux's rtc-ds1307 writes it: pointer 0, then 7 bytes.
        r.start(false);
        for b in [0, 0x58, 0x59, 0x23, 5, 0x29, 0x02, 0x24] {
            r.send(b);
        }
        r.stop();
        clock.set(3_000_000_000);
        assert_eq!(read_regs(&mut r, 0, 7), [0x01, 0x00, 0x00, 6, 0x01, 0x03, 0x24], "rolled over into March, a Friday");
        // The day of the week is a counter of its own: it reads what was written, moving on.
        r.start(false);
        for b in [3, 2] {
            r.send(b);
        }
        r.stop();
        assert_eq!(read_regs(&mut r, 3, 1), [2]);
        // 12-hour mode: 9 PM.
        r.start(false);
        for b in [2, HOURS_12 | HOURS_PM | 0x09] {
            r.send(b);
        }
        r.stop();
        assert_eq!(read_regs(&mut r, 2, 1), [HOURS_12 | HOURS_PM | 0x09]);
    }

    #[test]
    fn control_register_and_ram() {
        let (mut r, _) = rtc();
        r.start(false);
        for b in [7, 0xff, 0xaa, 0x55] {
            r.send(b);
        }
        r.stop();
        assert_eq!(read_regs(&mut r, 7, 3), [CTRL_MASK & !CTRL_OSF, 0xaa, 0x55], "OSF cannot be set; RAM holds bytes");
        // The pointer wraps from the last RAM byte to the seconds.
        assert_eq!(read_regs(&mut r, 63, 2)[1], 0x05);
        r.reset();
        assert_eq!(read_regs(&mut r, 8, 1), [0], "reset clears RAM");
    }
}
