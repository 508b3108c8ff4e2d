//! Many callers on one plugin; engine-wide instance limits; calls from tokio tasks.

use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use lakegate::policy::{
    EngineOptions, LifecycleItem, Limits, LoadedPlugin, PolicyEngine, PolicyError, PolicyKind,
    RetentionDecision,
};
use lakegate::store::{Retention, RetentionMode};

use crate::common::*;

const RETENTION: &str = r#"{"mode": "GOVERNANCE", "days": 10, "prefixes": {"t3/": 30}}"#;

fn expected(key: &str) -> RetentionDecision {
    let days = if key.starts_with("t3/") { 30 } else { 10 };
    RetentionDecision {
        retention: Some(Retention {
            mode: RetentionMode::Governance,
            retain_until: NOW + days * DAY,
        }),
        legal_hold: false,
    }
}

#[test]
fn eight_threads_share_one_plugin() {
    let limits = Limits {
        max_instances: 4,
        ..limits()
    };
    let p = engine()
        .load(
            PolicyKind::Retention,
            &fixture("fixed_retention"),
            RETENTION,
            limits,
            "shared",
        )
        .unwrap();
    std::thread::scope(|s| {
        for t in 0..8 {
            let p = &p;
            s.spawn(move || {
                for i in 0..500 {
                    let key = format!("t{t}/object-{i}");
                    assert_eq!(
                        p.retention(&object("b", &key), NOW).unwrap(),
                        expected(&key)
                    );
                }
            });
        }
    });
    let s = p.stats().snapshot();
    assert_eq!((s.calls, s.failures), (4000, 0));
    assert!((1..=4).contains(&s.instances), "{} instances", s.instances);
}

#[test]
fn engine_instance_limit_is_shared_and_released() {
    let engine = PolicyEngine::with_options(
        None,
        EngineOptions {
            total_instances: 2,
            ..Default::default()
        },
    )
    .unwrap();
    let wasm = fixture("fixed_retention");
    let limits = Limits {
        max_instances: 4,
        ..limits()
    };
    let a = engine
        .load(PolicyKind::Retention, &wasm, RETENTION, limits, "a")
        .unwrap();
    // Four threads want four instances; the engine has two slots: they share.
    std::thread::scope(|s| {
        for t in 0..4 {
            let a = &a;
            s.spawn(move || {
                for i in 0..200 {
                    let key = format!("t{t}/{i}");
                    assert_eq!(
                        a.retention(&object("b", &key), NOW).unwrap(),
                        expected(&key)
                    );
                }
            });
        }
    });
    assert!(a.stats().instances() <= 2);
    let b = engine.load(PolicyKind::Retention, &wasm, RETENTION, limits, "b");
    if a.stats().instances() == 2 {
        assert!(matches!(b, Err(PolicyError::Instantiate(_))), "{b:?}");
        // Dropping a plugin gives its slots back.
        drop(a);
        engine
            .load(PolicyKind::Retention, &wasm, RETENTION, limits, "b")
            .unwrap();
    } else {
        b.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn calls_from_tokio_tasks() {
    // The gateway keeps plugins in an ArcSwap and calls them from request tasks; plugin output
    // (alloc_bomb writes to stderr through WASI's blocking write) must not upset the runtime.
    let p = engine()
        .load(
            PolicyKind::Retention,
            &fixture("fixed_retention"),
            RETENTION,
            limits(),
            "tokio",
        )
        .unwrap();
    let slot: Arc<ArcSwap<LoadedPlugin>> = Arc::new(ArcSwap::from_pointee(p));
    let bomb = engine()
        .load_with(
            PolicyKind::Lifecycle,
            &fixture("alloc_bomb"),
            "{}",
            Limits {
                memory_bytes: 8 << 20,
                quarantine_after: 0,
                time_budget: Duration::from_secs(1),
                ..limits()
            },
            "bomb",
            unchecked(),
        )
        .unwrap();
    let mut tasks = Vec::new();
    for t in 0..16 {
        let slot = slot.clone();
        let bomb = bomb.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..100 {
                let key = format!("t{t}/{i}");
                let d = slot.load().retention(&object("b", &key), NOW).unwrap();
                assert_eq!(d, expected(&key));
                if i % 50 == 0 {
                    let r = bomb.lifecycle(&[LifecycleItem::Version(object("b", &key))], NOW);
                    assert!(matches!(r, Err(PolicyError::OutOfMemory { .. })), "{r:?}");
                }
                tokio::task::yield_now().await;
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(slot.load().stats().calls(), 1600);
}
