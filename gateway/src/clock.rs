//! The gateway's notion of "now" for everything time-based in the data plane: object
//! timestamps, object-lock checks, policy decisions and the lifecycle scanner.
//!
//! It is the system clock plus an offset that is always zero in production. A server started
//! with `--unsafe-adjustable-clock` lets the root user move the offset through the admin API
//! (`PUT /lakegate/admin/v1/clock`), so end-to-end tests can make objects "91 days old" without
//! waiting. Request signatures are always checked against the real system clock, never this one.
//!
//! [`iso8601`] is the one way timestamps are written as text (S3 XML, the admin API's JSON,
//! snapshot suites).

use std::sync::atomic::{AtomicI64, Ordering};

use crate::store::Millis;

/// "Now" for the data plane: the system clock, shifted by an offset when adjustable.
#[derive(Debug, Default)]
pub struct Clock {
    offset_ms: AtomicI64,
    adjustable: bool,
}

/// Moving a clock that is not adjustable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the clock is not adjustable (start the server with --unsafe-adjustable-clock)")]
pub struct NotAdjustable;

impl Clock {
    /// The system clock, fixed.
    pub fn system() -> Clock {
        Clock::default()
    }

    /// The system clock, with an offset the admin API may move (tests only).
    pub fn adjustable() -> Clock {
        Clock {
            offset_ms: AtomicI64::new(0),
            adjustable: true,
        }
    }

    pub fn is_adjustable(&self) -> bool {
        self.adjustable
    }

    /// Milliseconds since the Unix epoch, as the data plane sees them.
    pub fn now(&self) -> Millis {
        crate::store::now_millis().saturating_add(self.offset_ms.load(Ordering::Relaxed))
    }

    /// The current offset from the system clock.
    pub fn offset(&self) -> Millis {
        self.offset_ms.load(Ordering::Relaxed)
    }

    /// Sets the offset from the system clock. Time may go backwards; tests own the consequences.
    pub fn set_offset(&self, offset_ms: Millis) -> Result<(), NotAdjustable> {
        if !self.adjustable {
            return Err(NotAdjustable);
        }
        self.offset_ms.store(offset_ms, Ordering::Relaxed);
        Ok(())
    }
}

/// How [`iso8601`] writes the fraction of a second.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fraction {
    /// Always milliseconds, as S3 writes timestamps in XML: `2009-10-12T17:50:30.000Z`.
    Millis,
    /// Milliseconds only when there are some, for people (the admin API's JSON, snapshot
    /// suites): `2026-01-01T00:00:00Z`, `2026-01-01T00:00:00.005Z`.
    WhenNonZero,
}

/// A timestamp (milliseconds since the Unix epoch) in ISO 8601 / RFC 3339, UTC. One outside
/// what a date can hold (only a plugin's absurd answer can be) is written as `<ms>ms`.
pub fn iso8601(ms: Millis, fraction: Fraction) -> String {
    match chrono::DateTime::from_timestamp_millis(ms) {
        Some(d) if fraction == Fraction::WhenNonZero && ms % 1000 == 0 => {
            d.format("%Y-%m-%dT%H:%M:%SZ").to_string()
        }
        Some(d) => d.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
        None => format!("{ms}ms"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps() {
        let new_year = 1_767_225_600_000; // 2026-01-01T00:00:00Z
        assert_eq!(iso8601(0, Fraction::Millis), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            iso8601(new_year, Fraction::Millis),
            "2026-01-01T00:00:00.000Z"
        );
        assert_eq!(
            iso8601(new_year, Fraction::WhenNonZero),
            "2026-01-01T00:00:00Z"
        );
        assert_eq!(
            iso8601(new_year + 5, Fraction::WhenNonZero),
            "2026-01-01T00:00:00.005Z"
        );
        assert_eq!(
            iso8601(i64::MAX, Fraction::WhenNonZero),
            format!("{}ms", i64::MAX)
        );
    }

    #[test]
    fn system_clock_is_fixed_adjustable_moves() {
        let c = Clock::system();
        assert_eq!(c.set_offset(5), Err(NotAdjustable));
        assert!((c.now() - crate::store::now_millis()).abs() < 1000);
        let a = Clock::adjustable();
        let day = 86_400_000;
        a.set_offset(91 * day).unwrap();
        assert_eq!(a.offset(), 91 * day);
        assert!((a.now() - crate::store::now_millis() - 91 * day).abs() < 1000);
    }
}
