//! Time as policies see it: [`Timestamp`] (milliseconds since the Unix epoch, UTC) and
//! day arithmetic.

use std::fmt;
use std::ops::{Add, Sub};
use std::time::Duration;

/// Milliseconds in one day (86 400 000).
pub const MILLIS_PER_DAY: i64 = 86_400_000;

/// A [`Duration`] of `n` days, for `now + days(30)`.
///
/// ```
/// use lakegate_sdk::{Timestamp, days};
/// let now = Timestamp::from_millis(0);
/// assert_eq!((now + days(2)).as_millis(), 2 * 86_400_000);
/// ```
pub const fn days(n: u64) -> Duration {
    Duration::from_secs(n.saturating_mul(86_400))
}

/// A point in time: milliseconds since the Unix epoch, UTC (the WIT `timestamp`).
///
/// Every decision call receives the current time as a `Timestamp` (`now`); plugins have no clock
/// of their own, so decisions are deterministic. Arithmetic saturates instead of overflowing.
///
/// ```
/// use lakegate_sdk::{Timestamp, days};
/// let written = Timestamp::from_secs(1_700_000_000);
/// let now = written + days(31);
/// assert_eq!(written.age_days(now), 31);
/// assert!(written.is_older_than(days(30), now));
/// assert_eq!(Timestamp::from_millis(0).to_string(), "1970-01-01T00:00:00.000Z");
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub i64);

impl Timestamp {
    /// 1970-01-01T00:00:00Z.
    pub const UNIX_EPOCH: Timestamp = Timestamp(0);

    /// From milliseconds since the Unix epoch.
    pub const fn from_millis(millis: i64) -> Self {
        Timestamp(millis)
    }

    /// From whole seconds since the Unix epoch (saturating).
    pub const fn from_secs(secs: i64) -> Self {
        Timestamp(secs.saturating_mul(1000))
    }

    /// Milliseconds since the Unix epoch.
    pub const fn as_millis(self) -> i64 {
        self.0
    }

    /// Whole seconds since the Unix epoch (rounded towards negative infinity).
    pub const fn as_secs(self) -> i64 {
        self.0.div_euclid(1000)
    }

    /// `self + n` days (`n` may be negative), saturating.
    pub const fn add_days(self, n: i64) -> Self {
        Timestamp(self.0.saturating_add(n.saturating_mul(MILLIS_PER_DAY)))
    }

    /// `self + d`, or `None` on overflow.
    pub fn checked_add(self, d: Duration) -> Option<Self> {
        let ms = i64::try_from(d.as_millis()).ok()?;
        self.0.checked_add(ms).map(Timestamp)
    }

    /// `self - d`, or `None` on overflow.
    pub fn checked_sub(self, d: Duration) -> Option<Self> {
        let ms = i64::try_from(d.as_millis()).ok()?;
        self.0.checked_sub(ms).map(Timestamp)
    }

    /// Milliseconds from `self` to `now` (negative if `self` is in the future), saturating.
    pub const fn age_millis(self, now: Timestamp) -> i64 {
        now.0.saturating_sub(self.0)
    }

    /// Complete days from `self` to `now`: 0 for anything less than 24 hours old, and negative
    /// if `self` lies in the future (rounded towards negative infinity). "At least `n` days old"
    /// is `t.age_days(now) >= n`.
    pub const fn age_days(self, now: Timestamp) -> i64 {
        self.age_millis(now).div_euclid(MILLIS_PER_DAY)
    }

    /// The first UTC midnight at or after `self + n` days (`n` may be negative), saturating.
    ///
    /// This is S3 lifecycle day arithmetic: a rule of `n` days applies to something dated
    /// `self` (an object's creation, the moment a version became noncurrent, an upload's
    /// initiation) from `t.eligible_after_days(n)` on — "adding N days to the creation time and
    /// rounding up to the next midnight UTC". A time exactly at midnight is not rounded.
    ///
    /// ```
    /// use lakegate_sdk::Timestamp;
    /// let created = Timestamp::from_secs(1_389_781_800); // 2014-01-15T10:30:00Z
    /// let eligible = created.eligible_after_days(3);
    /// assert_eq!(eligible.to_string(), "2014-01-19T00:00:00.000Z");
    /// let midnight = Timestamp::from_secs(1_389_744_000); // 2014-01-15T00:00:00Z
    /// assert_eq!(midnight.eligible_after_days(3).to_string(), "2014-01-18T00:00:00.000Z");
    /// ```
    pub const fn eligible_after_days(self, n: i64) -> Timestamp {
        let t = self.add_days(n).0;
        let into_day = t.rem_euclid(MILLIS_PER_DAY);
        if into_day == 0 {
            Timestamp(t)
        } else {
            Timestamp(t.saturating_add(MILLIS_PER_DAY - into_day))
        }
    }

    /// Whether at least `age` has passed from `self` to `now`.
    pub fn is_older_than(self, age: Duration, now: Timestamp) -> bool {
        let age = i64::try_from(age.as_millis()).unwrap_or(i64::MAX);
        self.age_millis(now) >= age
    }
}

impl From<i64> for Timestamp {
    fn from(millis: i64) -> Self {
        Timestamp(millis)
    }
}

impl From<Timestamp> for i64 {
    fn from(t: Timestamp) -> Self {
        t.0
    }
}

/// Saturating addition of a [`Duration`].
impl Add<Duration> for Timestamp {
    type Output = Timestamp;
    fn add(self, d: Duration) -> Timestamp {
        let ms = i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
        Timestamp(self.0.saturating_add(ms))
    }
}

/// Saturating subtraction of a [`Duration`].
impl Sub<Duration> for Timestamp {
    type Output = Timestamp;
    fn sub(self, d: Duration) -> Timestamp {
        let ms = i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
        Timestamp(self.0.saturating_sub(ms))
    }
}

