//! The lifecycle scanner end to end: the builtin retention and lifecycle plugins bound to a
//! bucket, objects written "in the past" through the adjustable clock, scans through the admin
//! API, and the outcome checked with a real S3 client.

use aws_sdk_s3::types::{ObjectLockLegalHold, ObjectLockLegalHoldStatus};
use serde_json::Value;

use crate::common::TestServer;
use crate::harness::PolicyDir;

const DAY_MS: i64 = 86_400_000;

/// Bronze-like bindings: GOVERNANCE for `days`, disposal after `days`, noncurrent versions after
/// 7 days, expired delete markers removed, uploads aborted after 7 days.
fn medallion_bindings(dir: &PolicyDir, bucket: &str, days: u32) {
    dir.write(
        &format!("{bucket}-retention.toml"),
        format!(
            "bucket = \"{bucket}\"\nkind = \"retention\"\nplugin = \"builtin:retention\"\n\
             [config.default]\nmode = \"GOVERNANCE\"\ndays = {days}\n"
        ),
    );
    dir.write(
        &format!("{bucket}-lifecycle.toml"),
        format!(
            "bucket = \"{bucket}\"\nkind = \"lifecycle\"\nplugin = \"builtin:lifecycle\"\n\
             [[config.rules]]\nid = \"dispose\"\nexpiration = {{ days = {days} }}\n\
             noncurrent_version_expiration = {{ noncurrent_days = 7 }}\n\
             abort_incomplete_multipart_upload = {{ days_after_initiation = 7 }}\n\
             [[config.rules]]\nid = \"markers\"\nexpiration = {{ expired_object_delete_marker = true }}\n"
        ),
    );
}

async fn start(dir: &PolicyDir) -> TestServer {
    TestServer::start_with_env(&[
        ("LAKEGATE_POLICIES", dir.path("").to_str().unwrap()),
        ("LAKEGATE_UNSAFE_ADJUSTABLE_CLOCK", "true"),
        ("LAKEGATE_LOG", "info,lakegate::policy=debug"),
    ])
    .await
}

async fn set_clock(srv: &TestServer, offset_ms: i64) {
    let r = srv
        .raw("PUT", "/lakegate/admin/v1/clock")
        .body(format!("{{\"offset_ms\": {offset_ms}}}"))
        .send()
        .await;
    assert_eq!(r.status, 200, "set clock: {}", r.text());
}

async fn scan(srv: &TestServer, bucket: &str, dry_run: bool) -> Value {
    let mut req = srv.raw(
        "POST",
        &format!("/lakegate/admin/v1/lifecycle/{bucket}/run"),
    );
    if dry_run {
        req = req.query("dry_run", "true");
    }
    let r = req.send().await;
    assert_eq!(r.status, 200, "scan: {}", r.text());
    serde_json::from_slice(&r.body).unwrap()
}

async fn put(srv: &TestServer, bucket: &str, key: &str, body: &str) -> String {
    srv.client()
        .put_object()
        .bucket(bucket)
        .key(key)
        .body(body.as_bytes().to_vec().into())
        .send()
        .await
        .unwrap_or_else(|e| panic!("put {key}: {e:?}"))
        .version_id
        .unwrap_or_default()
}

async fn exists(srv: &TestServer, bucket: &str, key: &str) -> bool {
    srv.client()
        .head_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .is_ok()
}

/// `(version id, is delete marker)` of every version of `key`, newest first.
async fn versions(srv: &TestServer, bucket: &str, key: &str) -> Vec<(String, bool)> {
    let out = srv
        .client()
        .list_object_versions()
        .bucket(bucket)
        .prefix(key)
        .send()
        .await
        .unwrap();
    let mut v: Vec<(i64, String, bool)> = Vec::new();
    for o in out.versions() {
        if o.key() == Some(key) {
            let t = o.last_modified().unwrap().to_millis().unwrap();
            v.push((t, o.version_id().unwrap().to_string(), false));
        }
    }
    for m in out.delete_markers() {
        if m.key() == Some(key) {
            let t = m.last_modified().unwrap().to_millis().unwrap();
            v.push((t, m.version_id().unwrap().to_string(), true));
        }
    }
    v.sort_by_key(|e| std::cmp::Reverse(e.0));
    v.into_iter().map(|(_, id, dm)| (id, dm)).collect()
}

