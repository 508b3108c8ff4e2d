//! Per-plugin resource limits.

use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Resource limits of one loaded plugin.
///
/// Deserializable from TOML/JSON; every field is optional (defaults below). `memory_bytes`
/// accepts an integer or a string with a unit (`"64 MiB"`, `"512KiB"`, `"1GiB"`, `"10MB"`);
/// `time_budget` accepts an integer number of milliseconds or a string (`"100ms"`, `"2s"`,
/// `"500us"`).
///
/// ```toml
/// [limits]
/// memory_bytes = "32 MiB"
/// time_budget = "50ms"
/// quarantine_after = 5
/// max_instances = 4
/// canary_objects = 64
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Linear memory cap per instance (all memories of the component together). Default 64 MiB.
    #[serde(deserialize_with = "de_bytes")]
    pub memory_bytes: u64,
    /// Wall-clock budget of one call (including `configure`). Default 100 ms.
    #[serde(serialize_with = "ser_duration", deserialize_with = "de_duration")]
    pub time_budget: Duration,
    /// Consecutive failed calls after which the plugin is quarantined. Default 5; 0 disables.
    pub quarantine_after: u32,
    /// Instances kept per plugin, i.e. how many calls may run concurrently. Default 4.
    pub max_instances: usize,
    /// Objects of the bucket a new version decides on before it may replace the serving one
    /// (the canary of the reload gate, `gate.rs`). Default 64; 0 turns the canary off.
    pub canary_objects: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            memory_bytes: 64 << 20,
            time_budget: Duration::from_millis(100),
            quarantine_after: 5,
            max_instances: 4,
            canary_objects: 64,
        }
    }
}

fn ser_duration<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format!("{}ms", d.as_millis()))
}

#[derive(Deserialize)]
#[serde(untagged)]
enum NumOrStr {
    Num(u64),
    Str(String),
}

fn de_bytes<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    match NumOrStr::deserialize(d)? {
        NumOrStr::Num(n) => Ok(n),
        NumOrStr::Str(s) => {
            parse_bytes(&s).ok_or_else(|| serde::de::Error::custom(format!("invalid size `{s}`")))
        }
    }
}

fn de_duration<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    match NumOrStr::deserialize(d)? {
        NumOrStr::Num(n) => Ok(Duration::from_millis(n)),
        NumOrStr::Str(s) => parse_duration(&s)
            .ok_or_else(|| serde::de::Error::custom(format!("invalid duration `{s}`"))),
    }
}

/// `"64 MiB"`, `"64MiB"`, `"1GiB"`, `"10MB"`, `"4096"` → bytes.
fn parse_bytes(s: &str) -> Option<u64> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: u64 = num.parse().ok()?;
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kib" => 1 << 10,
        "m" | "mib" => 1 << 20,
        "g" | "gib" => 1 << 30,
        "kb" => 1_000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        _ => return None,
    };
    n.checked_mul(mult)
}

/// `"100ms"`, `"2s"`, `"500us"`, `"100"` (milliseconds) → duration.
pub fn parse_duration(s: &str) -> Option<Duration> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: u64 = num.parse().ok()?;
    match unit.trim() {
        "" | "ms" => Some(Duration::from_millis(n)),
        "s" => Some(Duration::from_secs(n)),
        "us" | "µs" => Some(Duration::from_micros(n)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_from_json_and_defaults() {
        let l: Limits = serde_json::from_str("{}").unwrap();
        assert_eq!(l, Limits::default());
        let l: Limits = serde_json::from_str(
            r#"{"memory_bytes":"32 MiB","time_budget":"50ms","max_instances":2}"#,
        )
        .unwrap();
        assert_eq!(l.memory_bytes, 32 << 20);
        assert_eq!(l.time_budget, Duration::from_millis(50));
        assert_eq!(l.max_instances, 2);
        assert_eq!(l.quarantine_after, 5);
        let l: Limits =
            serde_json::from_str(r#"{"memory_bytes":1048576,"time_budget":7}"#).unwrap();
        assert_eq!(l.memory_bytes, 1 << 20);
        assert_eq!(l.time_budget, Duration::from_millis(7));
        assert!(serde_json::from_str::<Limits>(r#"{"memory":1}"#).is_err());
        assert!(serde_json::from_str::<Limits>(r#"{"time_budget":"soon"}"#).is_err());
        // Round trip through the serialized form.
        let back: Limits = serde_json::from_str(&serde_json::to_string(&l).unwrap()).unwrap();
        assert_eq!(back, l);
    }

    #[test]
    fn units() {
        assert_eq!(parse_bytes("1GiB"), Some(1 << 30));
        assert_eq!(parse_bytes("10MB"), Some(10_000_000));
        assert_eq!(parse_bytes("12 parsecs"), None);
        assert_eq!(parse_duration("2s"), Some(Duration::from_secs(2)));
        assert_eq!(parse_duration("500us"), Some(Duration::from_micros(500)));
        assert_eq!(parse_duration("-1ms"), None);
    }
}
