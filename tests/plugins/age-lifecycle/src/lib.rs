//! Test fixture for the `lifecycle` world: everything older than N days goes.
//!
//! Config: `{ "days": N }`
//!
//! - latest version (a delete marker included) written at least N days ago → `expire`
//! - noncurrent version that became noncurrent at least N days ago → `expire-noncurrent`
//! - incomplete upload initiated at least N days ago → `abort-upload`
//! - everything else → `keep`
//!
//! "At least N days" means `now - t >= N * 86_400_000` ms.

use lakegate_sdk::{LifecycleAction, LifecycleItem, LifecyclePolicy, Timestamp};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    days: u32,
}

struct AgeLifecycle {
    days: i64,
}

impl LifecyclePolicy for AgeLifecycle {
    type Config = Config;

    fn new(config: Config) -> Result<Self, String> {
        Ok(AgeLifecycle {
            days: config.days.into(),
        })
    }

    fn decide(&self, item: &LifecycleItem, now: Timestamp) -> LifecycleAction {
        match item {
            LifecycleItem::Version(v) if v.is_latest => {
                if v.age_days(now) >= self.days {
                    LifecycleAction::Expire
                } else {
                    LifecycleAction::Keep
                }
            }
            LifecycleItem::Version(v) => match v.noncurrent_days(now) {
                Some(d) if d >= self.days => LifecycleAction::ExpireNoncurrent,
                _ => LifecycleAction::Keep,
            },
            LifecycleItem::Upload(u) if u.age_days(now) >= self.days => {
                LifecycleAction::AbortUpload
            }
            LifecycleItem::Upload(_) => LifecycleAction::Keep,
        }
    }
}

lakegate_sdk::export_lifecycle!(AgeLifecycle);

#[cfg(test)]
mod tests {
    use super::*;
    use lakegate_sdk::{MultipartUpload, ObjectVersion, days, parse_config};

    #[test]
    fn decides_by_age() {
        let p = AgeLifecycle::new(parse_config(r#"{"days": 30}"#).unwrap()).unwrap();
        let t0 = Timestamp::from_secs(1_700_000_000);
        let latest = ObjectVersion {
            is_latest: true,
            last_modified: t0,
            ..Default::default()
        };
        let old = ObjectVersion {
            is_latest: false,
            newer_versions: 1,
            last_modified: t0,
            noncurrent_since: Some(t0 + days(10)),
            ..Default::default()
        };
        let upload = MultipartUpload {
            initiated: t0,
            ..Default::default()
        };
        let items = [
            LifecycleItem::Version(latest),
            LifecycleItem::Version(old),
            LifecycleItem::Upload(upload),
        ];
        let at = |d: u64| p.decide_batch(&items, t0 + days(d));
        use LifecycleAction::*;
        assert_eq!(at(29), [Keep, Keep, Keep]);
        assert_eq!(at(30), [Expire, Keep, AbortUpload]);
        assert_eq!(at(39), [Expire, Keep, AbortUpload]);
        assert_eq!(at(40), [Expire, ExpireNoncurrent, AbortUpload]);
    }

    #[test]
    fn config_errors() {
        let e = parse_config::<Config>("{}").unwrap_err();
        assert_eq!(e, "invalid config: missing field `days`");
        let e = parse_config::<Config>(r#"{"days": -1}"#).unwrap_err();
        assert_eq!(
            e,
            "invalid config: days: invalid value: integer `-1`, expected u32"
        );
    }
}
