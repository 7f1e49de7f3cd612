//! Calendar text of EPICS timestamps, as `epicsTimeToStrftime` prints them
//! (EPICS base `epicsTime.cpp`), with the time zone as an input so that the
//! output is deterministic.

use caproto_core::dbr::EpicsTime;

/// A fixed offset from UTC, the time zone in which timestamps are printed
/// (the C tools use the local time of the machine; pass its offset).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct TimeZone {
    /// Seconds east of UTC (e.g. 3600 for UTC+01:00).
    pub offset_secs: i32,
}

impl TimeZone {
    /// UTC.
    pub const UTC: TimeZone = TimeZone { offset_secs: 0 };

    /// A zone `offset_secs` east of UTC.
    pub const fn fixed(offset_secs: i32) -> TimeZone {
        TimeZone { offset_secs }
    }
}

/// Broken-down civil time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Civil {
    year: i64,
    month: u32,
    day: u32,
    hour: u32,
    minute: u32,
    second: u32,
    weekday: u32,
}

/// Civil date from days since 1970-01-01 (H. Hinnant's `civil_from_days`).
fn civil(unix_secs: i64) -> Civil {
    let days = unix_secs.div_euclid(86_400);
    let sod = unix_secs.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    Civil {
        year,
        month: month as u32,
        day: day as u32,
        hour: (sod / 3600) as u32,
        minute: (sod / 60 % 60) as u32,
        second: (sod % 60) as u32,
        // 1970-01-01 was a Thursday (4).
        weekday: (days + 4).rem_euclid(7) as u32,
    }
}

fn local(t: EpicsTime, tz: TimeZone) -> Civil {
    let unix = i64::from(t.secs) + caproto_core::dbr::EPICS_EPOCH_UNIX_SECS as i64;
    civil(unix + i64::from(tz.offset_secs))
}

/// Fraction of a second with `digits` digits, rounded without overflowing
/// into the next second (`epicsTimeToStrftime`'s `%0<n>f`); `"OVF"` for a
/// nanosecond field of 10^9 or more.
fn fraction(nanos: u32, digits: u32) -> String {
    if nanos >= 1_000_000_000 {
        return "OVF".to_owned();
    }
    let div = 10u32.pow(9 - digits.min(9));
    let frac = (nanos + div / 2).min(999_999_999) / div;
    format!("{frac:0width$}", width = digits as usize)
}

/// `%Y-%m-%d %H:%M:%S.%06f` (`tool_lib.c` `timeFormatStr`), or
/// `<undefined>` for the EPICS epoch itself (an uninitialised stamp).
pub fn timestamp_text(t: EpicsTime, tz: TimeZone) -> String {
    if t.secs == 0 && t.nanos == 0 {
        return "<undefined>".to_owned();
    }
    let c = local(t, tz);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}.{}",
        c.year,
        c.month,
        c.day,
        c.hour,
        c.minute,
        c.second,
        fraction(t.nanos, 6)
    )
}

const WEEKDAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// `%a %b %d %Y %H:%M:%S.%09f`, the "Current Time" of libca's exception
/// report (`ca_signal_formated` in EPICS base `access.cpp`).
pub fn exception_time_text(t: EpicsTime, tz: TimeZone) -> String {
    if t.secs == 0 && t.nanos == 0 {
        return "<undefined>".to_owned();
    }
    let c = local(t, tz);
    let wd = WEEKDAYS.get(c.weekday as usize).copied().unwrap_or("???");
    let mon = MONTHS
        .get(c.month.saturating_sub(1) as usize)
        .copied()
        .unwrap_or("???");
    format!(
        "{wd} {mon} {:02} {:04} {:02}:{:02}:{:02}.{}",
        c.day,
        c.year,
        c.hour,
        c.minute,
        c.second,
        fraction(t.nanos, 9)
    )
}

