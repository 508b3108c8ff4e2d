//! Test fixture for the `retention` world: `configure` always fails, with
//! `Err("invalid config: bad-config rejects every configuration")`. (`decide` would answer no
//! retention, but it is only reachable on an unconfigured instance.)

use lakegate_sdk::{NoConfig, ObjectVersion, RetentionDecision, RetentionPolicy, Timestamp};

struct BadConfig;

impl RetentionPolicy for BadConfig {
    type Config = NoConfig;

    fn new(_: NoConfig) -> Result<Self, String> {
        Err("bad-config rejects every configuration".into())
    }

    fn decide(&self, _object: &ObjectVersion, _now: Timestamp) -> RetentionDecision {
        RetentionDecision::none()
    }
}

lakegate_sdk::export_retention!(BadConfig);
