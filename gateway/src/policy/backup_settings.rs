//! The `[backup]` table of a backup binding: the host-side settings of its backups (schedule,
//! generations kept, event-driven runs), parsed with the binding file and used by the backup service.
//!
//! ```toml
//! [backup]
//! schedule = "0 0 2 * * *"   # cron: sec min hour day-of-month month day-of-week [year], UTC;
//!                            # five fields (min hour dom month dow) are accepted too
//! generations = 7            # manifests kept; 0 = mirror only (no history)
//! events = true              # back up changes as they happen (debounced)
//! debounce_ms = 2000         # quiet time before an event batch runs
//! ```

use std::str::FromStr;

use serde::Serialize;

use super::types::Millis;

/// Generations kept when `generations` is not set.
const DEFAULT_GENERATIONS: u32 = 7;
/// Debounce of event batches when `debounce_ms` is not set.
const DEFAULT_DEBOUNCE_MS: u64 = 2000;
/// Most generations a binding may keep.
const MAX_GENERATIONS: u32 = 10_000;

/// The `[backup]` settings of a backup binding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BackupSettings {
    /// A cron expression with a seconds field (six or seven fields; a five-field expression is
    /// stored with a leading `0`), if runs are scheduled.
    pub schedule: Option<String>,
    pub generations: u32,
    pub events: bool,
    pub debounce_ms: u64,
}

impl Default for BackupSettings {
    fn default() -> Self {
        BackupSettings {
            schedule: None,
            generations: DEFAULT_GENERATIONS,
            events: true,
            debounce_ms: DEFAULT_DEBOUNCE_MS,
        }
    }
}

/// A `[backup]` table that does not parse: the field (`backup.<name>`, or `backup` for the
/// table's shape) and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct BackupSettingsError {
    pub field: &'static str,
    pub message: String,
}

impl BackupSettingsError {
    fn new(field: &'static str, message: impl Into<String>) -> Self {
        BackupSettingsError {
            field,
            message: message.into(),
        }
    }
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    schedule: Option<String>,
    generations: Option<i64>,
    events: Option<bool>,
    debounce_ms: Option<i64>,
}

impl BackupSettings {
    /// Parses a `[backup]` table. The error names the field.
    pub fn parse(table: &toml::Table) -> Result<BackupSettings, BackupSettingsError> {
        let raw: Raw = toml::Value::Table(table.clone())
            .try_into()
            .map_err(|e: toml::de::Error| BackupSettingsError::new("backup", e.message().trim()))?;
        let mut s = BackupSettings::default();
        if let Some(expr) = raw.schedule {
            let expr = cron_with_seconds(&expr);
            parse_cron(&expr).map_err(|e| {
                BackupSettingsError::new(
                    "backup.schedule",
                    format!("invalid schedule {expr:?}: {e}"),
                )
            })?;
            s.schedule = Some(expr);
        }
        if let Some(g) = raw.generations {
            s.generations = u32::try_from(g)
                .ok()
                .filter(|g| *g <= MAX_GENERATIONS)
                .ok_or_else(|| {
                    BackupSettingsError::new(
                        "backup.generations",
                        format!("must be between 0 and {MAX_GENERATIONS}"),
                    )
                })?;
        }
        if let Some(e) = raw.events {
            s.events = e;
        }
        if let Some(d) = raw.debounce_ms {
            s.debounce_ms = u64::try_from(d)
                .ok()
                .filter(|d| (10..=3_600_000).contains(d))
                .ok_or_else(|| {
                    BackupSettingsError::new("backup.debounce_ms", "must be between 10 and 3600000")
                })?;
        }
        Ok(s)
    }

    /// The next scheduled run strictly after `after` (ms since the epoch, UTC).
    pub fn next_run(&self, after: Millis) -> Option<Millis> {
        let schedule = parse_cron(self.schedule.as_deref()?).ok()?;
        let after = chrono::DateTime::<chrono::Utc>::from_timestamp_millis(after)?;
        schedule.after(&after).next().map(|t| t.timestamp_millis())
    }
}

/// The expression with a seconds field: five-field (standard cron) expressions get a leading
/// `0`; whitespace is collapsed.
fn cron_with_seconds(expr: &str) -> String {
    let fields: Vec<&str> = expr.split_whitespace().collect();
    if fields.len() == 5 {
        format!("0 {}", fields.join(" "))
    } else {
        fields.join(" ")
    }
}

/// Parses a cron expression with a seconds field.
fn parse_cron(expr: &str) -> Result<cron::Schedule, cron::error::Error> {
    cron::Schedule::from_str(expr)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(s: &str) -> toml::Table {
        toml::from_str(s).unwrap()
    }

    #[test]
    fn settings() {
        let s = BackupSettings::parse(&table("")).unwrap();
        assert_eq!(s, BackupSettings::default());
        let s = BackupSettings::parse(&table(
            "schedule = '0 2 * * *'\ngenerations = 0\nevents = false\ndebounce_ms = 50",
        ))
        .unwrap();
        assert_eq!(s.schedule.as_deref(), Some("0 0 2 * * *"));
        assert_eq!((s.generations, s.events, s.debounce_ms), (0, false, 50));
        let e = BackupSettings::parse(&table("schedule = 'every night'")).unwrap_err();
        assert_eq!(e.field, "backup.schedule");
        let e = BackupSettings::parse(&table("generations = -1")).unwrap_err();
        assert_eq!(e.field, "backup.generations");
        let e = BackupSettings::parse(&table("generation = 1")).unwrap_err();
        assert!(e.message.contains("unknown field"), "{e:?}");
    }

    #[test]
    fn next_fire() {
        let s = BackupSettings {
            schedule: Some("0 0 2 * * *".into()),
            ..Default::default()
        };
        // 2026-01-01T00:00:00Z
        let t0 = 1_767_225_600_000;
        assert_eq!(s.next_run(t0), Some(t0 + 2 * 3_600_000));
        assert_eq!(s.next_run(t0 + 2 * 3_600_000), Some(t0 + 26 * 3_600_000));
        assert_eq!(BackupSettings::default().next_run(t0), None);
    }
}
