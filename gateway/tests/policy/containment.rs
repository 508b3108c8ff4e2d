//! Containment: runaway, greedy, crashing, lying and snooping plugins.

use std::time::{Duration, Instant};

use lakegate::policy::{
    LifecycleAction, LifecycleItem, Limits, LoadOptions, PolicyError, PolicyKind, RetentionDecision,
};

use crate::common::*;

fn one_item() -> Vec<LifecycleItem> {
    vec![LifecycleItem::Version(object("b", "k"))]
}

#[test]
fn endless_loop_runs_out_of_budget() {
    let wasm = fixture("loop_forever");
    let budget = Duration::from_millis(50);
    let limits = Limits {
        time_budget: budget,
        ..Limits::default()
    };

    // With the self-check, the plugin is refused at load.
    let t = Instant::now();
    let e = engine()
        .load(PolicyKind::Lifecycle, &wasm, "{}", limits, "loop")
        .unwrap_err();
    assert_eq!(e, PolicyError::OutOfBudget { budget });
    assert!(t.elapsed() < Duration::from_secs(5));

    // Without it, every call is interrupted after about the budget.
    let p = engine()
        .load_with(
            PolicyKind::Lifecycle,
            &wasm,
            "{}",
            limits,
            "loop",
            unchecked(),
        )
        .unwrap();
    let good = engine()
        .load(
            PolicyKind::Lifecycle,
            &fixture("age_lifecycle"),
            r#"{"days": 30}"#,
            limits,
            "good",
        )
        .unwrap();
    good.lifecycle(&one_item(), NOW).unwrap();
    for _ in 0..2 {
        let t = Instant::now();
        assert_eq!(
            p.lifecycle(&one_item(), NOW),
            Err(PolicyError::OutOfBudget { budget })
        );
        let took = t.elapsed();
        assert!(
            took >= budget - Duration::from_millis(2),
            "interrupted too early: {took:?}"
        );
        // Interrupted, not hung: the margin absorbs scheduling on a loaded 2-core CI machine
        // (the epoch ticker and the call share the cores with compilers and other tests).
        assert!(
            took < budget + Duration::from_secs(2),
            "interrupted too late: {took:?}"
        );

        // A good plugin is unaffected and still fast.
        let t = Instant::now();
        assert_eq!(
            good.lifecycle(&one_item(), NOW).unwrap(),
            [LifecycleAction::Keep]
        );
        assert!(
            t.elapsed() < Duration::from_millis(500),
            "good call took {:?}",
            t.elapsed()
        );
    }
    assert_eq!(
        p.lifecycle_or_keep(&one_item(), NOW),
        [LifecycleAction::Keep]
    );
    let s = p.stats().snapshot();
    assert_eq!((s.calls, s.failures, s.consecutive_failures), (3, 3, 3));
    assert!(s.last_error.unwrap().contains("time budget"));
}

#[test]
fn allocation_bomb_runs_out_of_memory() {
    let wasm = fixture("alloc_bomb");
    let limits = Limits {
        memory_bytes: 16 << 20,
        ..limits()
    };
    let e = engine()
        .load(PolicyKind::Lifecycle, &wasm, "{}", limits, "bomb")
        .unwrap_err();
    assert_eq!(
        e,
        PolicyError::OutOfMemory {
            limit_bytes: 16 << 20
        }
    );

    let p = engine()
        .load_with(
            PolicyKind::Lifecycle,
            &wasm,
            "{}",
            limits,
            "bomb",
            unchecked(),
        )
        .unwrap();
    for _ in 0..3 {
        assert_eq!(
            p.lifecycle(&one_item(), NOW),
            Err(PolicyError::OutOfMemory {
                limit_bytes: 16 << 20
            })
        );
    }
    assert_eq!(p.stats().failures(), 3);
    // The instance that blew up was discarded; the pool does not leak.
    assert!(p.stats().instances() <= 1);
}

#[test]
fn trapping_plugin_is_counted_then_quarantined() {
    let wasm = fixture("trapper");
    let e = engine()
        .load(PolicyKind::Retention, &wasm, "{}", limits(), "trapper")
        .unwrap_err();
    assert!(matches!(e, PolicyError::Trap(_)), "{e:?}");

    let limits = Limits {
        quarantine_after: 3,
        ..limits()
    };
    let p = engine()
        .load_with(
            PolicyKind::Retention,
            &wasm,
            "{}",
            limits,
            "trapper",
            unchecked(),
        )
        .unwrap();
    let o = object("bronze", "events/1.json");
    for i in 1..=3 {
        let (r, logs) = capture_logs(|| p.retention(&o, NOW));
        assert!(matches!(&r, Err(PolicyError::Trap(_))), "{r:?}");
        assert!(
            logs.contains("plugin panicked")
                && logs.contains("deliberate panic deciding events/1.json"),
            "{logs}"
        );
        assert!(
            logs.contains("trapper") && logs.contains("bronze"),
            "logs name plugin and bucket: {logs}"
        );
        assert_eq!(p.stats().consecutive_failures(), i);
    }
    assert!(p.is_quarantined());
    let t = Instant::now();
    match p.retention(&o, NOW) {
        Err(PolicyError::Quarantined {
            failures: 3,
            last_error,
        }) => assert!(last_error.contains("trapped")),
        other => panic!("{other:?}"),
    }
    // Refused without running the plugin (generous bound for a loaded CI machine).
    assert!(t.elapsed() < Duration::from_millis(250));
    assert_eq!(p.retention_or_safe(&o, NOW), RetentionDecision::none());
    let s = p.stats().snapshot();
    assert_eq!(
        (s.calls, s.failures, s.rejected, s.quarantined),
        (3, 3, 2, true)
    );
    assert_eq!(s.instances, 0, "a quarantined plugin keeps no instances");

    // An operator may lift the quarantine; the plugin runs (and fails) again.
    p.lift_quarantine();
    assert!(matches!(p.retention(&o, NOW), Err(PolicyError::Trap(_))));
    assert!(!p.is_quarantined());
}

