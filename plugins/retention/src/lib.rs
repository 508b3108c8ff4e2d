//! # `lakegate-plugin-retention`: object-lock retention by key prefix and tags
//!
//! The retention policy lakegate ships (`plugin = "builtin:retention"`). On every
//! object-creating write (PUT, copy, complete-multipart) it picks the most specific matching
//! rule and answers a retention (GOVERNANCE or COMPLIANCE, for a number of days or years from
//! now) and, optionally, a legal hold.
//!
//! ## Configuration
//!
//! The binding's `[config]` table (handed to the plugin as JSON):
//!
//! ```toml
//! [config]
//! # Applies when no rule matches. Optional: without it, unmatched versions get no retention.
//! default = { mode = "GOVERNANCE", days = 90 }
//!
//! [[config.rules]]
//! prefix = "models/production/"      # default "": every key
//! mode = "GOVERNANCE"
//! days = 730
//!
//! [[config.rules]]
//! prefix = "contracts/"
//! tags = { class = "gold" }          # every listed tag must be present with that value
//! mode = "COMPLIANCE"
//! years = 2
//! legal_hold = true
//! ```
//!
//! or, as JSON:
//!
//! ```json
//! { "default": {"mode": "GOVERNANCE", "days": 90},
//!   "rules": [ {"prefix": "models/production/", "mode": "GOVERNANCE", "days": 730},
//!              {"prefix": "contracts/", "tags": {"class": "gold"}, "mode": "COMPLIANCE",
//!               "years": 2, "legal_hold": true} ] }
//! ```
//!
//! | field | in | type | meaning |
//! | --- | --- | --- | --- |
//! | `default` | top level | period | optional; the retention of versions no rule matches |
//! | `rules` | top level | list of rules | optional (default none); at most 1000 |
//! | `prefix` | rule | string | the key must start with it (default `""`: every key) |
//! | `tags` | rule | table string → string | every listed tag must be present with exactly that value (tag keys and values are case-sensitive); default none |
//! | `mode` | rule, default | `"GOVERNANCE"` \| `"COMPLIANCE"` | required; case-insensitive |
//! | `days` | rule, default | integer 1..=36500 | retain until `now + days` |
//! | `years` | rule, default | integer 1..=100 | retain until `now + years × 365 days` (S3's object-lock default retention arithmetic) |
//! | `legal_hold` | rule, default | bool | also put the version under legal hold (default `false`) |
//!
//! Every rule and the default need a `mode` and exactly one of `days` / `years`. At least one
//! of `default` and `rules` must be given. Unknown fields are refused. Errors name the field,
//! e.g. `invalid config: rules[2].days: must be ≥ 1`.
//!
//! ## Decisions
//!
//! - **Which rule**: of the rules whose prefix and tags match the version, the most specific
//!   wins: the longest `prefix`; among equal prefixes, the one with more `tags` conditions;
//!   among those, the first listed. No rule matches → `default`; no default → no retention
//!   (and no legal hold).
//! - **Retain-until** = `now + days` (or `now + years × 365` days), to the millisecond.
//! - **Never weaker than what the version has**: if the version already carries an unexpired
//!   retention, the answer keeps its date when that is later and the stronger of the two modes
//!   (COMPLIANCE over GOVERNANCE), exactly like the host's floor against the bucket's default
//!   retention. An existing legal hold stays on. (The host enforces both as well.)
//! - Delete markers and every other version are decided the same way: the policy just looks at
//!   the key and tags it is given.
//!
//! The host applies the answer only in buckets with object lock enabled, only when the request
//! itself set no retention, and never shorter or weaker than the bucket's default retention.

use lakegate_sdk::{
    ObjectVersion, Retention, RetentionDecision, RetentionMode, RetentionPolicy, Timestamp, log,
};
use serde::{Deserialize, Deserializer};
use std::collections::BTreeMap;

