//! Test fixture for the `lifecycle` world: answers every batch with one action more than it
//! was given (`expire` for every item plus one extra `keep`), a contract violation the host
//! must reject without applying any of it. `configure` accepts any config.

use lakegate_sdk::{LifecycleAction, LifecycleItem, LifecyclePolicy, NoConfig, Timestamp};

struct GarbageLifecycle;

impl LifecyclePolicy for GarbageLifecycle {
    type Config = NoConfig;

    fn new(_: NoConfig) -> Result<Self, String> {
        Ok(GarbageLifecycle)
    }

    fn decide(&self, _item: &LifecycleItem, _now: Timestamp) -> LifecycleAction {
        LifecycleAction::Expire
    }

    fn decide_batch(&self, items: &[LifecycleItem], now: Timestamp) -> Vec<LifecycleAction> {
        let mut actions: Vec<_> = items.iter().map(|i| self.decide(i, now)).collect();
        actions.push(LifecycleAction::Keep);
        actions
    }
}

lakegate_sdk::export_lifecycle!(GarbageLifecycle);
