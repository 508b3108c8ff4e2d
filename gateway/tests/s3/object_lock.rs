//! Object lock: lock configuration and default retention, retention (GOVERNANCE / COMPLIANCE),
//! legal hold, lock headers on PutObject / CopyObject / CreateMultipartUpload, deletes of
//! locked versions.

use std::time::{SystemTime, UNIX_EPOCH};

use aws_sdk_s3::primitives::DateTime;
use aws_sdk_s3::types::{
    BucketVersioningStatus, CompletedMultipartUpload, CompletedPart, DefaultRetention, Delete,
    ObjectIdentifier, ObjectLockConfiguration, ObjectLockEnabled, ObjectLockLegalHold,
    ObjectLockLegalHoldStatus, ObjectLockMode, ObjectLockRetention, ObjectLockRetentionMode,
    ObjectLockRule, VersioningConfiguration,
};

use crate::common::*;

fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn in_secs(d: i64) -> DateTime {
    DateTime::from_secs(now_secs() + d)
}

async fn put_locked_version(s: &TestServer, b: &str, key: &str) -> String {
    s.client()
        .put_object()
        .bucket(b)
        .key(key)
        .body(body("locked data"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{}", fmt_err(&e)))
        .version_id()
        .expect("version id in lock bucket")
        .to_string()
}

async fn set_retention(
    s: &TestServer,
    b: &str,
    key: &str,
    v: &str,
    mode: ObjectLockRetentionMode,
    until: DateTime,
    bypass: bool,
) -> Result<(), (u16, String)> {
    let mut req = s
        .client()
        .put_object_retention()
        .bucket(b)
        .key(key)
        .version_id(v)
        .retention(
            ObjectLockRetention::builder()
                .mode(mode)
                .retain_until_date(until)
                .build(),
        );
    if bypass {
        req = req.bypass_governance_retention(true);
    }
    match req.send().await {
        Ok(_) => Ok(()),
        Err(e) => Err((
            e.raw_response().map(|r| r.status().as_u16()).unwrap_or(0),
            aws_sdk_s3::error::ProvideErrorMetadata::code(&e)
                .unwrap_or("")
                .to_string(),
        )),
    }
}

async fn delete_version(
    s: &TestServer,
    b: &str,
    key: &str,
    v: &str,
    bypass: bool,
) -> Result<(), (u16, String)> {
    let mut req = s.client().delete_object().bucket(b).key(key).version_id(v);
    if bypass {
        req = req.bypass_governance_retention(true);
    }
    match req.send().await {
        Ok(_) => Ok(()),
        Err(e) => Err((
            e.raw_response().map(|r| r.status().as_u16()).unwrap_or(0),
            aws_sdk_s3::error::ProvideErrorMetadata::code(&e)
                .unwrap_or("")
                .to_string(),
        )),
    }
}

fn denied() -> Result<(), (u16, String)> {
    Err((403, "AccessDenied".to_string()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lock_configuration_on_plain_bucket() {
    let s = TestServer::start().await;
    let b = s.bucket().await;
    let c = s.client();
    assert_err(
        c.get_object_lock_configuration().bucket(&b).send().await,
        404,
        "ObjectLockConfigurationNotFoundError",
    );
    // Lock headers on a bucket without object lock.
    assert_err(
        c.put_object()
            .bucket(&b)
            .key("k")
            .body(body("x"))
            .object_lock_mode(ObjectLockMode::Governance)
            .object_lock_retain_until_date(in_secs(3600))
            .send()
            .await,
        400,
        "InvalidRequest",
    );
    assert_status(c.head_object().bucket(&b).key("k").send().await, 404);
    s.put(&b, "plain", "x").await;
    let (st, code) = expect_err(
        c.put_object_legal_hold()
            .bucket(&b)
            .key("plain")
            .legal_hold(
                ObjectLockLegalHold::builder()
                    .status(ObjectLockLegalHoldStatus::On)
                    .build(),
            )
            .send()
            .await,
    );
    assert_eq!((st, code.as_str()), (400, "InvalidRequest"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lock_bucket_cannot_suspend_versioning() {
    let s = TestServer::start().await;
    let b = s.lock_bucket().await;
    assert_err(
        s.client()
            .put_bucket_versioning()
            .bucket(&b)
            .versioning_configuration(
                VersioningConfiguration::builder()
                    .status(BucketVersioningStatus::Suspended)
                    .build(),
            )
            .send()
            .await,
        409,
        "InvalidBucketState",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn default_retention_applies_to_new_objects() {
    let s = TestServer::start().await;
    let b = s.lock_bucket().await;
    let c = s.client();
    // No rule yet: objects are not locked.
    let v0 = put_locked_version(&s, &b, "before").await;
    let head = c
        .head_object()
        .bucket(&b)
        .key("before")
        .send()
        .await
        .unwrap();
    assert!(head.object_lock_mode().is_none());

    c.put_object_lock_configuration()
        .bucket(&b)
        .object_lock_configuration(
            ObjectLockConfiguration::builder()
                .object_lock_enabled(ObjectLockEnabled::Enabled)
                .rule(
                    ObjectLockRule::builder()
                        .default_retention(
                            DefaultRetention::builder()
                                .mode(ObjectLockRetentionMode::Governance)
                                .days(1)
                                .build(),
                        )
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap_or_else(|e| panic!("{}", fmt_err(&e)));
    let cfg = c
        .get_object_lock_configuration()
        .bucket(&b)
        .send()
        .await
        .unwrap();
    let cfg = cfg.object_lock_configuration().unwrap();
    let dr = cfg.rule().unwrap().default_retention().unwrap();
    assert_eq!(dr.mode(), Some(&ObjectLockRetentionMode::Governance));
    assert_eq!(dr.days(), Some(1));

    let v = put_locked_version(&s, &b, "after").await;
    let head = c
        .head_object()
        .bucket(&b)
        .key("after")
        .send()
        .await
        .unwrap();
    assert_eq!(head.object_lock_mode(), Some(&ObjectLockMode::Governance));
    let until = head.object_lock_retain_until_date().unwrap().secs();
    let want = now_secs() + 86_400;
    assert!(
        (until - want).abs() < 300,
        "retain-until {until} vs ~{want}"
    );
    let ret = c
        .get_object_retention()
        .bucket(&b)
        .key("after")
        .version_id(&v)
        .send()
        .await
        .unwrap();
    let ret = ret.retention().unwrap();
    assert_eq!(ret.mode(), Some(&ObjectLockRetentionMode::Governance));

    // The earlier object is unaffected and deletable; the new one is protected.
    assert_eq!(delete_version(&s, &b, "before", &v0, false).await, Ok(()));
    assert_eq!(delete_version(&s, &b, "after", &v, false).await, denied());
    // Explicit headers override the default.
    c.put_object()
        .bucket(&b)
        .key("explicit")
        .body(body("x"))
        .object_lock_mode(ObjectLockMode::Compliance)
        .object_lock_retain_until_date(in_secs(7200))
        .send()
        .await
        .unwrap();
    let head = c
        .head_object()
        .bucket(&b)
        .key("explicit")
        .send()
        .await
        .unwrap();
    assert_eq!(head.object_lock_mode(), Some(&ObjectLockMode::Compliance));

    // Get retention of an object without retention.
    let (st, code) = expect_err(
        c.get_object_retention()
            .bucket(&b)
            .key("before")
            .send()
            .await,
    );
    assert_eq!(st, 404, "{code}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn governance_retention() {
    let s = TestServer::start().await;
    let b = s.lock_bucket().await;
    let c = s.client();
    let v = put_locked_version(&s, &b, "gov").await;
    let gov = ObjectLockRetentionMode::Governance;
    assert_eq!(
        set_retention(&s, &b, "gov", &v, gov.clone(), in_secs(3600), false).await,
        Ok(())
    );
    let ret = c
        .get_object_retention()
        .bucket(&b)
        .key("gov")
        .version_id(&v)
        .send()
        .await
        .unwrap();
    assert_eq!(ret.retention().unwrap().mode(), Some(&gov));

    // Deleting the version is denied without bypass.
    assert_eq!(delete_version(&s, &b, "gov", &v, false).await, denied());
    // A plain DELETE still adds a delete marker.
    let d = c
        .delete_object()
        .bucket(&b)
        .key("gov")
        .send()
        .await
        .unwrap();
    assert_eq!(d.delete_marker(), Some(true));
    assert_err(
        c.get_object().bucket(&b).key("gov").send().await,
        404,
        "NoSuchKey",
    );
    let out = c
        .get_object()
        .bucket(&b)
        .key("gov")
        .version_id(&v)
        .send()
        .await
        .unwrap();
    assert_eq!(read_body(out).await, b"locked data");

    // Extending is allowed; shortening needs bypass.
    assert_eq!(
        set_retention(&s, &b, "gov", &v, gov.clone(), in_secs(7200), false).await,
        Ok(())
    );
    assert_eq!(
        set_retention(&s, &b, "gov", &v, gov.clone(), in_secs(600), false).await,
        denied()
    );
    assert_eq!(
        set_retention(&s, &b, "gov", &v, gov.clone(), in_secs(600), true).await,
        Ok(())
    );
    // Governance → compliance is allowed (stricter).
    // Deletion with bypass succeeds.
    assert_eq!(delete_version(&s, &b, "gov", &v, true).await, Ok(()));
    assert_err(
        c.get_object()
            .bucket(&b)
            .key("gov")
            .version_id(&v)
            .send()
            .await,
        404,
        "NoSuchVersion",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compliance_retention() {
    let s = TestServer::start().await;
    let b = s.lock_bucket().await;
    let c = s.client();
    let v = put_locked_version(&s, &b, "comp").await;
    let comp = ObjectLockRetentionMode::Compliance;
    assert_eq!(
        set_retention(&s, &b, "comp", &v, comp.clone(), in_secs(3600), false).await,
        Ok(())
    );
    // Cannot delete, even with bypass.
    assert_eq!(delete_version(&s, &b, "comp", &v, false).await, denied());
    assert_eq!(delete_version(&s, &b, "comp", &v, true).await, denied());
    // Cannot shorten, even with bypass; cannot switch to governance.
    assert_eq!(
        set_retention(&s, &b, "comp", &v, comp.clone(), in_secs(60), true).await,
        denied()
    );
    assert_eq!(
        set_retention(
            &s,
            &b,
            "comp",
            &v,
            ObjectLockRetentionMode::Governance,
            in_secs(7200),
            true
        )
        .await,
        denied()
    );
    // Can extend.
    assert_eq!(
        set_retention(&s, &b, "comp", &v, comp.clone(), in_secs(7200), false).await,
        Ok(())
    );
    let head = c
        .head_object()
        .bucket(&b)
        .key("comp")
        .version_id(&v)
        .send()
        .await
        .unwrap();
    assert_eq!(head.object_lock_mode(), Some(&ObjectLockMode::Compliance));
    let until = head.object_lock_retain_until_date().unwrap().secs();
    assert!((until - (now_secs() + 7200)).abs() < 120);
    // Overwriting the key creates a new version; the locked one stays.
    s.put(&b, "comp", "newer").await;
    let out = c
        .get_object()
        .bucket(&b)
        .key("comp")
        .version_id(&v)
        .send()
        .await
        .unwrap();
    assert_eq!(read_body(out).await, b"locked data");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_in_the_past_is_rejected() {
    let s = TestServer::start().await;
    let b = s.lock_bucket().await;
    let v = put_locked_version(&s, &b, "k").await;
    let r = set_retention(
        &s,
        &b,
        "k",
        &v,
        ObjectLockRetentionMode::Governance,
        in_secs(-3600),
        false,
    )
    .await;
    assert_eq!(r.map_err(|e| e.0), Err(400));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn legal_hold() {
    let s = TestServer::start().await;
    let b = s.lock_bucket().await;
    let c = s.client();
    let v = put_locked_version(&s, &b, "held").await;
    let hold = |st: ObjectLockLegalHoldStatus| {
        c.put_object_legal_hold()
            .bucket(&b)
            .key("held")
            .version_id(&v)
            .legal_hold(ObjectLockLegalHold::builder().status(st).build())
            .send()
    };
    hold(ObjectLockLegalHoldStatus::On)
        .await
        .unwrap_or_else(|e| panic!("{}", fmt_err(&e)));
    let out = c
        .get_object_legal_hold()
        .bucket(&b)
        .key("held")
        .version_id(&v)
        .send()
        .await
        .unwrap();
    assert_eq!(
        out.legal_hold().unwrap().status(),
        Some(&ObjectLockLegalHoldStatus::On)
    );
    let head = c.head_object().bucket(&b).key("held").send().await.unwrap();
    assert_eq!(
        head.object_lock_legal_hold_status(),
        Some(&ObjectLockLegalHoldStatus::On)
    );
    // Even bypass cannot delete a version under legal hold.
    assert_eq!(delete_version(&s, &b, "held", &v, false).await, denied());
    assert_eq!(delete_version(&s, &b, "held", &v, true).await, denied());
    hold(ObjectLockLegalHoldStatus::Off).await.unwrap();
    let out = c
        .get_object_legal_hold()
        .bucket(&b)
        .key("held")
        .version_id(&v)
        .send()
        .await
        .unwrap();
    assert_eq!(
        out.legal_hold().unwrap().status(),
        Some(&ObjectLockLegalHoldStatus::Off)
    );
    assert_eq!(delete_version(&s, &b, "held", &v, false).await, Ok(()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lock_headers_on_put_copy_and_multipart() {
    let s = TestServer::start().await;
    let b = s.lock_bucket().await;
    let c = s.client();
    let until = in_secs(3600);
    let out = c
        .put_object()
        .bucket(&b)
        .key("p")
        .body(body("put"))
        .object_lock_mode(ObjectLockMode::Governance)
        .object_lock_retain_until_date(until)
        .object_lock_legal_hold_status(ObjectLockLegalHoldStatus::On)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{}", fmt_err(&e)));
    let vp = out.version_id().unwrap().to_string();
    let head = c.head_object().bucket(&b).key("p").send().await.unwrap();
    assert_eq!(head.object_lock_mode(), Some(&ObjectLockMode::Governance));
    assert_eq!(
        head.object_lock_retain_until_date().map(|d| d.secs()),
        Some(until.secs())
    );
    assert_eq!(
        head.object_lock_legal_hold_status(),
        Some(&ObjectLockLegalHoldStatus::On)
    );
    assert_eq!(delete_version(&s, &b, "p", &vp, true).await, denied());

    // Mode without a date (or the reverse) is invalid.
    let (st, _) = expect_err(
        c.put_object()
            .bucket(&b)
            .key("half")
            .body(body("x"))
            .object_lock_mode(ObjectLockMode::Governance)
            .send()
            .await,
    );
    assert_eq!(st, 400);

    // Copy with lock headers.
    let out = c
        .copy_object()
        .bucket(&b)
        .key("copied")
        .copy_source(format!("{b}/p"))
        .object_lock_mode(ObjectLockMode::Compliance)
        .object_lock_retain_until_date(until)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{}", fmt_err(&e)));
    let vc = out.version_id().unwrap().to_string();
    let head = c
        .head_object()
        .bucket(&b)
        .key("copied")
        .send()
        .await
        .unwrap();
    assert_eq!(head.object_lock_mode(), Some(&ObjectLockMode::Compliance));
    assert_eq!(delete_version(&s, &b, "copied", &vc, true).await, denied());

    // Multipart with lock headers on Create.
    let up = c
        .create_multipart_upload()
        .bucket(&b)
        .key("mp")
        .object_lock_mode(ObjectLockMode::Governance)
        .object_lock_retain_until_date(until)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{}", fmt_err(&e)));
    let id = up.upload_id().unwrap();
    let part = c
        .upload_part()
        .bucket(&b)
        .key("mp")
        .upload_id(id)
        .part_number(1)
        .body(body("multipart locked"))
        .send()
        .await
        .unwrap();
    let done = c
        .complete_multipart_upload()
        .bucket(&b)
        .key("mp")
        .upload_id(id)
        .multipart_upload(
            CompletedMultipartUpload::builder()
                .parts(
                    CompletedPart::builder()
                        .part_number(1)
                        .e_tag(part.e_tag().unwrap())
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    let vm = done.version_id().unwrap().to_string();
    let head = c.head_object().bucket(&b).key("mp").send().await.unwrap();
    assert_eq!(head.object_lock_mode(), Some(&ObjectLockMode::Governance));
    assert_eq!(delete_version(&s, &b, "mp", &vm, false).await, denied());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_objects_with_a_locked_version() {
    let s = TestServer::start().await;
    let b = s.lock_bucket().await;
    let c = s.client();
    let locked = put_locked_version(&s, &b, "locked").await;
    set_retention(
        &s,
        &b,
        "locked",
        &locked,
        ObjectLockRetentionMode::Compliance,
        in_secs(3600),
        false,
    )
    .await
    .unwrap();
    let free = put_locked_version(&s, &b, "free").await;
    let free2 = put_locked_version(&s, &b, "free2").await;
    for quiet in [false, true] {
        let out = c
            .delete_objects()
            .bucket(&b)
            .delete(
                Delete::builder()
                    .objects(
                        ObjectIdentifier::builder()
                            .key("locked")
                            .version_id(&locked)
                            .build()
                            .unwrap(),
                    )
                    .objects(
                        ObjectIdentifier::builder()
                            .key(if quiet { "free2" } else { "free" })
                            .version_id(if quiet { &free2 } else { &free })
                            .build()
                            .unwrap(),
                    )
                    .quiet(quiet)
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap_or_else(|e| panic!("{}", fmt_err(&e)));
        let errs: Vec<(&str, &str, &str)> = out
            .errors()
            .iter()
            .map(|e| {
                (
                    e.key().unwrap_or(""),
                    e.version_id().unwrap_or(""),
                    e.code().unwrap_or(""),
                )
            })
            .collect();
        assert_eq!(
            errs,
            vec![("locked", locked.as_str(), "AccessDenied")],
            "quiet={quiet}"
        );
        if quiet {
            assert!(out.deleted().is_empty());
        } else {
            let del: Vec<&str> = out.deleted().iter().filter_map(|d| d.key()).collect();
            assert_eq!(del, vec!["free"]);
        }
    }
    assert_err(
        c.get_object()
            .bucket(&b)
            .key("free")
            .version_id(&free)
            .send()
            .await,
        404,
        "NoSuchVersion",
    );
    let out = c
        .get_object()
        .bucket(&b)
        .key("locked")
        .version_id(&locked)
        .send()
        .await
        .unwrap();
    assert_eq!(read_body(out).await, b"locked data");
}