/// RFC 3339 in UTC with milliseconds, e.g. `2024-02-29T13:05:09.042Z`.
impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let days = self.0.div_euclid(MILLIS_PER_DAY);
        let ms_of_day = self.0.rem_euclid(MILLIS_PER_DAY);
        let (y, m, d) = civil_from_days(days);
        let secs = ms_of_day / 1000;
        write!(
            f,
            "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
            secs / 3600,
            secs / 60 % 60,
            secs % 60,
            ms_of_day % 1000
        )
    }
}

/// Days since 1970-01-01 to a proleptic Gregorian (year, month, day); Howard Hinnant's
/// `civil_from_days`.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_and_addition() {
        let t = Timestamp::from_secs(1_000);
        assert_eq!((t + days(1)).as_millis(), 1_000_000 + MILLIS_PER_DAY);
        assert_eq!((t - days(1)).as_millis(), 1_000_000 - MILLIS_PER_DAY);
        assert_eq!(t.add_days(-2), t - days(2));
        assert_eq!(t.checked_add(days(3)), Some(t.add_days(3)));
        assert_eq!(Timestamp(i64::MAX).checked_add(days(1)), None);
        assert_eq!(Timestamp(i64::MIN).checked_sub(days(1)), None);
        assert_eq!(Timestamp(i64::MAX) + days(1), Timestamp(i64::MAX));
        assert_eq!(Timestamp(i64::MIN) - days(1), Timestamp(i64::MIN));
        assert_eq!(Timestamp(0) + days(u64::MAX), Timestamp(i64::MAX));
        assert_eq!(Timestamp(0).add_days(i64::MAX), Timestamp(i64::MAX));
    }

    #[test]
    fn age_days_floors() {
        let t = Timestamp::from_millis(1_700_000_000_000);
        assert_eq!(t.age_days(t), 0);
        assert_eq!(t.age_days(Timestamp(t.0 + MILLIS_PER_DAY - 1)), 0);
        assert_eq!(t.age_days(Timestamp(t.0 + MILLIS_PER_DAY)), 1);
        assert_eq!(t.age_days(t.add_days(30)), 30);
        assert_eq!(t.age_days(Timestamp(t.0 - 1)), -1);
        assert_eq!(t.age_days(t.add_days(-3)), -3);
        assert_eq!(t.age_millis(Timestamp(t.0 + 5)), 5);
        assert_eq!(
            Timestamp(i64::MIN).age_millis(Timestamp(i64::MAX)),
            i64::MAX
        );
    }

    #[test]
    fn is_older_than_is_inclusive() {
        let t = Timestamp::from_millis(0);
        assert!(t.is_older_than(days(30), t.add_days(30)));
        assert!(!t.is_older_than(days(30), Timestamp(30 * MILLIS_PER_DAY - 1)));
        assert!(t.is_older_than(days(0), t));
        assert!(!t.is_older_than(days(u64::MAX), Timestamp(i64::MAX - 1)));
    }

    #[test]
    fn eligible_after_days_rounds_up_to_midnight_utc() {
        let midnight = Timestamp::from_secs(1_767_225_600); // 2026-01-01T00:00:00Z
        assert_eq!(midnight.eligible_after_days(0), midnight);
        assert_eq!(midnight.eligible_after_days(90), midnight.add_days(90));
        // One millisecond past midnight rounds to the next midnight.
        assert_eq!(
            Timestamp(midnight.0 + 1).eligible_after_days(90),
            midnight.add_days(91)
        );
        // One millisecond before midnight rounds to that midnight.
        assert_eq!(
            Timestamp(midnight.0 - 1).eligible_after_days(90),
            midnight.add_days(90)
        );
        assert_eq!(
            Timestamp(midnight.0 + 13 * 3_600_000).eligible_after_days(1),
            midnight.add_days(2)
        );
        assert_eq!(
            midnight.add_days(5).eligible_after_days(-2),
            midnight.add_days(3)
        );
        // Before 1970 too (negative timestamps).
        assert_eq!(Timestamp(-1).eligible_after_days(0), Timestamp(0));
        assert_eq!(
            Timestamp(-MILLIS_PER_DAY - 1).eligible_after_days(1),
            Timestamp(0)
        );
        assert_eq!(
            Timestamp(i64::MAX - 5).eligible_after_days(1),
            Timestamp(i64::MAX)
        );
        let early = Timestamp(i64::MIN).eligible_after_days(0);
        assert_eq!(early.0.rem_euclid(MILLIS_PER_DAY), 0);
        assert!(early.0 - i64::MIN < MILLIS_PER_DAY);
    }

    #[test]
    fn seconds_round_down() {
        assert_eq!(Timestamp(1999).as_secs(), 1);
        assert_eq!(Timestamp(-1).as_secs(), -1);
        assert_eq!(Timestamp::from_secs(i64::MAX), Timestamp(i64::MAX));
    }

    #[test]
    fn display_is_rfc3339_utc() {
        assert_eq!(Timestamp(0).to_string(), "1970-01-01T00:00:00.000Z");
        assert_eq!(Timestamp(-1).to_string(), "1969-12-31T23:59:59.999Z");
        // 2024-02-29T13:05:09.042Z
        assert_eq!(
            Timestamp(1_709_211_909_042).to_string(),
            "2024-02-29T13:05:09.042Z"
        );
        assert_eq!(
            Timestamp(951_782_400_000).to_string(),
            "2000-02-29T00:00:00.000Z"
        );
        assert_eq!(
            Timestamp(253_402_300_799_999).to_string(),
            "9999-12-31T23:59:59.999Z"
        );
    }
}
