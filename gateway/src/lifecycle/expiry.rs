//! When the lifecycle will expire an object: the `x-amz-expiration` S3 answers on PUT, GET and
//! HEAD (`expiry-date="<HTTP date>", rule-id="<rule>"`).
//!
//! Read from the configuration of the builtin lifecycle plugin (an S3 lifecycle configuration,
//! or a binding of `builtin:lifecycle`), with the plugin's rules for what a rule matches: enabled
//! rules with `expiration.days` (eligible at the first UTC midnight at or after the write time
//! plus the days) or `expiration.date`, whose prefix (rule-level or filter), exclusions, tags
//! (all of them) and size bounds match the version. The earliest such rule wins. A binding of
//! any other plugin has no announced expiry: its decisions are its own.

use serde_json::Value;

use crate::store::{Millis, VersionRecord};

const DAY_MS: Millis = 86_400_000;

/// What decides an object's expiry: its key, write time, size and tags.
#[derive(Debug, Clone, Copy)]
pub struct ObjectFacts<'a> {
    pub key: &'a str,
    pub last_modified: Millis,
    pub size: u64,
    pub tags: &'a [(String, String)],
}

impl<'a> ObjectFacts<'a> {
    /// The facts of a stored version (`None` for a delete marker, which never expires this way).
    pub fn of(key: &'a str, v: &'a VersionRecord) -> Option<Self> {
        (!v.is_delete_marker).then_some(ObjectFacts {
            key,
            last_modified: v.last_modified,
            size: v.size,
            tags: &v.tags,
        })
    }
}

/// The expiry `(time, rule id)` the configuration `config` gives the current object `o`, if any.
pub fn expiry_of(config: &Value, o: &ObjectFacts<'_>) -> Option<(Millis, String)> {
    let (key, v) = (o.key, o);
    let mut best: Option<(Millis, String)> = None;
    for rule in config.get("rules")?.as_array()? {
        if rule.get("status").and_then(Value::as_str) == Some("Disabled") {
            continue;
        }
        let Some(exp) = rule.get("expiration") else {
            continue;
        };
        let at = if let Some(days) = exp.get("days").and_then(Value::as_i64) {
            // The first UTC midnight at or after write time + days.
            let t = v.last_modified.saturating_add(days.saturating_mul(DAY_MS));
            t.div_euclid(DAY_MS) * DAY_MS + if t.rem_euclid(DAY_MS) == 0 { 0 } else { DAY_MS }
        } else if let Some(date) = exp.get("date").and_then(Value::as_str) {
            chrono::DateTime::parse_from_rfc3339(date)
                .ok()?
                .timestamp_millis()
        } else {
            continue;
        };
        if !matches(rule, key, v) {
            continue;
        }
        if best.as_ref().is_none_or(|(t, _)| at < *t) {
            let id = rule.get("id").and_then(Value::as_str).unwrap_or_default();
            best = Some((at, id.to_string()));
        }
    }
    best
}

/// Whether a rule's filter matches the version.
fn matches(rule: &Value, key: &str, v: &ObjectFacts<'_>) -> bool {
    let f = rule.get("filter").cloned().unwrap_or(Value::Null);
    let prefix = rule
        .get("prefix")
        .or_else(|| f.get("prefix"))
        .and_then(Value::as_str)
        .unwrap_or_default();
    if !key.starts_with(prefix) {
        return false;
    }
    let excluded = f
        .get("exclude_prefixes")
        .and_then(Value::as_array)
        .is_some_and(|l| {
            l.iter()
                .filter_map(Value::as_str)
                .any(|p| key.starts_with(p))
        });
    if excluded {
        return false;
    }
    if let Some(tags) = f.get("tags").and_then(Value::as_object) {
        let all = tags.iter().all(|(k, want)| {
            v.tags
                .iter()
                .any(|(tk, tv)| tk == k && Some(tv.as_str()) == want.as_str())
        });
        if !all {
            return false;
        }
    }
    let gt = f.get("object_size_greater_than").and_then(Value::as_u64);
    let lt = f.get("object_size_less_than").and_then(Value::as_u64);
    gt.is_none_or(|n| v.size > n) && lt.is_none_or(|n| v.size < n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn version(size: u64, tags: &[(&str, &str)], at: Millis) -> VersionRecord {
        VersionRecord {
            version_id: "null".into(),
            seq: 1,
            is_delete_marker: false,
            last_modified: at,
            size,
            etag: String::new(),
            data: crate::store::ObjectData::empty(),
            meta: Default::default(),
            checksum: None,
            parts: vec![],
            tags: tags
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            retention: None,
            legal_hold: false,
            owner: None,
            acl: None,
            encryption: None,
        }
    }

    #[test]
    fn days_round_up_to_midnight_and_filters_apply() {
        let config = json!({"rules": [
            {"id": "logs", "status": "Enabled", "prefix": "logs/", "expiration": {"days": 1}},
            {"id": "tagged", "status": "Enabled",
             "filter": {"tags": {"k": "v"}, "object_size_greater_than": 2}, "expiration": {"days": 3}},
            {"id": "off", "status": "Disabled", "expiration": {"days": 1}},
            {"id": "markers", "expiration": {"expired_object_delete_marker": true}}
        ]});
        let noon = 10 * DAY_MS + DAY_MS / 2;
        let at =
            |key: &str, v: &VersionRecord| expiry_of(&config, &ObjectFacts::of(key, v).unwrap());
        let v = version(10, &[], noon);
        assert_eq!(at("logs/a", &v), Some((12 * DAY_MS, "logs".into())));
        assert_eq!(at("data/a", &v), None);
        let tagged = version(10, &[("k", "v")], noon);
        assert_eq!(at("data/a", &tagged), Some((14 * DAY_MS, "tagged".into())));
        // The earliest of several matching rules.
        assert_eq!(at("logs/a", &tagged), Some((12 * DAY_MS, "logs".into())));
        // Too small for the size bound.
        assert_eq!(at("data/a", &version(1, &[("k", "v")], noon)), None);
        let dated = json!({"rules": [{"id": "d", "expiration": {"date": "2030-01-01T00:00:00Z"}}]});
        assert_eq!(
            expiry_of(&dated, &ObjectFacts::of("x", &v).unwrap()).map(|(t, _)| t),
            Some(1_893_456_000_000)
        );
    }
}
