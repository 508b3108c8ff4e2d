//! `legal-keep`: an example lifecycle plugin for lakegate, written the way a third party would
//! write one (see `README.md`).
//!
//! It expires data older than `expire_after_days`, except what is tagged `legal=keep` (tag
//! name and value configurable), optionally only under a key prefix:
//!
//! | item | action |
//! | --- | --- |
//! | outside `prefix` | keep |
//! | version tagged `<keep_tag>=<keep_value>` | keep, always |
//! | latest version written ≥ N days ago | expire (a delete marker in a versioned bucket) |
//! | latest delete marker | keep (removing it would make the previous version current again) |
//! | noncurrent version (or delete marker), noncurrent for ≥ N days | expire-noncurrent |
//! | incomplete multipart upload initiated ≥ N days ago | abort-upload |
//! | anything else | keep |

use lakegate_sdk::{
    LifecycleAction, LifecycleItem, LifecyclePolicy, ObjectVersion, Timestamp, log,
};
use serde::Deserialize;

/// The binding's configuration.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    /// Age, in days, after which data expires.
    expire_after_days: u32,
    /// The tag that protects a version (default `legal`).
    #[serde(default = "default_keep_tag")]
    keep_tag: String,
    /// The value of `keep_tag` that protects a version (default `keep`).
    #[serde(default = "default_keep_value")]
    keep_value: String,
    /// Only keys under this prefix are considered (default: the whole bucket).
    #[serde(default)]
    prefix: String,
}

fn default_keep_tag() -> String {
    "legal".into()
}

fn default_keep_value() -> String {
    "keep".into()
}

struct LegalKeep {
    days: i64,
    keep_tag: String,
    keep_value: String,
    prefix: String,
}

impl LegalKeep {
    fn protected(&self, version: &ObjectVersion) -> bool {
        version.has_tag(&self.keep_tag, &self.keep_value)
    }

    fn decide_version(&self, v: &ObjectVersion, now: Timestamp) -> LifecycleAction {
        if self.protected(v) {
            return LifecycleAction::Keep;
        }
        if v.is_latest {
            if !v.is_delete_marker && v.age_days(now) >= self.days {
                return LifecycleAction::Expire;
            }
            return LifecycleAction::Keep;
        }
        match v.noncurrent_days(now) {
            Some(days) if days >= self.days => LifecycleAction::ExpireNoncurrent,
            _ => LifecycleAction::Keep,
        }
    }
}

impl LifecyclePolicy for LegalKeep {
    type Config = Config;

    fn new(config: Config) -> Result<Self, String> {
        if config.keep_tag.is_empty() {
            return Err("keep_tag must not be empty".into());
        }
        log::debug!(
            "legal-keep: expire after {} days under {:?}, except {}={}",
            config.expire_after_days,
            config.prefix,
            config.keep_tag,
            config.keep_value
        );
        Ok(LegalKeep {
            days: config.expire_after_days.into(),
            keep_tag: config.keep_tag,
            keep_value: config.keep_value,
            prefix: config.prefix,
        })
    }

    fn decide(&self, item: &LifecycleItem, now: Timestamp) -> LifecycleAction {
        if !item.key().starts_with(&self.prefix) {
            return LifecycleAction::Keep;
        }
        match item {
            LifecycleItem::Version(v) => self.decide_version(v, now),
            LifecycleItem::Upload(u) if u.age_days(now) >= self.days => {
                LifecycleAction::AbortUpload
            }
            LifecycleItem::Upload(_) => LifecycleAction::Keep,
        }
    }
}

lakegate_sdk::export_lifecycle!(LegalKeep);

#[cfg(test)]
mod tests {
    use super::*;
    use lakegate_sdk::{LifecycleAction::*, MultipartUpload, days, parse_config};

    const T0: Timestamp = Timestamp::from_secs(1_700_000_000);

    fn policy(json: &str) -> LegalKeep {
        LegalKeep::new(parse_config(json).unwrap()).unwrap()
    }

    fn latest(key: &str) -> ObjectVersion {
        ObjectVersion {
            key: key.into(),
            is_latest: true,
            last_modified: T0,
            ..Default::default()
        }
    }

    fn noncurrent(key: &str, since: Timestamp) -> ObjectVersion {
        ObjectVersion {
            is_latest: false,
            newer_versions: 1,
            noncurrent_since: Some(since),
            ..latest(key)
        }
    }

    fn tagged(mut v: ObjectVersion, name: &str, value: &str) -> ObjectVersion {
        v.tags.push((name.into(), value.into()));
        v
    }

    #[test]
    fn expires_old_data_but_never_legal_keep() {
        let p = policy(r#"{"expire_after_days": 30}"#);
        let items = [
            LifecycleItem::Version(latest("a")),
            LifecycleItem::Version(tagged(latest("b"), "legal", "keep")),
            LifecycleItem::Version(noncurrent("c", T0 + days(5))),
            LifecycleItem::Version(tagged(noncurrent("d", T0), "legal", "keep")),
            LifecycleItem::Version(tagged(latest("e"), "legal", "other")),
            LifecycleItem::Version(ObjectVersion {
                is_delete_marker: true,
                ..latest("f")
            }),
            LifecycleItem::Upload(MultipartUpload {
                key: "g".into(),
                initiated: T0,
                ..Default::default()
            }),
        ];
        assert_eq!(
            p.decide_batch(&items, T0 + days(29)),
            [Keep, Keep, Keep, Keep, Keep, Keep, Keep]
        );
        assert_eq!(
            p.decide_batch(&items, T0 + days(30)),
            [Expire, Keep, Keep, Keep, Expire, Keep, AbortUpload]
        );
        assert_eq!(
            p.decide_batch(&items, T0 + days(35)),
            [
                Expire,
                Keep,
                ExpireNoncurrent,
                Keep,
                Expire,
                Keep,
                AbortUpload
            ]
        );
    }

    #[test]
    fn prefix_and_custom_tag() {
        let p = policy(
            r#"{"expire_after_days": 1, "keep_tag": "hold", "keep_value": "yes", "prefix": "tmp/"}"#,
        );
        let now = T0 + days(2);
        assert_eq!(
            p.decide(&LifecycleItem::Version(latest("raw/a")), now),
            Keep
        );
        assert_eq!(
            p.decide(&LifecycleItem::Version(latest("tmp/a")), now),
            Expire
        );
        let held = tagged(latest("tmp/b"), "hold", "yes");
        assert_eq!(p.decide(&LifecycleItem::Version(held), now), Keep);
        let legal = tagged(latest("tmp/c"), "legal", "keep");
        assert_eq!(p.decide(&LifecycleItem::Version(legal), now), Expire);
    }

    #[test]
    fn config_errors() {
        let e = parse_config::<Config>(r#"{"prefix": "x/"}"#).unwrap_err();
        assert_eq!(e, "invalid config: missing field `expire_after_days`");
        let e = parse_config::<Config>(r#"{"expire_after_days": 1, "keep": "x"}"#).unwrap_err();
        assert!(e.contains("unknown field `keep`"), "{e}");
        let c = parse_config::<Config>(r#"{"expire_after_days": 1, "keep_tag": ""}"#).unwrap();
        assert!(LegalKeep::new(c).is_err());
    }
}