fn action_for<'a>(report: &'a Value, key: &str) -> Vec<&'a Value> {
    report["actions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["key"] == key)
        .collect()
}

#[tokio::test]
async fn bronze_policies_dispose_of_old_data_and_nothing_else() {
    let dir = PolicyDir::new();
    medallion_bindings(&dir, "bronze", 90);
    let srv = start(&dir).await;
    let c = srv.client();

    // Written 100 days ago, overwritten 95 days ago.
    set_clock(&srv, -100 * DAY_MS).await;
    let nc_v1 = put(&srv, "bronze", "nc/e", "v1").await;
    set_clock(&srv, -95 * DAY_MS).await;
    let nc_v2 = put(&srv, "bronze", "nc/e", "v2").await;
    // Written 91 days ago (eligible at the UTC midnight after day 90: already past).
    set_clock(&srv, -91 * DAY_MS).await;
    put(&srv, "bronze", "old/a", "a").await;
    put(&srv, "bronze", "hold/d", "d").await;
    c.put_object_legal_hold()
        .bucket("bronze")
        .key("hold/d")
        .legal_hold(
            ObjectLockLegalHold::builder()
                .status(ObjectLockLegalHoldStatus::On)
                .build(),
        )
        .send()
        .await
        .unwrap();
    // A stale upload (8 days) and a fresh one (1 day).
    set_clock(&srv, -8 * DAY_MS).await;
    let stale = c
        .create_multipart_upload()
        .bucket("bronze")
        .key("up/stale")
        .send()
        .await
        .unwrap();
    set_clock(&srv, -89 * DAY_MS).await;
    put(&srv, "bronze", "young/b", "b").await;
    set_clock(&srv, -DAY_MS).await;
    let fresh = c
        .create_multipart_upload()
        .bucket("bronze")
        .key("up/fresh")
        .send()
        .await
        .unwrap();
    set_clock(&srv, 0).await;
    put(&srv, "bronze", "fresh/c", "c").await;

    // Every write got the retention plugin's 90-day GOVERNANCE lock.
    let r = c
        .get_object_retention()
        .bucket("bronze")
        .key("fresh/c")
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.retention().unwrap().mode().unwrap().as_str(),
        "GOVERNANCE"
    );

    // A dry run predicts, and changes nothing.
    let dry = scan(&srv, "bronze", true).await;
    assert_eq!(dry["dry_run"], true);
    assert_eq!(dry["versions_scanned"], 6, "{dry:#}");
    assert_eq!(dry["uploads_scanned"], 2, "{dry:#}");
    let hold = action_for(&dry, "hold/d");
    assert_eq!(hold.len(), 1, "{dry:#}");
    assert!(
        hold[0]["outcome"].as_str().unwrap().starts_with("locked"),
        "{dry:#}"
    );
    assert_eq!(action_for(&dry, "old/a")[0]["action"], "expire", "{dry:#}");
    assert!(action_for(&dry, "young/b").is_empty(), "{dry:#}");
    assert!(exists(&srv, "bronze", "old/a").await);

    // ... and "on a date": two days on, young/b (89 days old today) is due as well.
    let now_ms = dry["now_ms"].as_u64().unwrap();
    let at = (now_ms + 2 * DAY_MS as u64).to_string();
    let r = srv
        .raw("POST", "/lakegate/admin/v1/lifecycle/bronze/run")
        .query("dry_run", "true")
        .query("at", &at)
        .send()
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let later: Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(later["now_ms"].as_u64(), Some(now_ms + 2 * DAY_MS as u64));
    assert_eq!(
        action_for(&later, "young/b")[0]["action"],
        "expire",
        "{later:#}"
    );
    assert!(exists(&srv, "bronze", "young/b").await);
    // Another time than now is for dry runs only.
    let r = srv
        .raw("POST", "/lakegate/admin/v1/lifecycle/bronze/run")
        .query("at", &at)
        .send()
        .await;
    assert_eq!(r.status, 400, "{}", r.text());

    // The real scan.
    let report = scan(&srv, "bronze", false).await;
    assert_eq!(report["expired"], 2, "old/a and nc/e: {report:#}");
    assert_eq!(report["noncurrent_deleted"], 1, "{report:#}");
    assert_eq!(report["uploads_aborted"], 1, "{report:#}");
    assert_eq!(report["locked"], 1, "hold/d: {report:#}");
    assert_eq!(report["plugin_failures"], 0, "{report:#}");
    assert!(
        !exists(&srv, "bronze", "old/a").await,
        "91 days old: expired"
    );
    assert!(exists(&srv, "bronze", "young/b").await, "89 days old: kept");
    assert!(exists(&srv, "bronze", "fresh/c").await);
    assert!(exists(&srv, "bronze", "hold/d").await, "legal hold: kept");
    // old/a: a delete marker in front of the (now unlocked) version.
    let a = versions(&srv, "bronze", "old/a").await;
    assert_eq!(a.len(), 2, "{a:?}");
    assert!(a[0].1 && !a[1].1, "{a:?}");
    // nc/e: v1 (noncurrent for 95 days) deleted; v2 expired behind a marker.
    let e = versions(&srv, "bronze", "nc/e").await;
    assert_eq!(e.len(), 2, "{e:?}");
    assert!(e[0].1, "{e:?}");
    assert_eq!(e[1].0, nc_v2);
    assert!(e.iter().all(|(id, _)| *id != nc_v1));
    let uploads = c
        .list_multipart_uploads()
        .bucket("bronze")
        .send()
        .await
        .unwrap();
    let ids: Vec<_> = uploads
        .uploads()
        .iter()
        .map(|u| u.upload_id().unwrap().to_string())
        .collect();
    assert_eq!(ids, vec![fresh.upload_id().unwrap().to_string()]);
    assert!(!ids.contains(&stale.upload_id().unwrap().to_string()));

    // Eight days later the expired versions go (grace of 7 days), leaving lone markers...
    set_clock(&srv, 8 * DAY_MS).await;
    let report = scan(&srv, "bronze", false).await;
    assert_eq!(report["noncurrent_deleted"], 2, "{report:#}");
    assert_eq!(versions(&srv, "bronze", "old/a").await.len(), 1);
    // ...which the next scan removes: nothing of old/a is left.
    let report = scan(&srv, "bronze", false).await;
    assert_eq!(report["delete_markers_removed"], 2, "{report:#}");
    assert!(versions(&srv, "bronze", "old/a").await.is_empty());
    assert!(versions(&srv, "bronze", "nc/e").await.is_empty());
    // The legal hold still wins; young/b is past 90 days now and goes.
    assert!(exists(&srv, "bronze", "hold/d").await);
    assert!(!exists(&srv, "bronze", "young/b").await);

    // The last report is kept for the status endpoint.
    let r = srv
        .raw("GET", "/lakegate/admin/v1/lifecycle/bronze")
        .send()
        .await;
    assert_eq!(r.status, 200);
    let status: Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(status["last"]["delete_markers_removed"], 2, "{status:#}");
}

