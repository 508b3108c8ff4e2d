//! # `lakegate-plugin-lifecycle`: S3 lifecycle rules
//!
//! The lifecycle policy lakegate ships (`plugin = "builtin:lifecycle"`). Its configuration is
//! S3's `LifecycleConfiguration` (expiration actions; no transitions) as JSON with snake_case
//! names, plus one extension (`exclude_prefixes`). The gateway translates an S3
//! `PutBucketLifecycleConfiguration` XML document into exactly this form.
//!
//! ## Configuration
//!
//! ```json
//! { "rules": [ {
//!     "id": "dispose",
//!     "status": "Enabled",
//!     "filter": { "prefix": "logs/",
//!                 "tags": {"k": "v"},
//!                 "object_size_greater_than": 0,
//!                 "object_size_less_than": 1000,
//!                 "exclude_prefixes": ["logs/keep/"] },
//!     "expiration": {"days": 90},
//!     "noncurrent_version_expiration": {"noncurrent_days": 7, "newer_noncurrent_versions": 3},
//!     "abort_incomplete_multipart_upload": {"days_after_initiation": 7}
//! } ] }
//! ```
//!
//! In a binding:
//!
//! ```toml
//! [[config.rules]]
//! id = "dispose"
//! filter = { exclude_prefixes = ["models/production/"] }
//! expiration = { days = 90 }
//! noncurrent_version_expiration = { noncurrent_days = 7 }
//! abort_incomplete_multipart_upload = { days_after_initiation = 7 }
//! ```
//!
//! | field | type | meaning (S3 element) |
//! | --- | --- | --- |
//! | `rules` | list, 1..=1000 | the rules (`Rule`) |
//! | `id` | string, ≤ 255 chars, unique | optional name (`ID`), used in error messages |
//! | `status` | `"Enabled"` \| `"Disabled"` | default `"Enabled"` (case-insensitive); disabled rules never act (`Status`) |
//! | `filter.prefix` | string | the key must start with it; default `""` (`Filter/Prefix`) |
//! | `filter.tags` | table string → string | every listed tag must be present with exactly that value (`Filter/Tag`, `And/Tag`) |
//! | `filter.object_size_greater_than` | integer | size must be strictly greater (`ObjectSizeGreaterThan`) |
//! | `filter.object_size_less_than` | integer ≥ 1 | size must be strictly less (`ObjectSizeLessThan`) |
//! | `filter.exclude_prefixes` | list of non-empty strings | lakegate extension: keys under any of them never match |
//! | `expiration.days` | integer ≥ 1 | expire current versions N days after they were written (`Expiration/Days`) |
//! | `expiration.date` | RFC 3339 time (UTC without an offset) or `YYYY-MM-DD` (midnight UTC) | expire current versions from that instant on (`Expiration/Date`) |
//! | `expiration.expired_object_delete_marker` | bool | remove expired object delete markers (`Expiration/ExpiredObjectDeleteMarker`) |
//! | `noncurrent_version_expiration.noncurrent_days` | integer ≥ 1 | delete versions N days after they became noncurrent (`NoncurrentDays`) |
//! | `noncurrent_version_expiration.newer_noncurrent_versions` | integer 1..=100 | keep the N newest noncurrent versions (`NewerNoncurrentVersions`) |
//! | `abort_incomplete_multipart_upload.days_after_initiation` | integer ≥ 1 | abort uploads N days after they were initiated (`DaysAfterInitiation`) |
//!
//! Validation (errors name the field, e.g. `invalid config: rules[2].expiration.days: must be
//! ≥ 1`; unknown fields are refused):
//!
//! - a rule needs at least one action: `expiration` (with `days`, `date` or
//!   `expired_object_delete_marker = true`), `noncurrent_version_expiration` or
//!   `abort_incomplete_multipart_upload`;
//! - `expiration` takes exactly one of `days`, `date`, `expired_object_delete_marker = true`
//!   (as S3; `expired_object_delete_marker = false` means no action and may accompany the
//!   others);
//! - `noncurrent_version_expiration` needs `noncurrent_days`, `newer_noncurrent_versions` or
//!   both (S3 always needs `NoncurrentDays`; lakegate also accepts a count alone);
//! - `object_size_greater_than` must be less than `object_size_less_than` when both are set;
//! - a `tags` filter cannot be combined with `expired_object_delete_marker` or
//!   `abort_incomplete_multipart_upload` (delete markers and uploads have no tags; S3 refuses
//!   these combinations too);
//! - ids are unique (among rules that have one).
//!
//! ## Semantics (AWS's)
//!
//! **Days** are S3 lifecycle days: something dated `t` becomes eligible under an N-day action at
//! the first UTC midnight at or after `t + N days` ("adding N days to the creation time and
//! rounding up to the next midnight UTC", see
//! [`Timestamp::eligible_after_days`](lakegate_sdk::Timestamp::eligible_after_days)). An object
//! written on 2026-01-01 at 10:30 UTC under `days = 90` is expired from 2026-04-02T00:00Z on;
//! one written exactly at midnight on 2026-01-01 from 2026-04-01T00:00Z on. Noncurrent days count
//! from the moment the version became noncurrent (`noncurrent_since`), upload days from the
//! upload's initiation. A `date` applies from that instant on (`now ≥ date`).
//!
//! **Matching**: a rule matches a key if the key starts with `filter.prefix` and with none of
//! `filter.exclude_prefixes`. For object versions that are not delete markers, every `tags`
//! condition and the size bounds must hold too. Delete markers and multipart uploads are
//! matched by prefix and exclusions only (they have no tags or size).
//!
//! Every item gets exactly one action, in order:
//!
//! | item | action, when some enabled matching rule says so |
//! | --- | --- |
//! | latest version (not a delete marker) | `expire` when `expiration.days` has elapsed since it was written, or `now ≥ expiration.date` |
//! | latest delete marker with no older versions (an *expired object delete marker*) | `expire` (removed) when the rule has `expired_object_delete_marker = true`, or has `expiration.days` and that many days have elapsed since the marker was written (S3 cleans expired markers up under a days expiration too) |
//! | latest delete marker hiding older versions | `keep` (the versions behind it expire as noncurrent versions first) |
//! | noncurrent version or noncurrent delete marker | `expire-noncurrent` when `noncurrent_version_expiration` holds: `noncurrent_days` elapsed since it became noncurrent (if set) **and** at least `newer_noncurrent_versions` newer noncurrent versions exist (if set; the N newest noncurrent versions are kept) |
//! | incomplete multipart upload | `abort-upload` when `days_after_initiation` has elapsed since it was initiated |
//! | anything else | `keep` |
//!
//! A version's newer noncurrent versions are its `newer_versions` minus the latest one. A
//! noncurrent version without a `noncurrent_since` time never satisfies `noncurrent_days`.
//!
//! The plugin decides; the host enforces object lock: a version under legal hold or unexpired
//! retention may be answered `expire-noncurrent` here, and the host refuses to delete it.

