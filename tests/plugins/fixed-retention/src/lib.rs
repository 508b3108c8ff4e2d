//! Test fixture for the `retention` world: every new version is retained for a fixed number of
//! days from the time of the write.
//!
//! Config: `{ "mode": "GOVERNANCE" | "COMPLIANCE", "days": N,
//!            "prefixes": { "models/production/": 730 }?, "legal_hold_tag": "..."? }`
//!
//! - retain-until = `now + days`, where `days` comes from the longest matching entry of
//!   `prefixes` (if any), else from `days`.
//! - legal hold is set when `legal_hold_tag` is configured and the version carries a tag with
//!   that name (any value).
//! - Delete markers get no retention.

use lakegate_sdk::{
    ObjectVersion, RetentionDecision, RetentionMode, RetentionPolicy, Timestamp, days,
};
use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    mode: RetentionMode,
    days: u32,
    #[serde(default)]
    prefixes: BTreeMap<String, u32>,
    #[serde(default)]
    legal_hold_tag: Option<String>,
}

struct FixedRetention {
    config: Config,
}

impl FixedRetention {
    /// The retention period for `key`: the longest matching prefix override, else the default.
    fn days_for(&self, key: &str) -> u32 {
        self.config
            .prefixes
            .iter()
            .filter(|(prefix, _)| key.starts_with(prefix.as_str()))
            .max_by_key(|(prefix, _)| prefix.len())
            .map_or(self.config.days, |(_, days)| *days)
    }
}

impl RetentionPolicy for FixedRetention {
    type Config = Config;

    fn new(config: Config) -> Result<Self, String> {
        if config.legal_hold_tag.as_deref() == Some("") {
            return Err("legal_hold_tag must not be empty".into());
        }
        Ok(FixedRetention { config })
    }

    fn decide(&self, object: &ObjectVersion, now: Timestamp) -> RetentionDecision {
        if object.is_delete_marker {
            return RetentionDecision::none();
        }
        let until = now + days(self.days_for(&object.key).into());
        let hold = self
            .config
            .legal_hold_tag
            .as_deref()
            .is_some_and(|tag| object.tag(tag).is_some());
        RetentionDecision::retain(self.config.mode, until).with_legal_hold(hold)
    }
}

lakegate_sdk::export_retention!(FixedRetention);

#[cfg(test)]
mod tests {
    use super::*;
    use lakegate_sdk::parse_config;

    fn policy(json: &str) -> FixedRetention {
        FixedRetention::new(parse_config(json).unwrap()).unwrap()
    }

    fn object(key: &str) -> ObjectVersion {
        ObjectVersion {
            key: key.into(),
            is_latest: true,
            ..Default::default()
        }
    }

    #[test]
    fn default_days_and_longest_prefix() {
        let p = policy(
            r#"{"mode": "COMPLIANCE", "days": 30,
                "prefixes": {"models/": 365, "models/production/": 730}}"#,
        );
        let now = Timestamp::from_secs(1_700_000_000);
        let d = p.decide(&object("raw/x"), now);
        assert_eq!(
            d,
            RetentionDecision::retain(RetentionMode::Compliance, now + days(30))
        );
        let d = p.decide(&object("models/production/m.bin"), now);
        assert_eq!(d.retention.unwrap().retain_until, now + days(730));
        let d = p.decide(&object("models/staging/m.bin"), now);
        assert_eq!(d.retention.unwrap().retain_until, now + days(365));
        assert!(!d.legal_hold);
    }

    #[test]
    fn legal_hold_tag_and_delete_markers() {
        let p = policy(r#"{"mode": "GOVERNANCE", "days": 1, "legal_hold_tag": "hold"}"#);
        let now = Timestamp::from_secs(0);
        let mut o = object("a");
        o.tags.push(("hold".into(), "yes".into()));
        let d = p.decide(&o, now);
        assert!(d.legal_hold);
        assert_eq!(d.retention.unwrap().mode, RetentionMode::Governance);
        o.is_delete_marker = true;
        assert_eq!(p.decide(&o, now), RetentionDecision::none());
    }

    #[test]
    fn config_errors() {
        let e = parse_config::<Config>(r#"{"mode": "GOVERNANCE"}"#).unwrap_err();
        assert_eq!(e, "invalid config: missing field `days`");
        let e = parse_config::<Config>(r#"{"mode": "SOFT", "days": 1}"#).unwrap_err();
        assert!(e.contains("unknown variant `SOFT`"), "{e}");
        let c =
            parse_config::<Config>(r#"{"mode": "GOVERNANCE", "days": 1, "legal_hold_tag": ""}"#)
                .unwrap();
        assert!(FixedRetention::new(c).is_err());
    }
}
