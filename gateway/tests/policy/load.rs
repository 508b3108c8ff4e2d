//! Loading: each kind loads and decides; what is refused at load, and why.

use lakegate::policy::{
    BackupStep, ChangeEvent, ChangeKind, LifecycleAction, LifecycleItem, ObjectVersion,
    PolicyError, PolicyKind, RetentionDecision, TargetEntry,
};
use lakegate::store::{Retention, RetentionMode};

use crate::common::*;

#[test]
fn fixed_retention_decides() {
    let config = r#"{"mode": "COMPLIANCE", "days": 30,
        "prefixes": {"models/": 365, "models/production/": 730}, "legal_hold_tag": "hold"}"#;
    let p = engine()
        .load(
            PolicyKind::Retention,
            &fixture("fixed_retention"),
            config,
            limits(),
            "fixed",
        )
        .unwrap();
    assert_eq!(p.kind(), PolicyKind::Retention);
    assert_eq!(p.label(), "fixed");
    assert_eq!(p.hash().len(), 64);

    let d = p
        .retention(&object("silver", "raw/x.parquet"), NOW)
        .unwrap();
    let retain = |days: i64| {
        Some(Retention {
            mode: RetentionMode::Compliance,
            retain_until: NOW + days * DAY,
        })
    };
    assert_eq!(
        d,
        RetentionDecision {
            retention: retain(30),
            legal_hold: false
        }
    );
    let d = p
        .retention(&object("silver", "models/production/m.bin"), NOW)
        .unwrap();
    assert_eq!(d.retention, retain(730));
    let d = p
        .retention(&object("silver", "models/staging/m.bin"), NOW)
        .unwrap();
    assert_eq!(d.retention, retain(365));

    let mut held = object("silver", "raw/y");
    held.tags.push(("hold".into(), "case-42".into()));
    assert!(p.retention(&held, NOW).unwrap().legal_hold);

    let marker = ObjectVersion {
        is_delete_marker: true,
        ..object("silver", "raw/z")
    };
    assert_eq!(
        p.retention(&marker, NOW).unwrap(),
        RetentionDecision::none()
    );

    let s = p.stats().snapshot();
    assert_eq!((s.calls, s.failures, s.quarantined), (5, 0, false));
}

#[test]
fn age_lifecycle_decides() {
    let p = engine()
        .load(
            PolicyKind::Lifecycle,
            &fixture("age_lifecycle"),
            r#"{"days": 30}"#,
            limits(),
            "age",
        )
        .unwrap();
    let old_latest = ObjectVersion {
        last_modified: NOW - 31 * DAY,
        ..object("b", "old")
    };
    let young_latest = ObjectVersion {
        last_modified: NOW - 29 * DAY,
        ..object("b", "young")
    };
    let noncurrent = |since_days: i64| ObjectVersion {
        is_latest: false,
        newer_versions: 1,
        last_modified: NOW - 100 * DAY,
        noncurrent_since: Some(NOW - since_days * DAY),
        ..object("b", "nc")
    };
    let items = vec![
        LifecycleItem::Version(old_latest),
        LifecycleItem::Version(young_latest),
        LifecycleItem::Version(noncurrent(40)),
        LifecycleItem::Version(noncurrent(10)),
        LifecycleItem::Upload(upload("b", "u-old", NOW - 30 * DAY)),
        LifecycleItem::Upload(upload("b", "u-new", NOW - DAY)),
    ];
    use LifecycleAction::*;
    assert_eq!(
        p.lifecycle(&items, NOW).unwrap(),
        [Expire, Keep, ExpireNoncurrent, Keep, AbortUpload, Keep]
    );
    assert_eq!(p.lifecycle(&[], NOW).unwrap(), []);

    // Batches beyond one chunk (1000 items) come back whole and in order.
    let many: Vec<_> = (0..2500).map(|i| items[i % items.len()].clone()).collect();
    let actions = p.lifecycle(&many, NOW).unwrap();
    assert_eq!(actions.len(), many.len());
    let expected = [Expire, Keep, ExpireNoncurrent, Keep, AbortUpload, Keep];
    assert!(
        actions
            .iter()
            .enumerate()
            .all(|(i, a)| *a == expected[i % expected.len()])
    );
}