use lakegate_sdk::{
    LifecycleAction, LifecycleItem, LifecyclePolicy, MILLIS_PER_DAY, MultipartUpload,
    ObjectVersion, Timestamp, log,
};
use serde::{Deserialize, Deserializer};
use std::collections::{BTreeMap, BTreeSet};

/// The most rules a configuration may have (S3's limit).
pub const MAX_RULES: usize = 1000;
/// The longest rule id (S3's limit).
pub const MAX_ID_CHARS: usize = 255;
/// The most noncurrent versions a rule may retain (S3's limit).
pub const MAX_NEWER_NONCURRENT: u32 = 100;

/// The binding's configuration (see the crate documentation).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The rules.
    pub rules: Vec<RuleConfig>,
}

/// One rule.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleConfig {
    /// Optional name.
    #[serde(default)]
    pub id: Option<String>,
    /// `"Enabled"` (default) or `"Disabled"`.
    #[serde(default = "enabled", deserialize_with = "status", rename = "status")]
    pub enabled: bool,
    /// S3's legacy (pre-`Filter`) rule prefix: the same as `filter.prefix` (give one of the
    /// two), kept apart so the gateway answers a configuration as it was put.
    #[serde(default)]
    pub prefix: Option<String>,
    /// Which keys and versions the rule applies to.
    #[serde(default)]
    pub filter: FilterConfig,
    /// Expiration of current versions and expired object delete markers.
    #[serde(default)]
    pub expiration: Option<ExpirationConfig>,
    /// Expiration of noncurrent versions.
    #[serde(default)]
    pub noncurrent_version_expiration: Option<NoncurrentConfig>,
    /// Aborting incomplete multipart uploads.
    #[serde(default)]
    pub abort_incomplete_multipart_upload: Option<AbortConfig>,
}

/// A rule's filter.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FilterConfig {
    /// The key must start with this.
    #[serde(default)]
    pub prefix: String,
    /// Every listed tag must be present with exactly this value.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// The size must be strictly greater.
    #[serde(default)]
    pub object_size_greater_than: Option<u64>,
    /// The size must be strictly less.
    #[serde(default)]
    pub object_size_less_than: Option<u64>,
    /// Keys starting with any of these never match (lakegate extension).
    #[serde(default)]
    pub exclude_prefixes: Vec<String>,
}

/// `expiration`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpirationConfig {
    /// Days after the version was written.
    #[serde(default)]
    pub days: Option<u32>,
    /// From this instant on (RFC 3339, or `YYYY-MM-DD` for midnight UTC).
    #[serde(default)]
    pub date: Option<String>,
    /// Remove expired object delete markers.
    #[serde(default)]
    pub expired_object_delete_marker: Option<bool>,
}

/// `noncurrent_version_expiration`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoncurrentConfig {
    /// Days after the version became noncurrent.
    #[serde(default)]
    pub noncurrent_days: Option<u32>,
    /// How many of the newest noncurrent versions to keep.
    #[serde(default)]
    pub newer_noncurrent_versions: Option<u32>,
}

/// `abort_incomplete_multipart_upload`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AbortConfig {
    /// Days after the upload was initiated.
    pub days_after_initiation: u32,
}

fn enabled() -> bool {
    true
}

/// Parses `status` case-insensitively.
fn status<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    let s = String::deserialize(d)?;
    match s.trim().to_ascii_lowercase().as_str() {
        "enabled" => Ok(true),
        "disabled" => Ok(false),
        _ => Err(serde::de::Error::custom(format!(
            "expected Enabled or Disabled, got {s:?}"
        ))),
    }
}

/// A validated rule.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Rule {
    name: String,
    prefix: String,
    exclude: Vec<String>,
    tags: Vec<(String, String)>,
    size_gt: Option<u64>,
    size_lt: Option<u64>,
    expire_days: Option<i64>,
    expire_date: Option<Timestamp>,
    expired_delete_markers: bool,
    noncurrent_days: Option<i64>,
    newer_noncurrent: Option<u32>,
    abort_days: Option<i64>,
}

