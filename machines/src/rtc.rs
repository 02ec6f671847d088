//! `-rtc base=utc|localtime|DATE[,clock=host|rt|vm][,driftfix=none|slew]`: what the board's
//! real-time clock shows when the machine starts (QEMU's option).

use crate::clock::ClockMode;
use ferrite_devices::ds1338::DateTime;

/// The real-time clock's time at start.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RtcBase {
    /// No `-rtc base`: the host's UTC time, or under `-icount` 2000-01-01 00:00:00 so that
    /// runs repeat.
    #[default]
    Default,
    /// The host's UTC time.
    Utc,
    /// The host's local time (the clock shows local time, as a Windows guest expects).
    LocalTime,
    /// This many seconds after 1970-01-01 00:00:00 UTC.
    At(i64),
}

/// 2000-01-01 00:00:00 UTC, the DS1338's first year.
const Y2000: i64 = 946_684_800;

impl RtcBase {
    /// Parses `-rtc`'s option string. `clock=` and `driftfix=` are accepted for QEMU's
    /// command lines; the clock always runs on the machine's time (it stands still while the
    /// machine is stopped, as QEMU's `clock=vm`).
    pub fn parse(spec: &str) -> Result<RtcBase, String> {
        let mut base = RtcBase::Default;
        for item in crate::drive::split_options(spec) {
            let (key, value) = item.split_once('=').ok_or_else(|| format!("-rtc: '{item}' is not KEY=VALUE"))?;
            match (key, value) {
                ("base", "utc") => base = RtcBase::Utc,
                ("base", "localtime") => base = RtcBase::LocalTime,
                ("base", date) => base = RtcBase::At(parse_date(date).ok_or_else(|| format!("-rtc base={date}: expected utc, localtime or a date like 2006-06-17T16:01:21 or 2006-06-17"))?),
                ("clock", "host" | "rt" | "vm") | ("driftfix", "none" | "slew") => {}
                ("clock" | "driftfix", v) => return Err(format!("-rtc {key}={v}: not a {key} value")),
                _ => return Err(format!("-rtc: unknown option '{key}' (base, clock, driftfix)")),
            }
        }
        Ok(base)
    }

    /// Seconds since the Unix epoch that the clock shows at start, in clock mode `mode`.
    pub fn seconds(self, mode: ClockMode) -> i64 {
        let now = || std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64);
        match self {
            RtcBase::Default => match mode {
                ClockMode::RealTime => now(),
                ClockMode::Deterministic { .. } => Y2000,
            },
            RtcBase::Utc => now(),
            RtcBase::LocalTime => {
                let t = now();
                t + local_offset(t)
            }
            RtcBase::At(t) => t,
        }
    }
}

/// `YYYY-MM-DD` or `YYYY-MM-DDTHH:MM:SS`, UTC.
fn parse_date(s: &str) -> Option<i64> {
    let (date, time) = s.split_once('T').unwrap_or((s, "00:00:00"));
    let d: Vec<&str> = date.split('-').collect();
    let t: Vec<&str> = time.split(':').collect();
    let [y, mo, da] = d[..] else { return None };
    let [h, mi, se] = t[..] else { return None };
    let num = |x: &str, lo: i64, hi: i64| x.parse::<i64>().ok().filter(|v| (lo..=hi).contains(v));
    let dt = DateTime {
        year: num(y, 1970, 9999)?,
        month: num(mo, 1, 12)? as u8,
        mday: num(da, 1, 31)? as u8,
        hour: num(h, 0, 23)? as u8,
        min: num(mi, 0, 59)? as u8,
        sec: num(se, 0, 59)? as u8,
        wday: 0,
    };
    let secs = dt.to_unix();
    // A day that the month does not have (2023-02-30) would carry over: refuse it.
    (DateTime::from_unix(secs).mday == dt.mday).then_some(secs)
}

/// The host's offset of local time from UTC at `t`, in seconds.
fn local_offset(t: i64) -> i64 {
    let time = t as libc::time_t;
    // SAFETY: an all-zero tm is valid; localtime_r only writes it.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    // SAFETY: both pointers are valid for the call.
    if unsafe { libc::localtime_r(&time, &mut tm) }.is_null() {
        return 0;
    }
    tm.tm_gmtoff
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qemu_spellings() {
        assert_eq!(RtcBase::parse("base=utc").unwrap(), RtcBase::Utc);
        assert_eq!(RtcBase::parse("base=localtime,clock=host,driftfix=slew").unwrap(), RtcBase::LocalTime);
        assert_eq!(RtcBase::parse("base=2006-06-17T16:01:21").unwrap(), RtcBase::At(1_150_560_081));
        assert_eq!(RtcBase::parse("base=2000-01-01,clock=vm").unwrap(), RtcBase::At(Y2000));
        assert_eq!(RtcBase::parse("clock=rt").unwrap(), RtcBase::Default);
    }

    #[test]
    fn bad_values_say_what_is_accepted() {
        for (spec, says) in [
            ("base=yesterday", "expected utc, localtime or a date"),
            ("base=2023-02-30", "expected utc"),
            ("base=2023-13-01", "expected utc"),
            ("base=2023-01-01T25:00:00", "expected utc"),
            ("clock=wall", "not a clock value"),
            ("speed=2", "unknown option 'speed'"),
            ("base", "not KEY=VALUE"),
        ] {
            let e = RtcBase::parse(spec).unwrap_err();
            assert!(e.contains(says), "{spec}: {e}");
        }
    }

    #[test]
    fn start_times() {
        let det = ClockMode::Deterministic { shift: 3 };
        assert_eq!(RtcBase::Default.seconds(det), Y2000, "deterministic runs repeat");
        assert_eq!(RtcBase::At(5).seconds(ClockMode::RealTime), 5);
        let now = RtcBase::Utc.seconds(det);
        assert!(now > 1_700_000_000, "an explicit base=utc is the host's time even under -icount");
        assert!((RtcBase::LocalTime.seconds(det) - now).abs() <= 14 * 3600 + 60);
    }
}