/// The difference `a - b` in seconds (`epicsTimeDiffInSeconds`).
pub fn diff_seconds(a: EpicsTime, b: EpicsTime) -> f64 {
    let secs = f64::from(a.secs) - f64::from(b.secs);
    let nanos = f64::from(a.nanos) - f64::from(b.nanos);
    secs + nanos / 1e9
}

// ---------------------------------------------------------------------------
// The local time zone (what the C tools' `localtime` applies)
// ---------------------------------------------------------------------------

/// The local time zone's offset at `unix_secs`, as the C library's
/// `localtime` would find it: from `tz_env` (the value of `TZ`: empty or
/// `UTC` for UTC, a zoneinfo name, `:path`, or a POSIX rule such as
/// `CET-1CEST,M3.5.0,M10.5.0/3`), else from `/etc/localtime`; UTC when
/// nothing can be read. Reads files; everything else here is pure.
pub fn local_zone_at(unix_secs: i64, tz_env: Option<&str>) -> TimeZone {
    let from_file = |path: &str| {
        std::fs::read(path)
            .ok()
            .and_then(|b| tzif_offset(&b, unix_secs))
    };
    let offset = match tz_env {
        None => from_file("/etc/localtime"),
        Some("") => Some(0),
        Some(tz) => {
            let name = tz.strip_prefix(':').unwrap_or(tz);
            let path = if name.starts_with('/') {
                name.to_owned()
            } else {
                format!("/usr/share/zoneinfo/{name}")
            };
            // A name with ".." could leave the zoneinfo directory: only
            // absolute paths and plain names are looked up.
            let file = if name.contains("..") {
                None
            } else {
                from_file(&path)
            };
            file.or_else(|| posix_tz_offset(name, unix_secs))
        }
    };
    TimeZone::fixed(offset.unwrap_or(0))
}

/// The UTC offset (seconds east) at `unix_secs` in a TZif file (RFC 8536,
/// versions 1 to 4): the transition table, then the footer's POSIX rule
/// after the last transition. `None` if the data is not TZif.
pub fn tzif_offset(bytes: &[u8], unix_secs: i64) -> Option<i32> {
    fn be32(b: &[u8], at: usize) -> Option<u32> {
        Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
    }
    struct Block {
        times: Vec<i64>,
        idx: Vec<u8>,
        types: Vec<(i32, bool)>,
        end: usize,
    }
    fn block(b: &[u8], start: usize, wide: bool) -> Option<Block> {
        if b.get(start..start + 4)? != b"TZif" {
            return None;
        }
        let c = |i: usize| be32(b, start + 20 + 4 * i).map(|v| v as usize);
        let (isut, isstd, leap, time, typ, chars) = (c(0)?, c(1)?, c(2)?, c(3)?, c(4)?, c(5)?);
        let tsize = if wide { 8 } else { 4 };
        let mut at = start + 44;
        let mut times = Vec::with_capacity(time.min(4096));
        for i in 0..time {
            let p = at + i * tsize;
            let t = if wide {
                i64::from_be_bytes(b.get(p..p + 8)?.try_into().ok()?)
            } else {
                i64::from(be32(b, p)? as i32)
            };
            times.push(t);
        }
        at += time * tsize;
        let idx = b.get(at..at + time)?.to_vec();
        at += time;
        let mut types = Vec::with_capacity(typ.min(256));
        for i in 0..typ {
            let p = at + 6 * i;
            types.push((be32(b, p)? as i32, *b.get(p + 4)? != 0));
        }
        at += 6 * typ + chars + leap * (tsize + 4) + isstd + isut;
        Some(Block {
            times,
            idx,
            types,
            end: at,
        })
    }
    let v1 = block(bytes, 0, false)?;
    let version = *bytes.get(4)?;
    let (data, footer) = if version >= b'2' {
        let v2 = block(bytes, v1.end, true)?;
        let rest = bytes.get(v2.end..).unwrap_or_default();
        let footer = rest
            .strip_prefix(b"\n")
            .and_then(|r| r.split(|&c| c == b'\n').next())
            .and_then(|f| std::str::from_utf8(f).ok())
            .map(str::to_owned);
        (v2, footer)
    } else {
        (v1, None)
    };
    let last = data.times.last().copied();
    if last.map_or(true, |l| unix_secs >= l) {
        if let Some(off) = footer
            .as_deref()
            .and_then(|f| posix_tz_offset(f, unix_secs))
        {
            return Some(off);
        }
    }
    let pos = data.times.partition_point(|&t| t <= unix_secs);
    let ty = match pos.checked_sub(1) {
        Some(i) => usize::from(*data.idx.get(i)?),
        // Before the first transition: the first standard-time type.
        None => data.types.iter().position(|t| !t.1).unwrap_or(0),
    };
    data.types.get(ty).map(|t| t.0)
}

