//! The gateway's notion of "now" for everything time-based in the data plane: object
//! timestamps, object-lock checks, policy decisions and the lifecycle scanner.
//!
//! It is the system clock plus an offset that is always zero in production. A server started
//! with `--unsafe-adjustable-clock` lets the root user move the offset through the admin API
//! (`PUT /lakegate/admin/v1/clock`), so end-to-end tests can make objects "91 days old" without
//! waiting. Request signatures are always checked against the real system clock, never this one.

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

#[cfg(test)]
mod tests {
    use super::*;

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