impl Rule {
    fn from_config(i: usize, c: RuleConfig) -> Result<(bool, Rule), String> {
        let what = format!("rules[{i}]");
        if let Some(id) = &c.id
            && id.chars().count() > MAX_ID_CHARS
        {
            return Err(format!("{what}.id: longer than {MAX_ID_CHARS} characters"));
        }
        let mut f = c.filter;
        if let Some(p) = c.prefix {
            if !f.prefix.is_empty() {
                return Err(format!(
                    "{what}: prefix and filter.prefix: give one of the two"
                ));
            }
            f.prefix = p;
        }
        if let Some(k) = f.tags.keys().find(|k| k.is_empty()) {
            return Err(format!(
                "{what}.filter.tags: tag name {k:?} must not be empty"
            ));
        }
        if let Some(j) = f.exclude_prefixes.iter().position(String::is_empty) {
            return Err(format!(
                "{what}.filter.exclude_prefixes[{j}]: must not be empty (it would exclude every key)"
            ));
        }
        if f.object_size_less_than == Some(0) {
            return Err(format!(
                "{what}.filter.object_size_less_than: must be ≥ 1 (no object is smaller than 0 bytes)"
            ));
        }
        if let (Some(gt), Some(lt)) = (f.object_size_greater_than, f.object_size_less_than)
            && gt >= lt
        {
            return Err(format!(
                "{what}.filter: object_size_greater_than ({gt}) must be less than object_size_less_than ({lt})"
            ));
        }
        let (mut expire_days, mut expire_date, mut expired_delete_markers) = (None, None, false);
        if let Some(e) = c.expiration {
            let w = format!("{what}.expiration");
            let edm = e.expired_object_delete_marker;
            if e.days.is_none() && e.date.is_none() && edm.is_none() {
                return Err(format!(
                    "{w}: set one of days, date or expired_object_delete_marker"
                ));
            }
            // `expired_object_delete_marker = false` means "no action" and may accompany days or
            // a date (some S3 tools send it).
            let set = usize::from(e.days.is_some())
                + usize::from(e.date.is_some())
                + usize::from(edm == Some(true));
            if set > 1 {
                return Err(format!(
                    "{w}: set only one of days, date and expired_object_delete_marker (as S3; use two rules)"
                ));
            }
            if let Some(d) = e.days {
                if d == 0 {
                    return Err(format!("{w}.days: must be ≥ 1"));
                }
                expire_days = Some(i64::from(d));
            }
            if let Some(date) = &e.date {
                expire_date = Some(parse_date(date).map_err(|m| format!("{w}.date: {m}"))?);
            }
            expired_delete_markers = edm == Some(true);
            if expired_delete_markers && !f.tags.is_empty() {
                return Err(format!(
                    "{w}.expired_object_delete_marker: cannot be combined with a tags filter (delete markers have no tags)"
                ));
            }
        }
        let (mut noncurrent_days, mut newer_noncurrent) = (None, None);
        if let Some(n) = c.noncurrent_version_expiration {
            let w = format!("{what}.noncurrent_version_expiration");
            match (n.noncurrent_days, n.newer_noncurrent_versions) {
                (None, None) => {
                    return Err(format!(
                        "{w}: set noncurrent_days, newer_noncurrent_versions or both"
                    ));
                }
                (Some(0), _) => return Err(format!("{w}.noncurrent_days: must be ≥ 1")),
                (_, Some(0)) => {
                    return Err(format!("{w}.newer_noncurrent_versions: must be ≥ 1"));
                }
                (_, Some(v)) if v > MAX_NEWER_NONCURRENT => {
                    return Err(format!(
                        "{w}.newer_noncurrent_versions: must be ≤ {MAX_NEWER_NONCURRENT}"
                    ));
                }
                (d, v) => {
                    noncurrent_days = d.map(i64::from);
                    newer_noncurrent = v;
                }
            }
        }
        let mut abort_days = None;
        if let Some(a) = c.abort_incomplete_multipart_upload {
            let w = format!("{what}.abort_incomplete_multipart_upload");
            if a.days_after_initiation == 0 {
                return Err(format!("{w}.days_after_initiation: must be ≥ 1"));
            }
            if !f.tags.is_empty() {
                return Err(format!(
                    "{w}: cannot be combined with a tags filter (uploads have no tags)"
                ));
            }
            abort_days = Some(i64::from(a.days_after_initiation));
        }
        let rule = Rule {
            name: c
                .id
                .clone()
                .filter(|id| !id.is_empty())
                .unwrap_or(what.clone()),
            prefix: f.prefix,
            exclude: f.exclude_prefixes,
            tags: f.tags.into_iter().collect(),
            size_gt: f.object_size_greater_than,
            size_lt: f.object_size_less_than,
            expire_days,
            expire_date,
            expired_delete_markers,
            noncurrent_days,
            newer_noncurrent,
            abort_days,
        };
        let has_action = rule.expire_days.is_some()
            || rule.expire_date.is_some()
            || rule.expired_delete_markers
            || rule.noncurrent_days.is_some()
            || rule.newer_noncurrent.is_some()
            || rule.abort_days.is_some();
        if !has_action {
            return Err(format!(
                "{what}: needs at least one action (expiration, noncurrent_version_expiration or abort_incomplete_multipart_upload)"
            ));
        }
        Ok((c.enabled, rule))
    }

    /// Prefix and exclusions (what delete markers and uploads are matched on).
    fn matches_key(&self, key: &str) -> bool {
        key.starts_with(&self.prefix) && !self.exclude.iter().any(|e| key.starts_with(e))
    }

    /// The whole filter, for versions that are not delete markers; prefix and exclusions only
    /// for delete markers.
    fn matches_version(&self, v: &ObjectVersion) -> bool {
        if !self.matches_key(&v.key) {
            return false;
        }
        if v.is_delete_marker {
            return true;
        }
        self.tags.iter().all(|(k, val)| v.has_tag(k, val))
            && self.size_gt.is_none_or(|gt| v.size > gt)
            && self.size_lt.is_none_or(|lt| v.size < lt)
    }

    fn expires_current(&self, v: &ObjectVersion, now: Timestamp) -> bool {
        self.expire_days
            .is_some_and(|d| v.last_modified.eligible_after_days(d) <= now)
            || self.expire_date.is_some_and(|date| now >= date)
    }

    fn removes_expired_delete_marker(&self, v: &ObjectVersion, now: Timestamp) -> bool {
        self.expired_delete_markers
            || self
                .expire_days
                .is_some_and(|d| v.last_modified.eligible_after_days(d) <= now)
    }

    fn expires_noncurrent(&self, v: &ObjectVersion, now: Timestamp) -> bool {
        if self.noncurrent_days.is_none() && self.newer_noncurrent.is_none() {
            return false;
        }
        let days_ok = self.noncurrent_days.is_none_or(|d| {
            v.noncurrent_since
                .is_some_and(|since| since.eligible_after_days(d) <= now)
        });
        // `newer_versions` counts the latest version too.
        let newer_noncurrent = v.newer_versions.saturating_sub(1);
        let count_ok = self.newer_noncurrent.is_none_or(|n| newer_noncurrent >= n);
        days_ok && count_ok
    }

    fn aborts(&self, u: &MultipartUpload, now: Timestamp) -> bool {
        self.abort_days
            .is_some_and(|d| u.initiated.eligible_after_days(d) <= now)
            && self.matches_key(&u.key)
    }
}