#[tokio::test]
async fn mlflow_production_models_outlive_other_artifacts() {
    let dir = PolicyDir::new();
    dir.write(
        "mlflow-retention.toml",
        "bucket = \"mlflow\"\nkind = \"retention\"\nplugin = \"builtin:retention\"\n\
         [config.default]\nmode = \"GOVERNANCE\"\ndays = 90\n\
         [[config.rules]]\nprefix = \"models/production/\"\nmode = \"GOVERNANCE\"\ndays = 730\n",
    );
    dir.write(
        "mlflow-lifecycle.toml",
        "bucket = \"mlflow\"\nkind = \"lifecycle\"\nplugin = \"builtin:lifecycle\"\n\
         [[config.rules]]\nid = \"artifacts\"\nexpiration = { days = 90 }\n\
         filter = { exclude_prefixes = [\"models/production/\"] }\n\
         [[config.rules]]\nid = \"production\"\nexpiration = { days = 730 }\n\
         filter = { prefix = \"models/production/\" }\n",
    );
    let srv = start(&dir).await;
    set_clock(&srv, -91 * DAY_MS).await;
    put(&srv, "mlflow", "models/production/churn/model.pkl", "m").await;
    put(&srv, "mlflow", "1/abc/artifacts/plot.png", "p").await;
    set_clock(&srv, 0).await;
    let report = scan(&srv, "mlflow", false).await;
    assert_eq!(report["expired"], 1, "{report:#}");
    assert!(exists(&srv, "mlflow", "models/production/churn/model.pkl").await);
    assert!(!exists(&srv, "mlflow", "1/abc/artifacts/plot.png").await);
    // Even a plugin that wanted to could not remove the production model yet: it is locked for
    // 730 days. Two years on, it goes.
    set_clock(&srv, 700 * DAY_MS).await;
    let report = scan(&srv, "mlflow", false).await;
    assert_eq!(report["expired"], 1, "{report:#}");
    assert!(!exists(&srv, "mlflow", "models/production/churn/model.pkl").await);
}