#[test]
fn wrong_number_of_actions_is_an_invalid_return() {
    let wasm = fixture("garbage_lifecycle");
    let e = engine()
        .load(PolicyKind::Lifecycle, &wasm, "{}", limits(), "garbage")
        .unwrap_err();
    assert!(
        matches!(&e, PolicyError::InvalidReturn(m) if m.contains("self-check")),
        "{e:?}"
    );

    let p = engine()
        .load_with(
            PolicyKind::Lifecycle,
            &wasm,
            "{}",
            limits(),
            "garbage",
            unchecked(),
        )
        .unwrap();
    let items = vec![
        LifecycleItem::Version(object("b", "k1")),
        LifecycleItem::Version(object("b", "k2")),
    ];
    match p.lifecycle(&items, NOW) {
        Err(PolicyError::InvalidReturn(m)) => assert!(m.contains("3 actions for 2 items"), "{m}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        p.lifecycle_or_keep(&items, NOW),
        [LifecycleAction::Keep, LifecycleAction::Keep]
    );
    assert_eq!(p.stats().failures(), 2);
    // Invalid answers do not poison the instance: it is kept.
    assert_eq!(p.stats().instances(), 1);
}

#[test]
fn sandbox_grants_nothing_and_freezes_the_clock() {
    let p = engine()
        .load(
            PolicyKind::Retention,
            &fixture("wasi_snoop"),
            "{}",
            // The snoop probes (denied filesystem, environment, sockets) take more than the
            // 50 ms containment budget in release builds; this test is about what the sandbox
            // grants, not about the budget.
            Limits {
                time_budget: Duration::from_secs(5),
                ..limits()
            },
            "snoop",
        )
        .unwrap();
    for now in [NOW, NOW + 12_345] {
        let (r, logs) = capture_logs(|| p.retention(&object("raw", "k"), now));
        assert_eq!(r.unwrap(), RetentionDecision::none());
        let summary = format!("wasi-snoop summary: fs=denied env=empty net=denied clock={now}");
        assert!(logs.contains(&summary), "expected `{summary}` in:\n{logs}");
        assert!(!logs.contains("LEAK"), "{logs}");
        assert!(
            logs.contains("snoop") && logs.contains("raw"),
            "logs name plugin and bucket: {logs}"
        );
    }
}

#[test]
fn configure_logs_name_the_bucket_and_a_trap_carries_the_panic_message() {
    // The builtin lifecycle plugin logs its enabled rules from `configure` (debug).
    let wasm = lakegate::policy::builtin::get("lifecycle").unwrap();
    let config = r#"{"rules":[{"id":"r","expiration":{"days":1}}]}"#;
    let (loaded, logs) = capture_logs(|| {
        engine().load_with(
            PolicyKind::Lifecycle,
            wasm,
            config,
            limits(),
            "configured",
            LoadOptions {
                bucket: Some("bronze-42".into()),
                ..LoadOptions::default()
            },
        )
    });
    loaded.unwrap();
    let line = logs
        .lines()
        .find(|l| l.contains("rules enabled"))
        .unwrap_or_else(|| panic!("no configure line in:\n{logs}"));
    assert!(
        line.contains("bronze-42"),
        "configure names the bucket: {line}"
    );

    // A trap's error starts with the guest's own panic message, then the trap.
    let p = engine()
        .load(
            PolicyKind::Retention,
            &fixture("trapper"),
            r#"{"only_keys_containing":"boom"}"#,
            limits(),
            "trapper",
        )
        .unwrap();
    match p.retention(&object("raw", "a/boom"), NOW) {
        Err(PolicyError::Trap(m)) => {
            assert!(
                m.starts_with("plugin panicked: panicked at")
                    && m.contains("trapper: deliberate panic deciding a/boom")
                    && m.contains("wasm trap"),
                "{m}"
            );
            assert!(!m.lines().next().unwrap_or("").is_empty());
        }
        other => panic!("{other:?}"),
    }
}