/// The longest `days` period: 100 years of 365 days (the host refuses retentions more than 100
/// years ahead).
pub const MAX_DAYS: u32 = 36_500;
/// The longest `years` period.
pub const MAX_YEARS: u32 = 100;
/// The most rules a configuration may have.
pub const MAX_RULES: usize = 1000;

/// The binding's configuration (see the crate documentation).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The retention of versions no rule matches.
    #[serde(default)]
    pub default: Option<PeriodConfig>,
    /// Rules by key prefix and tags.
    #[serde(default)]
    pub rules: Vec<RuleConfig>,
}

/// `default`: a mode and a period.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeriodConfig {
    /// GOVERNANCE or COMPLIANCE (case-insensitive).
    #[serde(deserialize_with = "mode")]
    pub mode: RetentionMode,
    /// Retain for this many days.
    #[serde(default)]
    pub days: Option<u32>,
    /// Retain for this many years of 365 days.
    #[serde(default)]
    pub years: Option<u32>,
    /// Also put the version under legal hold.
    #[serde(default)]
    pub legal_hold: bool,
}

/// One entry of `rules`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleConfig {
    /// The key must start with this (default: every key).
    #[serde(default)]
    pub prefix: String,
    /// Every listed tag must be present with exactly this value.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// GOVERNANCE or COMPLIANCE (case-insensitive).
    #[serde(deserialize_with = "mode")]
    pub mode: RetentionMode,
    /// Retain for this many days.
    #[serde(default)]
    pub days: Option<u32>,
    /// Retain for this many years of 365 days.
    #[serde(default)]
    pub years: Option<u32>,
    /// Also put the version under legal hold.
    #[serde(default)]
    pub legal_hold: bool,
}

/// Parses a retention mode case-insensitively.
fn mode<'de, D: Deserializer<'de>>(d: D) -> Result<RetentionMode, D::Error> {
    let s = String::deserialize(d)?;
    match s.trim().to_ascii_uppercase().as_str() {
        "GOVERNANCE" => Ok(RetentionMode::Governance),
        "COMPLIANCE" => Ok(RetentionMode::Compliance),
        _ => Err(serde::de::Error::custom(format!(
            "expected GOVERNANCE or COMPLIANCE, got {s:?}"
        ))),
    }
}

/// A validated period: mode, length in days, legal hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Period {
    mode: RetentionMode,
    days: i64,
    legal_hold: bool,
}

impl Period {
    fn new(
        what: &str,
        mode: RetentionMode,
        days: Option<u32>,
        years: Option<u32>,
        legal_hold: bool,
    ) -> Result<Self, String> {
        let days = match (days, years) {
            (Some(_), Some(_)) => {
                return Err(format!("{what}: set either days or years, not both"));
            }
            (None, None) => return Err(format!("{what}: set days or years")),
            (Some(0), None) => return Err(format!("{what}.days: must be ≥ 1")),
            (None, Some(0)) => return Err(format!("{what}.years: must be ≥ 1")),
            (Some(d), None) if d > MAX_DAYS => {
                return Err(format!("{what}.days: must be ≤ {MAX_DAYS} (100 years)"));
            }
            (None, Some(y)) if y > MAX_YEARS => {
                return Err(format!("{what}.years: must be ≤ {MAX_YEARS}"));
            }
            (Some(d), None) => i64::from(d),
            (None, Some(y)) => i64::from(y) * 365,
        };
        Ok(Period {
            mode,
            days,
            legal_hold,
        })
    }
}

#[derive(Debug)]
struct Rule {
    prefix: String,
    tags: Vec<(String, String)>,
    period: Period,
}

impl Rule {
    fn matches(&self, object: &ObjectVersion) -> bool {
        object.key.starts_with(&self.prefix) && self.tags.iter().all(|(k, v)| object.has_tag(k, v))
    }

    /// Orders rules by specificity: longer prefix, then more tag conditions.
    fn specificity(&self) -> (usize, usize) {
        (self.prefix.len(), self.tags.len())
    }
}

/// The retention policy.
#[derive(Debug)]
pub struct PrefixRetention {
    default: Option<Period>,
    rules: Vec<Rule>,
}