/// Parses `YYYY-MM-DD` (midnight UTC) or an RFC 3339 date-time with a `Z` or `±HH:MM` offset
/// (`2027-01-01T00:00:00Z`, `2027-01-01T00:00:00.000+02:00`); a date-time without an offset is
/// read as UTC (S3 lifecycle dates always are).
fn parse_date(s: &str) -> Result<Timestamp, String> {
    const EXPECTED: &str = "expected an RFC 3339 time such as 2027-01-01T00:00:00Z, or 2027-01-01";
    let bad = || format!("{s:?}: {EXPECTED}");
    let b = s.trim().as_bytes();
    let num = |range: std::ops::Range<usize>| -> Result<i64, String> {
        let digits = b.get(range).ok_or_else(bad)?;
        if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
            return Err(bad());
        }
        Ok(digits
            .iter()
            .fold(0i64, |n, d| n * 10 + i64::from(d - b'0')))
    };
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return Err(bad());
    }
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return Err(format!("{s:?}: no such date"));
    }
    let mut millis = days_from_civil(year, month, day) * MILLIS_PER_DAY;
    if b.len() == 10 {
        return Ok(Timestamp(millis));
    }
    if !matches!(b[10], b'T' | b't') || b.len() < 19 || b[13] != b':' || b[16] != b':' {
        return Err(bad());
    }
    let (h, m, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if h > 23 || m > 59 || sec > 59 {
        return Err(format!("{s:?}: no such time of day"));
    }
    millis += ((h * 60 + m) * 60 + sec) * 1000;
    let mut i = 19;
    if b.get(i) == Some(&b'.') {
        let start = i + 1;
        i = start;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == start {
            return Err(bad());
        }
        // Milliseconds: the first three fraction digits.
        let frac = &b[start..i];
        let ms = (0..3).fold(0i64, |n, k| {
            n * 10 + frac.get(k).map_or(0, |d| i64::from(d - b'0'))
        });
        millis += ms;
    }
    match b.get(i..) {
        Some([] | [b'Z' | b'z']) => {}
        Some([sign @ (b'+' | b'-'), oh1, oh2, b':', om1, om2]) => {
            let two = |x: u8, y: u8| -> Result<i64, String> {
                if x.is_ascii_digit() && y.is_ascii_digit() {
                    Ok(i64::from(x - b'0') * 10 + i64::from(y - b'0'))
                } else {
                    Err(bad())
                }
            };
            let (oh, om) = (two(*oh1, *oh2)?, two(*om1, *om2)?);
            if oh > 23 || om > 59 {
                return Err(bad());
            }
            let offset = (oh * 60 + om) * 60_000;
            // 10:00+02:00 is 08:00Z.
            millis -= if *sign == b'+' { offset } else { -offset };
        }
        _ => return Err(bad()),
    }
    Ok(Timestamp(millis))
}

