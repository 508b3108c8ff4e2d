//! Test fixture for the `retention` world: `decide` panics, so the instance traps (after the
//! SDK logs `plugin panicked: …` at `error`).
//!
//! Config: `{}` panics on every object; `{"only_keys_containing": "boom"}` panics only for keys
//! containing `boom` (and applies no retention to the others), so it passes the host's load-time
//! self-check and fails at call time, on the write path.

use lakegate_sdk::{ObjectVersion, RetentionDecision, RetentionPolicy, Timestamp};
use serde::Deserialize;

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Config {
    only_keys_containing: Option<String>,
}

struct Trapper(Config);

impl RetentionPolicy for Trapper {
    type Config = Config;

    fn new(config: Config) -> Result<Self, String> {
        Ok(Trapper(config))
    }

    fn decide(&self, object: &ObjectVersion, _now: Timestamp) -> RetentionDecision {
        match &self.0.only_keys_containing {
            Some(s) if !object.key.contains(s.as_str()) => RetentionDecision::none(),
            _ => panic!("trapper: deliberate panic deciding {}", object.key),
        }
    }
}

lakegate_sdk::export_retention!(Trapper);
