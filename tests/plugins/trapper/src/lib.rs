//! Test fixture for the `retention` world: `decide` panics, so the instance traps (after the
//! SDK logs `plugin panicked: …` at `error`). `configure` accepts any config.

use lakegate_sdk::{NoConfig, ObjectVersion, RetentionDecision, RetentionPolicy, Timestamp};

struct Trapper;

impl RetentionPolicy for Trapper {
    type Config = NoConfig;

    fn new(_: NoConfig) -> Result<Self, String> {
        Ok(Trapper)
    }

    fn decide(&self, object: &ObjectVersion, _now: Timestamp) -> RetentionDecision {
        panic!("trapper: deliberate panic deciding {}", object.key)
    }
}

lakegate_sdk::export_retention!(Trapper);
