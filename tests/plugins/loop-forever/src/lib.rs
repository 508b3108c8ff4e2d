//! Test fixture for the `lifecycle` world: `decide` spins forever. The host must interrupt it
//! (fuel or epoch deadline). `configure` accepts any config.

use lakegate_sdk::{LifecycleAction, LifecycleItem, LifecyclePolicy, NoConfig, Timestamp};

struct LoopForever;

impl LifecyclePolicy for LoopForever {
    type Config = NoConfig;

    fn new(_: NoConfig) -> Result<Self, String> {
        Ok(LoopForever)
    }

    fn decide(&self, _item: &LifecycleItem, _now: Timestamp) -> LifecycleAction {
        let mut n: u64 = 0;
        loop {
            n = std::hint::black_box(n.wrapping_add(1));
        }
    }
}

lakegate_sdk::export_lifecycle!(LoopForever);