#[tokio::test]
async fn scans_need_a_policy_and_the_clock_needs_the_flag() {
    let dir = PolicyDir::new();
    let srv =
        TestServer::start_with_env(&[("LAKEGATE_POLICIES", dir.path("").to_str().unwrap())]).await;
    let r = srv
        .raw("POST", "/lakegate/admin/v1/lifecycle/bronze/run")
        .send()
        .await;
    assert_eq!(r.status, 404, "{}", r.text());
    assert!(r.text().contains("no lifecycle policy"), "{}", r.text());
    let r = srv
        .raw("PUT", "/lakegate/admin/v1/clock")
        .body("{\"offset_ms\": 5}")
        .send()
        .await;
    assert_eq!(r.status, 409, "{}", r.text());
    // Unsigned: refused like every admin request.
    let r = srv
        .raw("PUT", "/lakegate/admin/v1/clock")
        .anonymous()
        .body("{\"offset_ms\": 5}")
        .send()
        .await;
    assert_eq!(r.status, 403, "{}", r.text());
}

#[tokio::test]
async fn s3_lifecycle_configurations_are_translated_and_enforced() {
    use aws_sdk_s3::types::{
        BucketLifecycleConfiguration, ExpirationStatus, LifecycleExpiration, LifecycleRule,
        LifecycleRuleFilter, NoncurrentVersionExpiration, Transition, TransitionStorageClass,
    };
    let dir = PolicyDir::new();
    medallion_bindings(&dir, "bronze", 90);
    let srv = start(&dir).await;
    let c = srv.client();
    c.create_bucket().bucket("scratch").send().await.unwrap();
    let err = c
        .get_bucket_lifecycle_configuration()
        .bucket("scratch")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        err.as_service_error().and_then(|e| e.meta().code()),
        Some("NoSuchLifecycleConfiguration")
    );
    let rule = |id: &str, prefix: &str, days: i32| {
        LifecycleRule::builder()
            .id(id)
            .status(ExpirationStatus::Enabled)
            .filter(LifecycleRuleFilter::builder().prefix(prefix).build())
            .expiration(LifecycleExpiration::builder().days(days).build())
            .noncurrent_version_expiration(
                NoncurrentVersionExpiration::builder()
                    .noncurrent_days(3)
                    .build(),
            )
            .build()
            .unwrap()
    };
    let put_rule = |bucket: &str, rule: LifecycleRule| {
        c.put_bucket_lifecycle_configuration()
            .bucket(bucket)
            .lifecycle_configuration(
                BucketLifecycleConfiguration::builder()
                    .rules(rule)
                    .build()
                    .unwrap(),
            )
            .send()
    };
    put_rule("scratch", rule("tmp", "tmp/", 1)).await.unwrap();
    let got = c
        .get_bucket_lifecycle_configuration()
        .bucket("scratch")
        .send()
        .await
        .unwrap();
    let r = &got.rules()[0];
    assert_eq!(r.id(), Some("tmp"));
    assert_eq!(r.expiration().unwrap().days(), Some(1));
    assert_eq!(r.filter().unwrap().prefix(), Some("tmp/"));
    assert_eq!(
        r.noncurrent_version_expiration().unwrap().noncurrent_days(),
        Some(3)
    );

    // PUT, HEAD and GET announce when the rule will expire an object (the first midnight UTC
    // a day after the write), and name the rule; other keys get no announcement.
    let out = c
        .put_object()
        .bucket("scratch")
        .key("tmp/announced")
        .body(b"x".to_vec().into())
        .send()
        .await
        .unwrap();
    let announced = out
        .expiration()
        .expect("x-amz-expiration on PUT")
        .to_string();
    assert!(
        announced.starts_with("expiry-date=\"")
            && announced.ends_with("00:00:00 GMT\", rule-id=\"tmp\""),
        "{announced}"
    );
    let head = c
        .head_object()
        .bucket("scratch")
        .key("tmp/announced")
        .send()
        .await
        .unwrap();
    assert_eq!(head.expiration(), Some(announced.as_str()));
    let got = c
        .get_object()
        .bucket("scratch")
        .key("tmp/announced")
        .send()
        .await
        .unwrap();
    assert_eq!(got.expiration(), Some(announced.as_str()));
    let copied = c
        .copy_object()
        .bucket("scratch")
        .key("tmp/copied")
        .copy_source("scratch/tmp/announced")
        .send()
        .await
        .unwrap();
    assert!(
        copied
            .expiration()
            .is_some_and(|e| e.ends_with("rule-id=\"tmp\"")),
        "{copied:?}"
    );
    c.delete_object()
        .bucket("scratch")
        .key("tmp/copied")
        .send()
        .await
        .unwrap();
    let other = c
        .put_object()
        .bucket("scratch")
        .key("keep/quiet")
        .body(b"x".to_vec().into())
        .send()
        .await
        .unwrap();
    assert_eq!(other.expiration(), None);
    c.delete_object()
        .bucket("scratch")
        .key("tmp/announced")
        .send()
        .await
        .unwrap();
    c.delete_object()
        .bucket("scratch")
        .key("keep/quiet")
        .send()
        .await
        .unwrap();

    // Enforced: two days later tmp/ is gone, the rest stays.
    put(&srv, "scratch", "tmp/x", "x").await;
    put(&srv, "scratch", "keep/y", "y").await;
    set_clock(&srv, 2 * DAY_MS).await;
    let report = scan(&srv, "scratch", false).await;
    assert_eq!(report["policy"], "s3-lifecycle-configuration");
    assert_eq!(report["expired"], 1, "{report:#}");
    assert!(!exists(&srv, "scratch", "tmp/x").await);
    assert!(exists(&srv, "scratch", "keep/y").await);

    // What cannot be honoured is refused, not stored.
    let err = put_rule(
        "scratch",
        LifecycleRule::builder()
            .status(ExpirationStatus::Enabled)
            .filter(LifecycleRuleFilter::builder().prefix("").build())
            .transitions(
                Transition::builder()
                    .days(30)
                    .storage_class(TransitionStorageClass::Glacier)
                    .build(),
            )
            .build()
            .unwrap(),
    )
    .await
    .unwrap_err();
    assert_eq!(
        err.as_service_error().and_then(|e| e.meta().code()),
        Some("NotImplemented")
    );
    // The plugin validates the translation (days must be positive).
    let err = put_rule("scratch", rule("zero", "", 0)).await.unwrap_err();
    assert_eq!(
        err.as_service_error().and_then(|e| e.meta().code()),
        Some("InvalidArgument"),
        "{err:?}"
    );
    // A bucket governed by a binding refuses S3 configurations.
    let err = put_rule("bronze", rule("tmp", "tmp/", 1))
        .await
        .unwrap_err();
    assert_eq!(
        err.as_service_error().and_then(|e| e.meta().code()),
        Some("InvalidRequest")
    );
    // A rule as old clients write it (a rule-level Prefix, no ID) comes back as it was put,
    // with the ID the server gave it.
    let legacy = "<LifecycleConfiguration><Rule><Prefix>old/</Prefix><Status>Enabled</Status>\
                  <Expiration><Days>5</Days></Expiration></Rule></LifecycleConfiguration>";
    let r = srv
        .raw("PUT", "/legacy")
        .query("lifecycle", "")
        .send()
        .await;
    assert_eq!(r.status, 404, "no such bucket yet: {}", r.text());
    c.create_bucket().bucket("legacy").send().await.unwrap();
    let r = srv
        .raw("PUT", "/legacy")
        .query("lifecycle", "")
        .body(legacy)
        .send()
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let got = c
        .get_bucket_lifecycle_configuration()
        .bucket("legacy")
        .send()
        .await
        .unwrap();
    let raw = srv
        .raw("GET", "/legacy")
        .query("lifecycle", "")
        .send()
        .await
        .text();
    assert!(
        raw.contains("<Prefix>old/</Prefix>") && !raw.contains("<Filter"),
        "{raw}"
    );
    let id = got.rules()[0].id().unwrap_or_default();
    assert_eq!(id.len(), 32, "{raw}");
    // A Date must be midnight GMT.
    let dated = "<LifecycleConfiguration><Rule><ID>d</ID><Prefix/><Status>Enabled</Status>\
                 <Expiration><Date>2031-01-01T12:00:00Z</Date></Expiration></Rule>\
                 </LifecycleConfiguration>";
    let r = srv
        .raw("PUT", "/legacy")
        .query("lifecycle", "")
        .body(dated)
        .send()
        .await;
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(r.text().contains("midnight GMT"), "{}", r.text());
    // A bucket's lifecycle configuration goes with it: re-created, it has none.
    c.delete_bucket().bucket("legacy").send().await.unwrap();
    c.create_bucket().bucket("legacy").send().await.unwrap();
    let err = c
        .get_bucket_lifecycle_configuration()
        .bucket("legacy")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        err.as_service_error().and_then(|e| e.meta().code()),
        Some("NoSuchLifecycleConfiguration")
    );

    // The first configuration is still the one in force; delete removes it.
    assert_eq!(
        c.get_bucket_lifecycle_configuration()
            .bucket("scratch")
            .send()
            .await
            .unwrap()
            .rules()[0]
            .id(),
        Some("tmp")
    );
    c.delete_bucket_lifecycle()
        .bucket("scratch")
        .send()
        .await
        .unwrap();
    assert!(
        c.get_bucket_lifecycle_configuration()
            .bucket("scratch")
            .send()
            .await
            .is_err()
    );
    let r = srv
        .raw("POST", "/lakegate/admin/v1/lifecycle/scratch/run")
        .send()
        .await;
    assert_eq!(r.status, 404, "{}", r.text());
}