#[test]
fn mirror_backup_plans() {
    let p = engine()
        .load(
            PolicyKind::Backup,
            &fixture("mirror_backup"),
            r#"{"propagate_deletes": true}"#,
            limits(),
            "mirror",
        )
        .unwrap();
    let a = object("gold", "a");
    let marker = ObjectVersion {
        is_delete_marker: true,
        ..object("gold", "b")
    };
    let events = vec![
        ChangeEvent {
            kind: ChangeKind::Created,
            object: a.clone(),
        },
        ChangeEvent {
            kind: ChangeKind::Removed,
            object: marker,
        },
    ];
    let steps = p.backup_changes(&events, NOW).unwrap();
    assert_eq!(
        steps,
        [
            BackupStep::Copy {
                object: a.clone(),
                path: "a".into()
            },
            BackupStep::Delete { path: "b".into() }
        ]
    );

    let same = object("gold", "same");
    let changed = ObjectVersion {
        etag: "new-etag".into(),
        ..object("gold", "changed")
    };
    let new = object("gold", "new");
    let entry = |o: &ObjectVersion, etag: &str| TargetEntry {
        path: o.key.clone(),
        source_key: o.key.clone(),
        size: o.size,
        source_etag: etag.into(),
        source_version_id: o.version_id.clone(),
    };
    let existing = vec![
        entry(&same, &same.etag),
        entry(&changed, "old-etag"),
        TargetEntry {
            path: "orphan".into(),
            source_key: "orphan".into(),
            size: 1,
            source_etag: "e".into(),
            source_version_id: "v".into(),
        },
    ];
    let steps = p
        .backup_full(&[same, changed.clone(), new.clone()], &existing, NOW)
        .unwrap();
    assert_eq!(
        steps,
        [
            BackupStep::Copy {
                object: changed,
                path: "changed".into()
            },
            BackupStep::Copy {
                object: new,
                path: "new".into()
            },
            BackupStep::Delete {
                path: "orphan".into()
            },
        ]
    );
}

#[test]
fn configuration_errors_surface() {
    let e = engine()
        .load(
            PolicyKind::Retention,
            &fixture("bad_config"),
            "{}",
            limits(),
            "bad",
        )
        .unwrap_err();
    match e {
        PolicyError::Configure(m) => {
            assert!(m.contains("bad-config rejects every configuration"), "{m}")
        }
        other => panic!("{other:?}"),
    }
    let wasm = fixture("fixed_retention");
    let e = engine()
        .load(
            PolicyKind::Retention,
            &wasm,
            r#"{"mode": "SOFT", "days": 1}"#,
            limits(),
            "fixed",
        )
        .unwrap_err();
    assert!(
        matches!(&e, PolicyError::Configure(m) if m.contains("unknown variant `SOFT`")),
        "{e:?}"
    );
    let e = engine()
        .load(
            PolicyKind::Retention,
            &wasm,
            r#"{"mode": "#,
            limits(),
            "fixed",
        )
        .unwrap_err();
    assert!(
        matches!(&e, PolicyError::Configure(m) if m.contains("not valid JSON")),
        "{e:?}"
    );
}

#[test]
fn wrong_world_is_refused() {
    let wasm = fixture("fixed_retention");
    let e = engine()
        .load(PolicyKind::Lifecycle, &wasm, "{}", limits(), "x")
        .unwrap_err();
    match e {
        PolicyError::WrongWorld { expected, detail } => {
            assert_eq!(expected, PolicyKind::Lifecycle);
            assert!(
                detail.contains("lifecycle-policy") && detail.contains("it implements: retention"),
                "{detail}"
            );
        }
        other => panic!("{other:?}"),
    }
    // Calling a loaded plugin as another kind is refused without running it.
    let p = engine()
        .load(
            PolicyKind::Retention,
            &wasm,
            r#"{"mode": "GOVERNANCE", "days": 1}"#,
            limits(),
            "x",
        )
        .unwrap();
    assert!(matches!(
        p.lifecycle(&[], NOW),
        Err(PolicyError::WrongWorld { .. })
    ));
    assert!(matches!(
        p.backup_changes(&[], NOW),
        Err(PolicyError::WrongWorld { .. })
    ));
    assert_eq!(p.stats().calls(), 0);
}

#[test]
fn check_reports_worlds() {
    let e = engine();
    assert_eq!(
        e.check(&fixture("fixed_retention")).unwrap(),
        [PolicyKind::Retention]
    );
    assert_eq!(
        e.check(&fixture("age_lifecycle")).unwrap(),
        [PolicyKind::Lifecycle]
    );
    assert_eq!(
        e.check(&fixture("mirror_backup")).unwrap(),
        [PolicyKind::Backup]
    );
    assert!(matches!(
        e.check(&fixture("bad_import")),
        Err(PolicyError::Link(_))
    ));
}

#[test]
fn ungranted_imports_are_refused_at_load() {
    let e = engine()
        .load(
            PolicyKind::Retention,
            &fixture("bad_import"),
            "{}",
            limits(),
            "evil",
        )
        .unwrap_err();
    match e {
        PolicyError::Link(m) => assert!(m.contains("evil:steal/files"), "{m}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn not_components_are_refused() {
    // Deterministic garbage.
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let random: Vec<u8> = (0..4096)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    let core_module = b"\0asm\x01\0\0\0".to_vec();
    for (what, bytes) in [
        ("random", random),
        ("core module", core_module),
        ("empty", Vec::new()),
    ] {
        match engine().load(PolicyKind::Retention, &bytes, "{}", limits(), what) {
            Err(PolicyError::NotAComponent(m)) => {
                if what == "core module" {
                    assert!(m.contains("core WebAssembly module"), "{m}");
                }
            }
            other => panic!("{what}: {other:?}"),
        }
    }
    // A component header followed by garbage is a compile error, not a crash.
    let mut truncated = fixture("fixed_retention");
    truncated.truncate(200);
    assert!(matches!(
        engine().check(&truncated),
        Err(PolicyError::Compile(_))
    ));
}