impl PrefixRetention {
    /// The rule (or default) that applies to `object`, if any.
    fn period_for(&self, object: &ObjectVersion) -> Option<Period> {
        let mut best: Option<&Rule> = None;
        for rule in self.rules.iter().filter(|r| r.matches(object)) {
            // Strictly more specific only: on a tie the earlier rule stays.
            if best.is_none_or(|b| rule.specificity() > b.specificity()) {
                best = Some(rule);
            }
        }
        best.map(|r| r.period).or(self.default)
    }
}

/// The later date and the stronger mode of `decided` and the version's unexpired `existing`.
fn at_least(
    decided: Option<Retention>,
    existing: Option<Retention>,
    now: Timestamp,
) -> Option<Retention> {
    let existing = existing.filter(|r| r.is_active(now));
    match (decided, existing) {
        (None, e) => e,
        (d, None) => d,
        (Some(d), Some(e)) => {
            let mode = if d.mode == RetentionMode::Compliance || e.mode == RetentionMode::Compliance
            {
                RetentionMode::Compliance
            } else {
                RetentionMode::Governance
            };
            Some(Retention::new(mode, d.retain_until.max(e.retain_until)))
        }
    }
}

impl RetentionPolicy for PrefixRetention {
    type Config = Config;

    fn new(config: Config) -> Result<Self, String> {
        if config.default.is_none() && config.rules.is_empty() {
            return Err("nothing to decide: set `default`, `rules`, or both".into());
        }
        if config.rules.len() > MAX_RULES {
            return Err(format!(
                "rules: {} rules (at most {MAX_RULES})",
                config.rules.len()
            ));
        }
        let default = match config.default {
            Some(d) => Some(Period::new(
                "default",
                d.mode,
                d.days,
                d.years,
                d.legal_hold,
            )?),
            None => None,
        };
        let mut rules = Vec::with_capacity(config.rules.len());
        for (i, r) in config.rules.into_iter().enumerate() {
            let what = format!("rules[{i}]");
            if let Some(k) = r.tags.keys().find(|k| k.is_empty()) {
                return Err(format!("{what}.tags: tag name {k:?} must not be empty"));
            }
            let period = Period::new(&what, r.mode, r.days, r.years, r.legal_hold)?;
            rules.push(Rule {
                prefix: r.prefix,
                tags: r.tags.into_iter().collect(),
                period,
            });
        }
        log::debug!(
            "retention: {} rules, default {:?}",
            rules.len(),
            default.map(|p| (p.mode, p.days))
        );
        Ok(PrefixRetention { default, rules })
    }

    fn decide(&self, object: &ObjectVersion, now: Timestamp) -> RetentionDecision {
        let period = self.period_for(object);
        let decided = period.map(|p| Retention::new(p.mode, now.add_days(p.days)));
        RetentionDecision {
            retention: at_least(decided, object.retention, now),
            legal_hold: object.legal_hold || period.is_some_and(|p| p.legal_hold),
        }
    }
}

lakegate_sdk::export_retention!(PrefixRetention);

#[cfg(test)]
mod tests {
    use super::*;
    use RetentionMode::{Compliance, Governance};
    use lakegate_sdk::{MILLIS_PER_DAY, parse_config};

    const NOW: Timestamp = Timestamp::from_secs(1_767_225_600); // 2026-01-01T00:00:00Z

    fn policy(json: &str) -> PrefixRetention {
        PrefixRetention::new(parse_config(json).unwrap()).unwrap()
    }

    fn config_error(json: &str) -> String {
        match parse_config::<Config>(json) {
            Err(e) => e,
            Ok(c) => PrefixRetention::new(c).map(|_| ()).unwrap_err(),
        }
    }

    fn obj(key: &str) -> ObjectVersion {
        ObjectVersion {
            key: key.into(),
            is_latest: true,
            last_modified: NOW,
            ..Default::default()
        }
    }