#[tokio::test]
async fn policy_dry_run_cli_prints_the_plan() {
    let dir = PolicyDir::new();
    medallion_bindings(&dir, "bronze", 90);
    let srv = start(&dir).await;
    set_clock(&srv, -91 * DAY_MS).await;
    put(&srv, "bronze", "raw/old.parquet", "a").await;
    set_clock(&srv, 0).await;
    put(&srv, "bronze", "raw/new.parquet", "b").await;
    let cli = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_lakegate"))
            .args(args)
            .args(["--endpoint", &srv.s3_url])
            .env("LAKEGATE_ROOT_USER", crate::common::ROOT_USER)
            .env("LAKEGATE_ROOT_PASSWORD", crate::common::ROOT_PASSWORD)
            .output()
            .unwrap()
    };
    let run = |json: bool| {
        let mut args = vec!["policy", "dry-run", "--bucket", "bronze"];
        if json {
            args.push("--json");
        }
        cli(&args)
    };
    let out = run(false);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("expire") && text.contains("raw/old.parquet"),
        "{text}"
    );
    assert!(!text.contains("raw/new.parquet"), "{text}");
    assert!(text.contains("scanned 2 versions"), "{text}");
    // It says which gateway it asked and what serves the bucket there.
    assert!(text.contains(&format!("gateway: {}", srv.s3_url)), "{text}");
    assert!(
        text.contains("binding: bronze-lifecycle.toml (active)"),
        "{text}"
    );
    // On a date: 95 days on, the new object is due too; nothing moves.
    let out = cli(&["policy", "dry-run", "--bucket", "bronze", "--at", "+95d"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("raw/new.parquet") && text.contains("&at="),
        "{text}"
    );
    let out = cli(&["policy", "dry-run", "--bucket", "bronze", "--at", "+9x"]);
    assert!(!out.status.success());
    // Every binding's state, hash and counters.
    let out = cli(&["policy", "status", "--bucket", "bronze"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(
        text.lines()
            .any(|l| l.starts_with("bronze-lifecycle.toml") && l.contains(" active ")),
        "{text}"
    );
    assert!(!text.contains("silver"), "{text}");
    let out = run(true);
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["dry_run"], true);
    assert_eq!(report["expired"], 1);
    // Nothing was done.
    assert!(exists(&srv, "bronze", "raw/old.parquet").await);
    // Wrong credentials: a clear failure, non-zero exit.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_lakegate"))
        .args([
            "policy",
            "dry-run",
            "--bucket",
            "bronze",
            "--endpoint",
            &srv.s3_url,
        ])
        .env("LAKEGATE_ROOT_USER", "nobody")
        .env("LAKEGATE_ROOT_PASSWORD", "wrong-password")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("403"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
