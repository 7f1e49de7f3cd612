//! EPICS timestamps: seconds and nanoseconds since 1990-01-01 UTC
//! (EPICS base `epicsTime.h` `epicsTimeStamp`, `POSIX_TIME_AT_EPICS_EPOCH`).
//!
//! Conversions to and from [`SystemTime`] and Unix durations are pure
//! arithmetic: nothing here reads a clock.

use std::time::{Duration, SystemTime};

use super::EPICS_EPOCH_UNIX_SECS;

/// EPICS timestamp: seconds and nanoseconds since 1990-01-01 UTC.
///
/// On the wire (`dbr_time_*` in `db_access.h`) it is two big-endian `u32`:
/// `secPastEpoch` then `nsec`. `nanos` is kept as received, so a peer's
/// out-of-range value (>= 10^9) round-trips unchanged; conversions to
/// [`Duration`] / [`SystemTime`] carry the excess into seconds.
///
/// The derived order compares `secs` first, then `nanos`, which is the
/// chronological order for normalised values.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Debug)]
pub struct EpicsTime {
    /// Seconds since 1990-01-01 00:00:00 UTC (`secPastEpoch`).
    pub secs: u32,
    /// Nanoseconds within the second (`nsec`).
    pub nanos: u32,
}

/// Size of an `epicsTimeStamp` on the wire (`epicsTime.h`: two `epicsUInt32`).
pub const EPICS_TIME_WIRE_SIZE: usize = 8;

impl EpicsTime {
    /// The EPICS epoch itself (1990-01-01 00:00:00 UTC).
    pub const EPOCH: EpicsTime = EpicsTime { secs: 0, nanos: 0 };

    /// A timestamp from its two fields.
    pub const fn new(secs: u32, nanos: u32) -> EpicsTime {
        EpicsTime { secs, nanos }
    }

    /// From a duration since the Unix epoch (1970-01-01 UTC).
    ///
    /// `None` if the instant is before the EPICS epoch or after the last
    /// representable second (2126-02-07).
    pub fn from_unix_duration(since_unix: Duration) -> Option<EpicsTime> {
        let secs = since_unix.as_secs().checked_sub(EPICS_EPOCH_UNIX_SECS)?;
        Some(EpicsTime {
            secs: u32::try_from(secs).ok()?,
            nanos: since_unix.subsec_nanos(),
        })
    }

    /// The duration since the Unix epoch (1970-01-01 UTC). Nanoseconds of
    /// 10^9 or more carry into the seconds.
    pub fn to_unix_duration(self) -> Duration {
        // Cannot overflow: u32::MAX + 631_152_000 + 4 fits in u64.
        Duration::new(u64::from(self.secs) + EPICS_EPOCH_UNIX_SECS, self.nanos)
    }

    /// From a [`SystemTime`]; `None` if it is before 1990 or after 2126.
    pub fn from_system_time(t: SystemTime) -> Option<EpicsTime> {
        t.duration_since(SystemTime::UNIX_EPOCH)
            .ok()
            .and_then(EpicsTime::from_unix_duration)
    }

    /// The same instant as a [`SystemTime`].
    pub fn to_system_time(self) -> SystemTime {
        SystemTime::UNIX_EPOCH + self.to_unix_duration()
    }

    /// The duration since the EPICS epoch.
    pub fn since_epics_epoch(self) -> Duration {
        Duration::new(u64::from(self.secs), self.nanos)
    }

    /// The 8 wire bytes (big-endian `secPastEpoch`, `nsec`).
    pub fn to_be_bytes(self) -> [u8; EPICS_TIME_WIRE_SIZE] {
        let s = self.secs.to_be_bytes();
        let n = self.nanos.to_be_bytes();
        [s[0], s[1], s[2], s[3], n[0], n[1], n[2], n[3]]
    }

    /// From the 8 wire bytes.
    pub fn from_be_bytes(b: [u8; EPICS_TIME_WIRE_SIZE]) -> EpicsTime {
        EpicsTime {
            secs: u32::from_be_bytes([b[0], b[1], b[2], b[3]]),
            nanos: u32::from_be_bytes([b[4], b[5], b[6], b[7]]),
        }
    }
}

impl From<EpicsTime> for SystemTime {
    fn from(t: EpicsTime) -> SystemTime {
        t.to_system_time()
    }
}

impl TryFrom<SystemTime> for EpicsTime {
    type Error = TimeOutOfRange;

    fn try_from(t: SystemTime) -> Result<EpicsTime, TimeOutOfRange> {
        EpicsTime::from_system_time(t).ok_or(TimeOutOfRange)
    }
}

/// A [`SystemTime`] outside the range an [`EpicsTime`] can hold
/// (1990-01-01 to 2126-02-07 UTC).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct TimeOutOfRange;

impl core::fmt::Display for TimeOutOfRange {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("time is outside the EPICS timestamp range (1990..2126)")
    }
}

impl std::error::Error for TimeOutOfRange {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epoch_is_1990_in_unix_seconds() {
        assert_eq!(
            EpicsTime::EPOCH.to_unix_duration(),
            Duration::from_secs(631_152_000)
        );
        assert_eq!(
            EpicsTime::from_unix_duration(Duration::from_secs(631_152_000)),
            Some(EpicsTime::EPOCH)
        );
    }

    #[test]
    fn before_epoch_and_beyond_u32_are_refused() {
        assert_eq!(
            EpicsTime::from_unix_duration(Duration::from_secs(631_151_999)),
            None
        );
        let last = Duration::from_secs(631_152_000 + u64::from(u32::MAX));
        assert_eq!(
            EpicsTime::from_unix_duration(last),
            Some(EpicsTime::new(u32::MAX, 0))
        );
        assert_eq!(
            EpicsTime::from_unix_duration(last + Duration::from_secs(1)),
            None
        );
        assert!(EpicsTime::try_from(SystemTime::UNIX_EPOCH).is_err());
    }

    #[test]
    fn system_time_round_trip_keeps_nanoseconds() {
        // 0x45676c26 seconds past 1990 = 2026-11-24T22:03:18Z.
        let t = EpicsTime::new(0x4567_6c26, 0x1ada_6593);
        let st: SystemTime = t.into();
        assert_eq!(EpicsTime::try_from(st), Ok(t));
        assert_eq!(
            st.duration_since(SystemTime::UNIX_EPOCH).ok(),
            Some(Duration::new(0x4567_6c26 + 631_152_000, 0x1ada_6593))
        );
    }

    #[test]
    fn nanos_overflow_carries_without_panic() {
        let t = EpicsTime::new(u32::MAX, u32::MAX);
        let d = t.to_unix_duration();
        assert_eq!(d.as_secs(), u64::from(u32::MAX) + 631_152_000 + 4);
        let _ = t.to_system_time();
    }

    #[test]
    fn order_is_chronological() {
        assert!(EpicsTime::new(1, 999_999_999) < EpicsTime::new(2, 0));
        assert!(EpicsTime::new(2, 1) > EpicsTime::new(2, 0));
    }

    #[test]
    fn wire_bytes_are_big_endian_secs_then_nsec() {
        let t = EpicsTime::new(0x4567_6c26, 0x1ada_6593);
        assert_eq!(
            t.to_be_bytes(),
            [0x45, 0x67, 0x6c, 0x26, 0x1a, 0xda, 0x65, 0x93]
        );
        assert_eq!(EpicsTime::from_be_bytes(t.to_be_bytes()), t);
    }
}