/// A POSIX `TZ` rule's date: `Mm.w.d`, `Jn` or `n`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum RuleDate {
    MonthWeekDay(u32, u32, u32),
    JulianNoLeap(u32),
    Julian(u32),
}

/// The UTC offset (seconds east) at `unix_secs` under a POSIX `TZ` rule
/// (`EST5EDT,M3.2.0,M11.1.0`, `<+03>-3`, `UTC0`); `None` if it does not
/// parse.
pub fn posix_tz_offset(rule: &str, unix_secs: i64) -> Option<i32> {
    let mut p = TzParser {
        s: rule.as_bytes(),
        i: 0,
    };
    p.name()?;
    let std_off = -p.offset()?;
    if p.done() {
        return Some(std_off);
    }
    p.name()?;
    let dst_off = if p.peek().is_some_and(|c| c != b',') {
        -p.offset()?
    } else {
        std_off + 3600
    };
    if p.done() {
        // No rule: the US rules of POSIX's default are not assumed.
        return Some(std_off);
    }
    p.expect(b',')?;
    let (start, start_time) = p.date_time()?;
    p.expect(b',')?;
    let (end, end_time) = p.date_time()?;
    let year = civil(unix_secs + i64::from(std_off)).year;
    let start_utc = rule_day(start, year)? * 86_400 + start_time - i64::from(std_off);
    let end_utc = rule_day(end, year)? * 86_400 + end_time - i64::from(dst_off);
    let dst = if start_utc < end_utc {
        (start_utc..end_utc).contains(&unix_secs)
    } else {
        !(end_utc..start_utc).contains(&unix_secs)
    };
    Some(if dst { dst_off } else { std_off })
}

struct TzParser<'a> {
    s: &'a [u8],
    i: usize,
}

impl TzParser<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }
    fn done(&self) -> bool {
        self.i >= self.s.len()
    }
    fn expect(&mut self, c: u8) -> Option<()> {
        (self.peek()? == c).then(|| self.i += 1)
    }
    fn name(&mut self) -> Option<()> {
        if self.peek()? == b'<' {
            let end = self.s.get(self.i..)?.iter().position(|&c| c == b'>')?;
            self.i += end + 1;
            return Some(());
        }
        let start = self.i;
        while self.peek().is_some_and(|c| c.is_ascii_alphabetic()) {
            self.i += 1;
        }
        (self.i - start >= 3).then_some(())
    }
    fn number(&mut self) -> Option<i64> {
        let start = self.i;
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.i += 1;
        }
        std::str::from_utf8(self.s.get(start..self.i)?)
            .ok()?
            .parse()
            .ok()
    }
    /// `[+-]hh[:mm[:ss]]` in seconds (positive west, as written).
    fn offset(&mut self) -> Option<i32> {
        let neg = match self.peek()? {
            b'-' => {
                self.i += 1;
                true
            }
            b'+' => {
                self.i += 1;
                false
            }
            _ => false,
        };
        let mut secs = self.number()? * 3600;
        if self.peek() == Some(b':') {
            self.i += 1;
            secs += self.number()? * 60;
            if self.peek() == Some(b':') {
                self.i += 1;
                secs += self.number()?;
            }
        }
        let secs = i32::try_from(secs).ok()?;
        Some(if neg { -secs } else { secs })
    }
    fn date_time(&mut self) -> Option<(RuleDate, i64)> {
        let date = match self.peek()? {
            b'M' => {
                self.i += 1;
                let m = self.number()?;
                self.expect(b'.')?;
                let w = self.number()?;
                self.expect(b'.')?;
                let d = self.number()?;
                RuleDate::MonthWeekDay(m as u32, w as u32, d as u32)
            }
            b'J' => {
                self.i += 1;
                RuleDate::JulianNoLeap(self.number()? as u32)
            }
            _ => RuleDate::Julian(self.number()? as u32),
        };
        let time = if self.peek() == Some(b'/') {
            self.i += 1;
            i64::from(self.offset()?)
        } else {
            7200
        };
        Some((date, time))
    }
}

