//! Test fixture for the `lifecycle` world: `decide` allocates 1 MiB chunks (and touches them)
//! until allocation fails, which aborts the instance (a trap) once the host's memory limit
//! refuses to grow linear memory. `configure` accepts any config.

use lakegate_sdk::{LifecycleAction, LifecycleItem, LifecyclePolicy, NoConfig, Timestamp};
use std::hint::black_box;

struct AllocBomb;

impl LifecyclePolicy for AllocBomb {
    type Config = NoConfig;

    fn new(_: NoConfig) -> Result<Self, String> {
        Ok(AllocBomb)
    }

    fn decide(&self, _item: &LifecycleItem, _now: Timestamp) -> LifecycleAction {
        let mut hoard: Vec<Vec<u8>> = Vec::new();
        loop {
            let chunk = black_box(vec![0xA5_u8; 1 << 20]);
            hoard.push(chunk);
            black_box(&mut hoard);
        }
    }
}

lakegate_sdk::export_lifecycle!(AllocBomb);