    fn tagged(key: &str, tags: &[(&str, &str)]) -> ObjectVersion {
        ObjectVersion {
            tags: tags
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            ..obj(key)
        }
    }

    fn retain(mode: RetentionMode, days: i64) -> RetentionDecision {
        RetentionDecision::retain(mode, NOW.add_days(days))
    }

    const MLFLOW: &str = r#"{"default": {"mode": "GOVERNANCE", "days": 90},
        "rules": [{"prefix": "models/production/", "mode": "GOVERNANCE", "days": 730}]}"#;

    #[test]
    fn default_applies_when_no_rule_matches() {
        let p = policy(MLFLOW);
        assert_eq!(
            p.decide(&obj("runs/1/metrics.json"), NOW),
            retain(Governance, 90)
        );
        assert_eq!(
            p.decide(&obj("models/staging/m.onnx"), NOW),
            retain(Governance, 90)
        );
        assert_eq!(
            p.decide(&obj("models/production/m.onnx"), NOW),
            retain(Governance, 730)
        );
        // A prefix is a plain string prefix, not a path segment match.
        assert_eq!(
            p.decide(&obj("models/production"), NOW),
            retain(Governance, 90)
        );
    }

    #[test]
    fn no_match_and_no_default_means_no_retention() {
        let p = policy(r#"{"rules": [{"prefix": "keep/", "mode": "COMPLIANCE", "days": 1}]}"#);
        assert_eq!(p.decide(&obj("other/x"), NOW), RetentionDecision::none());
        assert_eq!(p.decide(&obj("keep/x"), NOW), retain(Compliance, 1));
    }

    #[test]
    fn longest_prefix_wins_whatever_the_order() {
        let p = policy(
            r#"{"rules": [
                {"prefix": "a/b/c/", "mode": "GOVERNANCE", "days": 3},
                {"prefix": "", "mode": "GOVERNANCE", "days": 1},
                {"prefix": "a/", "mode": "GOVERNANCE", "days": 2}]}"#,
        );
        assert_eq!(p.decide(&obj("a/b/c/d"), NOW), retain(Governance, 3));
        assert_eq!(p.decide(&obj("a/b/x"), NOW), retain(Governance, 2));
        assert_eq!(p.decide(&obj("z"), NOW), retain(Governance, 1));
    }

    #[test]
    fn tags_must_all_match_and_more_tags_win_on_equal_prefixes() {
        let p = policy(
            r#"{"default": {"mode": "GOVERNANCE", "days": 10},
                "rules": [
                {"prefix": "x/", "mode": "GOVERNANCE", "days": 20},
                {"prefix": "x/", "tags": {"class": "gold"}, "mode": "COMPLIANCE", "years": 2, "legal_hold": true},
                {"prefix": "x/", "tags": {"class": "gold", "pii": "yes"}, "mode": "COMPLIANCE", "days": 3650},
                {"prefix": "x/y/", "mode": "GOVERNANCE", "days": 30}]}"#,
        );
        assert_eq!(p.decide(&obj("x/a"), NOW), retain(Governance, 20));
        assert_eq!(
            p.decide(&tagged("x/a", &[("class", "gold")]), NOW),
            retain(Compliance, 730).with_legal_hold(true)
        );
        // Tag values and names are case-sensitive.
        assert_eq!(
            p.decide(&tagged("x/a", &[("class", "Gold")]), NOW),
            retain(Governance, 20)
        );
        assert_eq!(
            p.decide(&tagged("x/a", &[("pii", "yes"), ("class", "gold")]), NOW),
            retain(Compliance, 3650)
        );
        // Only one of the two tags: the one-tag rule.
        assert_eq!(
            p.decide(&tagged("x/a", &[("pii", "yes")]), NOW),
            retain(Governance, 20)
        );
        // A longer prefix beats more tags.
        assert_eq!(
            p.decide(&tagged("x/y/a", &[("class", "gold"), ("pii", "yes")]), NOW),
            retain(Governance, 30)
        );
        assert_eq!(
            p.decide(&tagged("q", &[("class", "gold")]), NOW),
            retain(Governance, 10)
        );
    }

    #[test]
    fn first_listed_wins_a_full_tie() {
        let p = policy(
            r#"{"rules": [
                {"prefix": "t/", "tags": {"a": "1"}, "mode": "GOVERNANCE", "days": 5},
                {"prefix": "t/", "tags": {"b": "2"}, "mode": "COMPLIANCE", "days": 6}]}"#,
        );
        let both = tagged("t/k", &[("a", "1"), ("b", "2")]);
        assert_eq!(p.decide(&both, NOW), retain(Governance, 5));
        assert_eq!(
            p.decide(&tagged("t/k", &[("b", "2")]), NOW),
            retain(Compliance, 6)
        );
    }

    #[test]
    fn years_are_365_days_and_modes_are_case_insensitive() {
        let p = policy(r#"{"default": {"mode": "compliance", "years": 3}}"#);
        assert_eq!(p.decide(&obj("k"), NOW), retain(Compliance, 3 * 365));
        let p = policy(r#"{"default": {"mode": "GoVeRnAnCe", "days": 1}}"#);
        let d = p.decide(&obj("k"), NOW);
        assert_eq!(d, retain(Governance, 1));
        assert_eq!(
            d.retention
                .map(|r| r.retain_until.as_millis() - NOW.as_millis()),
            Some(MILLIS_PER_DAY)
        );
    }

    #[test]
    fn legal_hold_from_rule_or_default() {
        let p = policy(
            r#"{"default": {"mode": "GOVERNANCE", "days": 1, "legal_hold": true},
                "rules": [{"prefix": "free/", "mode": "GOVERNANCE", "days": 1}]}"#,
        );
        assert!(p.decide(&obj("k"), NOW).legal_hold);
        assert!(!p.decide(&obj("free/k"), NOW).legal_hold);
        // An existing legal hold is never dropped.
        let held = ObjectVersion {
            legal_hold: true,
            ..obj("free/k")
        };
        assert!(p.decide(&held, NOW).legal_hold);
        let p = policy(r#"{"rules": [{"prefix": "x/", "mode": "GOVERNANCE", "days": 1}]}"#);
        assert_eq!(
            p.decide(&held, NOW),
            RetentionDecision::none().with_legal_hold(true)
        );
    }

    #[test]
    fn never_weaker_than_the_existing_retention() {
        let p = policy(r#"{"default": {"mode": "GOVERNANCE", "days": 90}}"#);
        let with = |mode, days| ObjectVersion {
            retention: Some(Retention::new(mode, NOW.add_days(days))),
            ..obj("k")
        };
        // Existing longer: kept.
        assert_eq!(
            p.decide(&with(Governance, 400), NOW),
            retain(Governance, 400)
        );
        // Existing shorter: the rule's.
        assert_eq!(p.decide(&with(Governance, 10), NOW), retain(Governance, 90));
        // Stronger mode of the two, later date of the two.
        assert_eq!(p.decide(&with(Compliance, 10), NOW), retain(Compliance, 90));
        assert_eq!(
            p.decide(&with(Compliance, 400), NOW),
            retain(Compliance, 400)
        );
        // An expired retention is ignored (the host refuses retain-until in the past).
        assert_eq!(p.decide(&with(Compliance, -1), NOW), retain(Governance, 90));
        assert_eq!(p.decide(&with(Compliance, 0), NOW), retain(Governance, 90));
        // No matching rule: the existing unexpired retention is answered unchanged.
        let p = policy(r#"{"rules": [{"prefix": "x/", "mode": "GOVERNANCE", "days": 1}]}"#);
        assert_eq!(p.decide(&with(Compliance, 5), NOW), retain(Compliance, 5));
        assert_eq!(
            p.decide(&with(Compliance, -5), NOW),
            RetentionDecision::none()
        );
    }

    #[test]
    fn delete_markers_are_decided_like_any_version() {
        let p = policy(MLFLOW);
        let marker = ObjectVersion {
            is_delete_marker: true,
            ..obj("models/production/m.onnx")
        };
        assert_eq!(p.decide(&marker, NOW), retain(Governance, 730));
    }

    #[test]
    fn extreme_clocks_do_not_panic() {
        let p = policy(r#"{"default": {"mode": "GOVERNANCE", "years": 100}}"#);
        let d = p.decide(&obj("k"), Timestamp(i64::MAX - 1));
        assert_eq!(
            d.retention.map(|r| r.retain_until),
            Some(Timestamp(i64::MAX))
        );
        let d = p.decide(&obj("k"), Timestamp(i64::MIN));
        assert!(d.retention.is_some());
    }

    #[test]
    fn config_errors_name_the_field() {
        assert_eq!(
            config_error("{}"),
            "nothing to decide: set `default`, `rules`, or both"
        );
        assert_eq!(
            config_error(r#"{"rules": []}"#),
            "nothing to decide: set `default`, `rules`, or both"
        );
        assert_eq!(
            config_error(
                r#"{"rules": [{"mode": "GOVERNANCE", "days": 1}, {"mode": "GOVERNANCE", "days": 1},
                    {"prefix": "a/", "mode": "GOVERNANCE", "days": 0}]}"#
            ),
            "rules[2].days: must be ≥ 1"
        );
        assert_eq!(
            config_error(r#"{"default": {"mode": "GOVERNANCE", "years": 0}}"#),
            "default.years: must be ≥ 1"
        );
        assert_eq!(
            config_error(r#"{"default": {"mode": "GOVERNANCE", "days": 1, "years": 1}}"#),
            "default: set either days or years, not both"
        );
        assert_eq!(
            config_error(r#"{"rules": [{"prefix": "a/", "mode": "GOVERNANCE"}]}"#),
            "rules[0]: set days or years"
        );
        assert_eq!(
            config_error(r#"{"default": {"mode": "GOVERNANCE", "days": 36501}}"#),
            "default.days: must be ≤ 36500 (100 years)"
        );
        assert_eq!(
            config_error(r#"{"default": {"mode": "GOVERNANCE", "years": 101}}"#),
            "default.years: must be ≤ 100"
        );
        assert_eq!(
            config_error(r#"{"rules": [{"tags": {"": "x"}, "mode": "GOVERNANCE", "days": 1}]}"#),
            "rules[0].tags: tag name \"\" must not be empty"
        );
        let e = config_error(r#"{"default": {"mode": "LOCKED", "days": 1}}"#);
        assert_eq!(
            e,
            "invalid config: default.mode: expected GOVERNANCE or COMPLIANCE, got \"LOCKED\""
        );
        let e = config_error(r#"{"default": {"days": 1}}"#);
        assert_eq!(e, "invalid config: default: missing field `mode`");
        let e = config_error(r#"{"rules": [{"prefix": "a/", "mode": "GOVERNANCE", "day": 1}]}"#);
        assert!(
            e.starts_with("invalid config: rules[0].day: unknown field `day`"),
            "{e}"
        );
        // `prefix` and `tags` belong to rules, not to the default.
        let e = config_error(r#"{"default": {"prefix": "a/", "mode": "GOVERNANCE", "days": 1}}"#);
        assert!(e.contains("unknown field `prefix`"), "{e}");
        let e = config_error(r#"{"default": {"mode": "GOVERNANCE", "days": -1}}"#);
        assert_eq!(
            e,
            "invalid config: default.days: invalid value: integer `-1`, expected u32"
        );
        let e = config_error(r#"{"retention": {}}"#);
        assert!(e.contains("unknown field `retention`"), "{e}");
        let many = format!(
            r#"{{"rules": [{}]}}"#,
            vec![r#"{"mode": "GOVERNANCE", "days": 1}"#; MAX_RULES + 1].join(",")
        );
        assert_eq!(config_error(&many), "rules: 1001 rules (at most 1000)");
    }
}