/// Days since 1970-01-01 of a civil date (H. Hinnant's `days_from_civil`).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(m);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

/// Days since 1970-01-01 of a rule's date in `year`.
fn rule_day(rule: RuleDate, year: i64) -> Option<i64> {
    let jan1 = days_from_civil(year, 1, 1);
    match rule {
        RuleDate::Julian(n) if n <= 365 => Some(jan1 + i64::from(n)),
        RuleDate::JulianNoLeap(n) if (1..=365).contains(&n) => {
            let leap_shift = i64::from(is_leap(year) && n >= 60);
            Some(jan1 + i64::from(n) - 1 + leap_shift)
        }
        RuleDate::MonthWeekDay(m, w, d)
            if (1..=12).contains(&m) && (1..=5).contains(&w) && d <= 6 =>
        {
            let first = days_from_civil(year, m, 1);
            // 1970-01-01 was a Thursday (4).
            let wd_first = (first + 4).rem_euclid(7);
            let mut day = first + (i64::from(d) - wd_first).rem_euclid(7) + 7 * (i64::from(w) - 1);
            let next_month = if m == 12 {
                days_from_civil(year + 1, 1, 1)
            } else {
                days_from_civil(year, m + 1, 1)
            };
            while day >= next_month {
                day -= 7;
            }
            Some(day)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capture_timestamp_in_utc() {
        // monitor.pcap: the first t:calc update.
        let t = EpicsTime::new(1_164_405_798, 450_520_467);
        assert_eq!(
            timestamp_text(t, TimeZone::UTC),
            "2026-11-24 22:03:18.450520"
        );
        assert_eq!(
            timestamp_text(t, TimeZone::fixed(3600)),
            "2026-11-24 23:03:18.450520"
        );
        assert_eq!(
            exception_time_text(t, TimeZone::UTC),
            "Tue Nov 24 2026 22:03:18.450520467"
        );
    }

    #[test]
    fn undefined_and_rounding() {
        assert_eq!(
            timestamp_text(EpicsTime::EPOCH, TimeZone::UTC),
            "<undefined>"
        );
        let t = EpicsTime::new(0, 999_999_900);
        assert_eq!(
            timestamp_text(t, TimeZone::UTC),
            "1990-01-01 00:00:00.999999"
        );
        let t = EpicsTime::new(1, 1_000_000_000);
        assert_eq!(timestamp_text(t, TimeZone::UTC), "1990-01-01 00:00:01.OVF");
    }

    #[test]
    fn posix_rules() {
        // 2026-07-01 and 2026-01-01, 12:00 UTC.
        let (summer, winter) = (1_782_907_200, 1_767_268_800);
        let cet = "CET-1CEST,M3.5.0,M10.5.0/3";
        assert_eq!(posix_tz_offset(cet, summer), Some(7200));
        assert_eq!(posix_tz_offset(cet, winter), Some(3600));
        let est = "EST5EDT,M3.2.0,M11.1.0";
        assert_eq!(posix_tz_offset(est, summer), Some(-4 * 3600));
        assert_eq!(posix_tz_offset(est, winter), Some(-5 * 3600));
        // Southern hemisphere: DST spans the new year.
        let nz = "NZST-12NZDT,M9.5.0,M4.1.0/3";
        assert_eq!(posix_tz_offset(nz, winter), Some(13 * 3600));
        assert_eq!(posix_tz_offset(nz, summer), Some(12 * 3600));
        assert_eq!(posix_tz_offset("UTC0", summer), Some(0));
        assert_eq!(posix_tz_offset("<+0530>-5:30", summer), Some(19_800));
        assert_eq!(posix_tz_offset("bogus", summer), None);
        // 2026-03-29 01:00 UTC is the CET switch to summer time.
        assert_eq!(posix_tz_offset(cet, 1_774_746_000 - 1), Some(3600));
        assert_eq!(posix_tz_offset(cet, 1_774_746_000), Some(7200));
        assert_eq!(local_zone_at(summer, Some("")), TimeZone::UTC);
        assert_eq!(local_zone_at(summer, Some(cet)).offset_secs, 7200);
    }

    #[test]
    fn system_zoneinfo_when_installed() {
        let (summer, winter) = (1_782_907_200, 1_767_268_800);
        for (name, s, w) in [
            ("Europe/Paris", 7200, 3600),
            ("America/New_York", -4 * 3600, -5 * 3600),
            ("Asia/Kolkata", 19_800, 19_800),
        ] {
            if std::path::Path::new("/usr/share/zoneinfo")
                .join(name)
                .exists()
            {
                assert_eq!(local_zone_at(summer, Some(name)).offset_secs, s, "{name}");
                assert_eq!(local_zone_at(winter, Some(name)).offset_secs, w, "{name}");
                // Far past and far future go through the table and footer.
                let _ = local_zone_at(-4_000_000_000, Some(name));
                let _ = local_zone_at(8_000_000_000, Some(name));
            }
        }
        assert_eq!(
            local_zone_at(summer, Some("../../etc/passwd")),
            TimeZone::UTC
        );
    }

    #[test]
    fn tzif_table_and_footer() {
        // A version-2 TZif: one transition at t=1000 to type 1 (+3600),
        // type 0 is +0; footer "CET-1" after the table.
        fn block(wide: bool) -> Vec<u8> {
            let mut b = b"TZif2".to_vec();
            b.extend_from_slice(&[0; 15]);
            for c in [0u32, 0, 0, 1, 2, 4] {
                b.extend_from_slice(&c.to_be_bytes());
            }
            if wide {
                b.extend_from_slice(&1000i64.to_be_bytes());
            } else {
                b.extend_from_slice(&1000i32.to_be_bytes());
            }
            b.push(1);
            b.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
            b.extend_from_slice(&[0, 0, 0x0e, 0x10, 0, 1]);
            b.extend_from_slice(b"UTC\0");
            b
        }
        let mut f = block(false);
        f.extend(block(true));
        f.extend_from_slice(b"\nCET-1\n");
        assert_eq!(tzif_offset(&f, 999), Some(0));
        assert_eq!(tzif_offset(&f, 1000), Some(3600));
        assert_eq!(tzif_offset(&f, 5000), Some(3600));
        assert_eq!(tzif_offset(b"nope", 0), None);
        assert_eq!(tzif_offset(&f[..30], 0), None);
    }

    #[test]
    fn leap_years_and_late_dates() {
        assert_eq!(civil(951_782_400).month, 2); // 2000-02-29
        assert_eq!(civil(951_782_400).day, 29);
        let t = EpicsTime::new(u32::MAX, 0);
        assert!(timestamp_text(t, TimeZone::fixed(-86_400)).starts_with("2126-02-0"));
    }
}