fn is_leap(y: i64) -> bool {
    y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The lifecycle policy.
#[derive(Debug)]
pub struct S3Lifecycle {
    /// The enabled rules (disabled ones are validated, then dropped).
    rules: Vec<Rule>,
}

impl S3Lifecycle {
    fn any(&self, f: impl Fn(&Rule) -> bool) -> bool {
        self.rules.iter().any(f)
    }

    fn decide_version(&self, v: &ObjectVersion, now: Timestamp) -> LifecycleAction {
        let matching = |f: &dyn Fn(&Rule) -> bool| self.any(|r| r.matches_version(v) && f(r));
        if !v.is_latest {
            if matching(&|r| r.expires_noncurrent(v, now)) {
                return LifecycleAction::ExpireNoncurrent;
            }
            return LifecycleAction::Keep;
        }
        if v.is_delete_marker {
            if v.is_expired_delete_marker()
                && matching(&|r| r.removes_expired_delete_marker(v, now))
            {
                return LifecycleAction::Expire;
            }
            return LifecycleAction::Keep;
        }
        if matching(&|r| r.expires_current(v, now)) {
            return LifecycleAction::Expire;
        }
        LifecycleAction::Keep
    }
}

impl LifecyclePolicy for S3Lifecycle {
    type Config = Config;

    fn new(config: Config) -> Result<Self, String> {
        if config.rules.is_empty() {
            return Err("rules: at least one rule is required".into());
        }
        if config.rules.len() > MAX_RULES {
            return Err(format!(
                "rules: {} rules (at most {MAX_RULES})",
                config.rules.len()
            ));
        }
        let mut ids = BTreeSet::new();
        let mut rules = Vec::with_capacity(config.rules.len());
        let total = config.rules.len();
        for (i, c) in config.rules.into_iter().enumerate() {
            if let Some(id) = c.id.as_deref().filter(|id| !id.is_empty())
                && !ids.insert(id.to_string())
            {
                return Err(format!("rules[{i}].id: duplicate id {id:?}"));
            }
            let (enabled, rule) = Rule::from_config(i, c)?;
            if enabled {
                rules.push(rule);
            } else {
                log::debug!("lifecycle: rule {} is disabled", rule.name);
            }
        }
        log::debug!("lifecycle: {} of {total} rules enabled", rules.len());
        Ok(S3Lifecycle { rules })
    }

    fn decide(&self, item: &LifecycleItem, now: Timestamp) -> LifecycleAction {
        match item {
            LifecycleItem::Version(v) => self.decide_version(v, now),
            LifecycleItem::Upload(u) if self.any(|r| r.aborts(u, now)) => {
                LifecycleAction::AbortUpload
            }
            LifecycleItem::Upload(_) => LifecycleAction::Keep,
        }
    }
}

lakegate_sdk::export_lifecycle!(S3Lifecycle);

#[cfg(test)]
mod tests {
    use super::*;
    use LifecycleAction::{AbortUpload, Expire, ExpireNoncurrent, Keep};
    use lakegate_sdk::parse_config;

    /// 2026-01-01T00:00:00Z.
    const MIDNIGHT: Timestamp = Timestamp::from_secs(1_767_225_600);
    const HOUR: i64 = 3_600_000;

    fn policy(json: &str) -> S3Lifecycle {
        S3Lifecycle::new(parse_config(json).unwrap()).unwrap()
    }

    fn config_error(json: &str) -> String {
        match parse_config::<Config>(json) {
            Err(e) => e,
            Ok(c) => S3Lifecycle::new(c).map(|_| ()).unwrap_err(),
        }
    }

    fn at(t: Timestamp, hours: i64) -> Timestamp {
        Timestamp(t.0 + hours * HOUR)
    }

    fn latest(key: &str, written: Timestamp) -> ObjectVersion {
        ObjectVersion {
            key: key.into(),
            version_id: "v2".into(),
            size: 100,
            is_latest: true,
            last_modified: written,
            older_versions: 1,
            ..Default::default()
        }
    }

    fn marker(key: &str, written: Timestamp, older: u32) -> ObjectVersion {
        ObjectVersion {
            is_delete_marker: true,
            size: 0,
            older_versions: older,
            ..latest(key, written)
        }
    }

    fn noncurrent(key: &str, since: Timestamp, newer: u32) -> ObjectVersion {
        ObjectVersion {
            version_id: "v1".into(),
            is_latest: false,
            newer_versions: newer,
            noncurrent_since: Some(since),
            last_modified: since.add_days(-30),
            older_versions: 0,
            ..latest(key, since)
        }
    }

    fn upload(key: &str, initiated: Timestamp) -> MultipartUpload {
        MultipartUpload {
            key: key.into(),
            upload_id: "u".into(),
            initiated,
            ..Default::default()
        }
    }

    fn one(p: &S3Lifecycle, v: ObjectVersion, now: Timestamp) -> LifecycleAction {
        p.decide(&LifecycleItem::Version(v), now)
    }

    #[test]
    fn days_round_up_to_the_next_utc_midnight() {
        let p = policy(r#"{"rules": [{"expiration": {"days": 90}}]}"#);
        // Written at 10:30: eligible at midnight after 90 days + 10:30, i.e. day 91.
        let written = at(MIDNIGHT, 10) + std::time::Duration::from_secs(1800);
        let v = latest("k", written);
        assert_eq!(one(&p, v.clone(), MIDNIGHT.add_days(90)), Keep);
        assert_eq!(one(&p, v.clone(), at(MIDNIGHT.add_days(90), 23)), Keep);
        assert_eq!(
            one(&p, v.clone(), Timestamp(MIDNIGHT.add_days(91).0 - 1)),
            Keep
        );
        assert_eq!(one(&p, v.clone(), MIDNIGHT.add_days(91)), Expire);
        // Written exactly at midnight: eligible exactly 90 days later.
        let v = latest("k", MIDNIGHT);
        assert_eq!(
            one(&p, v.clone(), Timestamp(MIDNIGHT.add_days(90).0 - 1)),
            Keep
        );
        assert_eq!(one(&p, v, MIDNIGHT.add_days(90)), Expire);
    }

    #[test]
    fn expiration_by_date() {
        let p = policy(r#"{"rules": [{"expiration": {"date": "2026-03-01T00:00:00Z"}}]}"#);
        let v = latest("k", MIDNIGHT);
        let date = MIDNIGHT.add_days(31 + 28);
        assert_eq!(one(&p, v.clone(), Timestamp(date.0 - 1)), Keep);
        assert_eq!(one(&p, v.clone(), date), Expire);
        // Written after the date: expires immediately (S3: the date is a cut-off, not an age).
        assert_eq!(
            one(&p, latest("k", date.add_days(5)), date.add_days(5)),
            Expire
        );
        // A date does not remove delete markers.
        assert_eq!(one(&p, marker("k", MIDNIGHT, 0), date.add_days(1)), Keep);
        // Nor noncurrent versions.
        assert_eq!(
            one(&p, noncurrent("k", MIDNIGHT, 1), date.add_days(1)),
            Keep
        );
    }

    #[test]
    fn filters_prefix_exclusions_tags_size() {
        let p = policy(
            r#"{"rules": [{"filter": {"prefix": "logs/", "exclude_prefixes": ["logs/keep/", "logs/x"],
                 "tags": {"class": "tmp", "team": "ml"}, "object_size_greater_than": 10,
                 "object_size_less_than": 1000}, "expiration": {"days": 1}}]}"#,
        );
        let now = MIDNIGHT.add_days(10);
        let ok = ObjectVersion {
            tags: vec![
                ("team".into(), "ml".into()),
                ("class".into(), "tmp".into()),
                ("other".into(), "x".into()),
            ],
            ..latest("logs/a", MIDNIGHT)
        };
        assert_eq!(one(&p, ok.clone(), now), Expire);
        let with_key = |k: &str| ObjectVersion {
            key: k.into(),
            ..ok.clone()
        };
        assert_eq!(one(&p, with_key("other/a"), now), Keep);
        assert_eq!(one(&p, with_key("logs/keep/a"), now), Keep);
        assert_eq!(one(&p, with_key("logs/xyz"), now), Keep);
        assert_eq!(one(&p, with_key("logs/y"), now), Expire);
        let with_size = |s: u64| ObjectVersion {
            size: s,
            ..ok.clone()
        };
        assert_eq!(one(&p, with_size(10), now), Keep);
        assert_eq!(one(&p, with_size(11), now), Expire);
        assert_eq!(one(&p, with_size(999), now), Expire);
        assert_eq!(one(&p, with_size(1000), now), Keep);
        let mut one_tag = ok.clone();
        one_tag.tags.retain(|(k, _)| k != "team");
        assert_eq!(one(&p, one_tag, now), Keep);
        let mut wrong_value = ok.clone();
        wrong_value.tags[0].1 = "ML".into();
        assert_eq!(one(&p, wrong_value, now), Keep);
        // Noncurrent versions are filtered by tags and size too.
        let nc = ObjectVersion {
            is_latest: false,
            newer_versions: 1,
            noncurrent_since: Some(MIDNIGHT),
            ..ok.clone()
        };
        let p2 = policy(
            r#"{"rules": [{"filter": {"tags": {"class": "tmp"}},
                 "noncurrent_version_expiration": {"noncurrent_days": 1}}]}"#,
        );
        assert_eq!(one(&p2, nc.clone(), now), ExpireNoncurrent);
        assert_eq!(one(&p2, ObjectVersion { tags: vec![], ..nc }, now), Keep);
    }

    #[test]
    fn expired_object_delete_markers() {
        let explicit =
            policy(r#"{"rules": [{"expiration": {"expired_object_delete_marker": true}}]}"#);
        let by_days = policy(r#"{"rules": [{"expiration": {"days": 30}}]}"#);
        let now = MIDNIGHT.add_days(10);
        let fresh_alone = marker("k", MIDNIGHT.add_days(9), 0);
        let old_alone = marker("k", MIDNIGHT.add_days(-20), 0);
        let hiding = marker("k", MIDNIGHT.add_days(-100), 2);
        // Explicit: removed as soon as it hides nothing, whatever its age.
        assert_eq!(one(&explicit, fresh_alone.clone(), now), Expire);
        assert_eq!(one(&explicit, hiding.clone(), now), Keep);
        // Under a days expiration: once it is old enough.
        assert_eq!(one(&by_days, fresh_alone, now), Keep);
        assert_eq!(one(&by_days, old_alone.clone(), now), Expire);
        assert_eq!(one(&by_days, hiding, now), Keep);
        // A plain version is not touched by an expired-delete-marker rule.
        assert_eq!(
            one(&explicit, latest("k", MIDNIGHT.add_days(-900)), now),
            Keep
        );
        // Delete markers ignore size filters; prefixes still apply.
        let sized = policy(
            r#"{"rules": [{"filter": {"prefix": "a/", "object_size_greater_than": 5},
                 "expiration": {"expired_object_delete_marker": true}}]}"#,
        );
        assert_eq!(one(&sized, marker("a/k", now, 0), now), Expire);
        assert_eq!(one(&sized, marker("b/k", now, 0), now), Keep);
    }

    #[test]
    fn noncurrent_days_and_counts() {
        let days =
            policy(r#"{"rules": [{"noncurrent_version_expiration": {"noncurrent_days": 7}}]}"#);
        let since = at(MIDNIGHT, 15);
        let v = noncurrent("k", since, 1);
        // Noncurrent since 15:00 on day 0: eligible at midnight of day 8.
        assert_eq!(one(&days, v.clone(), at(MIDNIGHT.add_days(7), 23)), Keep);
        assert_eq!(
            one(&days, v.clone(), MIDNIGHT.add_days(8)),
            ExpireNoncurrent
        );
        // The latest version is never noncurrent-expired.
        assert_eq!(
            one(&days, latest("k", MIDNIGHT.add_days(-400)), MIDNIGHT),
            Keep
        );
        // No noncurrent time: the days condition cannot hold.
        let unknown = ObjectVersion {
            noncurrent_since: None,
            ..v.clone()
        };
        assert_eq!(one(&days, unknown, MIDNIGHT.add_days(400)), Keep);
        // Noncurrent delete markers go the same way.
        let nc_marker = ObjectVersion {
            is_delete_marker: true,
            size: 0,
            ..v.clone()
        };
        assert_eq!(
            one(&days, nc_marker, MIDNIGHT.add_days(8)),
            ExpireNoncurrent
        );

        // Keep the 2 newest noncurrent versions: a version with ≥ 2 newer noncurrent ones goes.
        let count = policy(
            r#"{"rules": [{"noncurrent_version_expiration": {"newer_noncurrent_versions": 2}}]}"#,
        );
        let now = MIDNIGHT;
        // newer_versions counts the latest: 1 → newest noncurrent; 3 → third newest.
        assert_eq!(one(&count, noncurrent("k", now, 1), now), Keep);
        assert_eq!(one(&count, noncurrent("k", now, 2), now), Keep);
        assert_eq!(one(&count, noncurrent("k", now, 3), now), ExpireNoncurrent);
        assert_eq!(one(&count, noncurrent("k", now, 9), now), ExpireNoncurrent);
        // Defensive: a noncurrent version claiming no newer versions is kept.
        assert_eq!(one(&count, noncurrent("k", now, 0), now), Keep);

        // Both: both must hold.
        let both = policy(
            r#"{"rules": [{"noncurrent_version_expiration": {"noncurrent_days": 7, "newer_noncurrent_versions": 2}}]}"#,
        );
        let old = MIDNIGHT.add_days(-30);
        let new = MIDNIGHT.add_days(-1);
        assert_eq!(
            one(&both, noncurrent("k", old, 3), MIDNIGHT),
            ExpireNoncurrent
        );
        assert_eq!(one(&both, noncurrent("k", old, 2), MIDNIGHT), Keep);
        assert_eq!(one(&both, noncurrent("k", new, 3), MIDNIGHT), Keep);
    }

    #[test]
    fn uploads_abort_by_prefix_only() {
        let p = policy(
            r#"{"rules": [{"filter": {"prefix": "in/", "exclude_prefixes": ["in/slow/"],
                 "object_size_less_than": 5},
                 "abort_incomplete_multipart_upload": {"days_after_initiation": 7}}]}"#,
        );
        let started = at(MIDNIGHT, 1);
        let item = |k: &str| LifecycleItem::Upload(upload(k, started));
        let due = MIDNIGHT.add_days(8);
        assert_eq!(p.decide(&item("in/a"), Timestamp(due.0 - 1)), Keep);
        assert_eq!(p.decide(&item("in/a"), due), AbortUpload);
        assert_eq!(p.decide(&item("in/slow/a"), due), Keep);
        assert_eq!(p.decide(&item("out/a"), due), Keep);
        // Versions are not touched by an abort-only rule.
        assert_eq!(one(&p, latest("in/a", MIDNIGHT.add_days(-100)), due), Keep);
    }

    #[test]
    fn disabled_rules_never_act_and_any_enabled_rule_can() {
        let p = policy(
            r#"{"rules": [
                {"id": "off", "status": "Disabled", "expiration": {"days": 1}},
                {"id": "on", "status": "enabled", "filter": {"prefix": "b/"}, "expiration": {"days": 1}},
                {"id": "late", "filter": {"prefix": "b/"}, "expiration": {"days": 100}}]}"#,
        );
        let now = MIDNIGHT.add_days(5);
        assert_eq!(one(&p, latest("a/k", MIDNIGHT), now), Keep);
        assert_eq!(one(&p, latest("b/k", MIDNIGHT), now), Expire);
        assert_eq!(p.rules.len(), 2);
    }

    #[test]
    fn batches_get_one_action_per_item_in_order() {
        let p = policy(
            r#"{"rules": [{"expiration": {"days": 1}},
                {"noncurrent_version_expiration": {"noncurrent_days": 1}},
                {"abort_incomplete_multipart_upload": {"days_after_initiation": 1}}]}"#,
        );
        let now = MIDNIGHT.add_days(3);
        let items = [
            LifecycleItem::Version(latest("a", MIDNIGHT)),
            LifecycleItem::Upload(upload("b", now)),
            LifecycleItem::Version(noncurrent("c", MIDNIGHT, 1)),
            LifecycleItem::Version(latest("d", now)),
            LifecycleItem::Upload(upload("e", MIDNIGHT)),
            LifecycleItem::Version(marker("f", MIDNIGHT, 0)),
        ];
        assert_eq!(
            p.decide_batch(&items, now),
            [Expire, Keep, ExpireNoncurrent, Keep, AbortUpload, Expire]
        );
        assert!(p.decide_batch(&[], now).is_empty());
    }

    #[test]
    fn extreme_inputs_do_not_panic() {
        let p = policy(
            r#"{"rules": [{"expiration": {"days": 4294967295}},
                {"noncurrent_version_expiration": {"noncurrent_days": 4294967295, "newer_noncurrent_versions": 100}},
                {"abort_incomplete_multipart_upload": {"days_after_initiation": 4294967295}}]}"#,
        );
        for now in [Timestamp(i64::MIN), Timestamp(0), Timestamp(i64::MAX)] {
            for t in [Timestamp(i64::MIN), Timestamp(i64::MAX)] {
                let items = [
                    LifecycleItem::Version(latest("k", t)),
                    LifecycleItem::Version(marker("k", t, 0)),
                    LifecycleItem::Version(noncurrent("k", t, u32::MAX)),
                    LifecycleItem::Upload(upload("k", t)),
                ];
                assert_eq!(p.decide_batch(&items, now).len(), 4);
            }
        }
    }

    #[test]
    fn dates() {
        let d = |s: &str| parse_date(s).map(|t| t.to_string());
        assert_eq!(d("2027-01-01").unwrap(), "2027-01-01T00:00:00.000Z");
        assert_eq!(
            d("2027-01-01T00:00:00Z").unwrap(),
            "2027-01-01T00:00:00.000Z"
        );
        assert_eq!(
            d("2027-01-01T00:00:00.000Z").unwrap(),
            "2027-01-01T00:00:00.000Z"
        );
        assert_eq!(
            d("2024-02-29t13:05:09.0429z").unwrap(),
            "2024-02-29T13:05:09.042Z"
        );
        assert_eq!(
            d("2027-01-01T02:00:00+02:00").unwrap(),
            "2027-01-01T00:00:00.000Z"
        );
        assert_eq!(
            d("2026-12-31T19:30:00-04:30").unwrap(),
            "2027-01-01T00:00:00.000Z"
        );
        assert_eq!(
            d("1969-12-31T23:59:59Z").unwrap(),
            "1969-12-31T23:59:59.000Z"
        );
        // Without an offset: UTC.
        assert_eq!(
            d("2027-01-01T00:00:00").unwrap(),
            "2027-01-01T00:00:00.000Z"
        );
        assert_eq!(
            d("2027-01-01T00:00:00.5").unwrap(),
            "2027-01-01T00:00:00.500Z"
        );
        for bad in [
            "",
            "2027",
            "2027-1-01",
            "2027-13-01",
            "2027-02-29",
            "2027-01-01T00:00",
            "2027-01-01T24:00:00Z",
            "2027-01-01T00:00:00.Z",
            "2027-01-01 00:00:00Z",
            "2027-01-01T00:00:00+2:00",
            "2027-01-01T00:00:00Zjunk",
            "２０２７-01-01",
            "2027-01-01T00:00:00.5+",
            "+027-01-01",
        ] {
            assert!(parse_date(bad).is_err(), "{bad:?}");
        }
        // No input panics: every prefix of some long forms, and some junk.
        for full in [
            "2027-01-01T00:00:00.123456789+02:00",
            "2024-02-29t13:05:09.0429z",
            "9999-12-31T23:59:59-23:59",
        ] {
            for end in 0..=full.len() {
                let _ = parse_date(&full[..end]);
                let _ = parse_date(&format!("{}x", &full[..end]));
            }
        }
        for junk in [
            "0000-00-00",
            "0000-02-29",
            "9999-99-99T99:99:99Z",
            "----------",
            "é",
        ] {
            let _ = parse_date(junk);
        }
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
    }

    #[test]
    fn config_errors_name_the_field() {
        let cases: &[(&str, &str)] = &[
            (r#"{"rules": []}"#, "rules: at least one rule is required"),
            (
                r#"{"rules": [{"expiration": {"days": 1}}, {"expiration": {"days": 1}}, {"expiration": {"days": 0}}]}"#,
                "rules[2].expiration.days: must be ≥ 1",
            ),
            (
                r#"{"rules": [{"id": "x"}]}"#,
                "rules[0]: needs at least one action (expiration, noncurrent_version_expiration or abort_incomplete_multipart_upload)",
            ),
            (
                r#"{"rules": [{"expiration": {"expired_object_delete_marker": false}}]}"#,
                "rules[0]: needs at least one action (expiration, noncurrent_version_expiration or abort_incomplete_multipart_upload)",
            ),
            (
                r#"{"rules": [{"expiration": {}}]}"#,
                "rules[0].expiration: set one of days, date or expired_object_delete_marker",
            ),
            (
                r#"{"rules": [{"expiration": {"days": 3, "expired_object_delete_marker": true}}]}"#,
                "rules[0].expiration: set only one of days, date and expired_object_delete_marker (as S3; use two rules)",
            ),
            (
                r#"{"rules": [{"expiration": {"days": 3, "date": "2027-01-01"}}]}"#,
                "rules[0].expiration: set only one of days, date and expired_object_delete_marker (as S3; use two rules)",
            ),
            (
                r#"{"rules": [{"expiration": {"date": "next tuesday"}}]}"#,
                "rules[0].expiration.date: \"next tuesday\": expected an RFC 3339 time such as 2027-01-01T00:00:00Z, or 2027-01-01",
            ),
            (
                r#"{"rules": [{"noncurrent_version_expiration": {}}]}"#,
                "rules[0].noncurrent_version_expiration: set noncurrent_days, newer_noncurrent_versions or both",
            ),
            (
                r#"{"rules": [{"noncurrent_version_expiration": {"noncurrent_days": 0}}]}"#,
                "rules[0].noncurrent_version_expiration.noncurrent_days: must be ≥ 1",
            ),
            (
                r#"{"rules": [{"noncurrent_version_expiration": {"newer_noncurrent_versions": 101}}]}"#,
                "rules[0].noncurrent_version_expiration.newer_noncurrent_versions: must be ≤ 100",
            ),
            (
                r#"{"rules": [{"noncurrent_version_expiration": {"noncurrent_days": 1, "newer_noncurrent_versions": 0}}]}"#,
                "rules[0].noncurrent_version_expiration.newer_noncurrent_versions: must be ≥ 1",
            ),
            (
                r#"{"rules": [{"abort_incomplete_multipart_upload": {"days_after_initiation": 0}}]}"#,
                "rules[0].abort_incomplete_multipart_upload.days_after_initiation: must be ≥ 1",
            ),
            (
                r#"{"rules": [{"filter": {"tags": {"a": "b"}}, "abort_incomplete_multipart_upload": {"days_after_initiation": 1}}]}"#,
                "rules[0].abort_incomplete_multipart_upload: cannot be combined with a tags filter (uploads have no tags)",
            ),
            (
                r#"{"rules": [{"filter": {"tags": {"a": "b"}}, "expiration": {"expired_object_delete_marker": true}}]}"#,
                "rules[0].expiration.expired_object_delete_marker: cannot be combined with a tags filter (delete markers have no tags)",
            ),
            (
                r#"{"rules": [{"filter": {"object_size_greater_than": 10, "object_size_less_than": 10}, "expiration": {"days": 1}}]}"#,
                "rules[0].filter: object_size_greater_than (10) must be less than object_size_less_than (10)",
            ),
            (
                r#"{"rules": [{"filter": {"object_size_less_than": 0}, "expiration": {"days": 1}}]}"#,
                "rules[0].filter.object_size_less_than: must be ≥ 1 (no object is smaller than 0 bytes)",
            ),
            (
                r#"{"rules": [{"filter": {"exclude_prefixes": ["a/", ""]}, "expiration": {"days": 1}}]}"#,
                "rules[0].filter.exclude_prefixes[1]: must not be empty (it would exclude every key)",
            ),
            (
                r#"{"rules": [{"filter": {"tags": {"": "b"}}, "expiration": {"days": 1}}]}"#,
                "rules[0].filter.tags: tag name \"\" must not be empty",
            ),
            (
                r#"{"rules": [{"id": "a", "expiration": {"days": 1}}, {"id": "a", "expiration": {"days": 2}}]}"#,
                "rules[1].id: duplicate id \"a\"",
            ),
            ("{}", "invalid config: missing field `rules`"),
            (
                r#"{"rules": [{"status": "On", "expiration": {"days": 1}}]}"#,
                "invalid config: rules[0].status: expected Enabled or Disabled, got \"On\"",
            ),
            (
                r#"{"rules": [{"expiration": {"days": -1}}]}"#,
                "invalid config: rules[0].expiration.days: invalid value: integer `-1`, expected u32",
            ),
            (
                r#"{"rules": [{"abort_incomplete_multipart_upload": {}}]}"#,
                "invalid config: rules[0].abort_incomplete_multipart_upload: missing field `days_after_initiation`",
            ),
        ];
        for (json, want) in cases {
            assert_eq!(&config_error(json), want, "{json}");
        }
        let long = format!(
            r#"{{"rules": [{{"id": "{}", "expiration": {{"days": 1}}}}]}}"#,
            "x".repeat(256)
        );
        assert_eq!(
            config_error(&long),
            "rules[0].id: longer than 255 characters"
        );
        let e = config_error(r#"{"rules": [{"transitions": [], "expiration": {"days": 1}}]}"#);
        assert!(
            e.starts_with("invalid config: rules[0].transitions: unknown field `transitions`"),
            "{e}"
        );
        let e = config_error(
            r#"{"rules": [{"filter": {"prefixes": ["a"]}, "expiration": {"days": 1}}]}"#,
        );
        assert!(e.contains("unknown field `prefixes`"), "{e}");
        let e = config_error(r#"{"rules": [{"expiration": {"days": 1}}], "version": 2}"#);
        assert!(e.contains("unknown field `version`"), "{e}");
        let many = format!(
            r#"{{"rules": [{}]}}"#,
            vec![r#"{"expiration": {"days": 1}}"#; MAX_RULES + 1].join(",")
        );
        assert_eq!(config_error(&many), "rules: 1001 rules (at most 1000)");
        // `expired_object_delete_marker = false` is no action, and may accompany days or a date.
        let p = policy(
            r#"{"rules": [{"expiration": {"days": 1, "expired_object_delete_marker": false}},
                {"expiration": {"date": "2026-01-01", "expired_object_delete_marker": false}}]}"#,
        );
        assert_eq!(p.rules[0].expire_days, Some(1));
        assert!(!p.rules[0].expired_delete_markers && !p.rules[1].expired_delete_markers);
        assert_eq!(p.rules[1].expire_date, Some(MIDNIGHT));
        // Disabled rules are validated too.
        assert_eq!(
            config_error(r#"{"rules": [{"status": "Disabled", "expiration": {"days": 0}}]}"#),
            "rules[0].expiration.days: must be ≥ 1"
        );
    }
}
