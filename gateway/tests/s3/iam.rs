//! Users, policies, access keys and bucket policies, end to end: identities made through the
//! admin API, requests made with aws-sdk-s3 under those identities and anonymously.

use crate::common::*;

/// A signed admin request as root: `(status, JSON body)`.
async fn admin(s: &TestServer, method: &str, path: &str, body: &str) -> (u16, serde_json::Value) {
    admin_as(s, (ROOT_USER, ROOT_PASSWORD), method, path, body).await
}

async fn admin_as(
    s: &TestServer,
    creds: (&str, &str),
    method: &str,
    path: &str,
    body: &str,
) -> (u16, serde_json::Value) {
    let r = s
        .raw(method, &format!("/lakegate/admin/v1/{path}"))
        .credentials(creds.0, creds.1)
        .body(body.to_string())
        .send()
        .await;
    let v = serde_json::from_slice(&r.body).unwrap_or(serde_json::Value::Null);
    (r.status, v)
}

fn reader_policy(bucket: &str) -> String {
    serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": ["s3:ListBucket"], "Resource": [format!("arn:aws:s3:::{bucket}")]},
            {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": [format!("arn:aws:s3:::{bucket}/*")]}
        ]
    })
    .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_users_policies_decide_what_it_may_do() {
    let s = TestServer::start().await;
    let b = s.bucket().await;
    let other = s.bucket().await;
    s.put(&b, "data/a.parquet", "rows").await;
    s.put(&other, "x", "secret").await;

    // Bad input first: nothing is stored.
    let (st, v) = admin(&s, "PUT", "iam/users/reader", r#"{"secret_key":"short"}"#).await;
    assert_eq!((st, v["code"].as_str()), (400, Some("BadRequest")), "{v}");
    let (st, _) = admin(
        &s,
        "PUT",
        "iam/users/admin",
        r#"{"secret_key":"long-enough-1"}"#,
    )
    .await;
    assert_eq!(st, 409, "the root user's access key is taken");
    let (st, v) = admin(
        &s,
        "PUT",
        "iam/policies/bad",
        r#"{"Statement":[{"Effect":"Allow","Action":"s3:GetObjekt","Resource":"*"}]}"#,
    )
    .await;
    assert_eq!(
        (st, v["code"].as_str()),
        (400, Some("MalformedPolicy")),
        "{v}"
    );
    assert!(v["error"].as_str().unwrap().contains("s3:GetObjekt"), "{v}");
    let (st, _) = admin(&s, "GET", "iam/policies/bad", "").await;
    assert_eq!(st, 404);

    let (st, v) = admin(
        &s,
        "PUT",
        "iam/users/reader",
        r#"{"secret_key":"reader-secret-1"}"#,
    )
    .await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["status"], "enabled");
    let (st, _) = admin(&s, "PUT", "iam/policies/b-reader", &reader_policy(&b)).await;
    assert_eq!(st, 200);
    let reader = s.client_with("reader", "reader-secret-1");

    // A user without policies may do nothing.
    assert_err(
        reader
            .get_object()
            .bucket(&b)
            .key("data/a.parquet")
            .send()
            .await,
        403,
        "AccessDenied",
    );
    let (st, v) = admin(
        &s,
        "POST",
        "iam/attach",
        r#"{"policies":["b-reader"],"user":"reader"}"#,
    )
    .await;
    assert_eq!(st, 200, "{v}");

    // Now it reads b, and nothing else.
    let got = reader
        .get_object()
        .bucket(&b)
        .key("data/a.parquet")
        .send()
        .await
        .unwrap();
    assert_eq!(
        got.body.collect().await.unwrap().into_bytes().as_ref(),
        b"rows"
    );
    let listed = reader.list_objects_v2().bucket(&b).send().await.unwrap();
    assert_eq!(listed.key_count(), Some(1));
    assert_err(
        reader
            .put_object()
            .bucket(&b)
            .key("new")
            .body(b"x".to_vec().into())
            .send()
            .await,
        403,
        "AccessDenied",
    );
    assert_err(
        reader
            .delete_object()
            .bucket(&b)
            .key("data/a.parquet")
            .send()
            .await,
        403,
        "AccessDenied",
    );
    assert_err(
        reader.get_object().bucket(&other).key("x").send().await,
        403,
        "AccessDenied",
    );
    // ListBuckets shows what it may list.
    let names: Vec<String> = reader
        .list_buckets()
        .send()
        .await
        .unwrap()
        .buckets()
        .iter()
        .filter_map(|b| b.name().map(str::to_string))
        .collect();
    assert_eq!(names, vec![b.clone()]);
    // Nothing was written or deleted.
    assert_eq!(s.get(&b, "data/a.parquet").await, b"rows");
    // The admin API is not its to use.
    let (st, v) = admin_as(&s, ("reader", "reader-secret-1"), "GET", "iam/users", "").await;
    assert_eq!((st, v["code"].as_str()), (403, Some("AccessDenied")));

    // An access key of the user, narrowed to listing: the intersection applies.
    let narrow = serde_json::json!({
        "parent": "reader",
        "policy": {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*"}]}
    });
    let (st, v) = admin(&s, "POST", "iam/access-keys", &narrow.to_string()).await;
    assert_eq!(st, 201, "{v}");
    let (ak, sk) = (
        v["access_key"].as_str().unwrap().to_string(),
        v["secret_key"].as_str().unwrap().to_string(),
    );
    let key = s.client_with(&ak, &sk);
    key.list_objects_v2().bucket(&b).send().await.unwrap();
    assert_err(
        key.get_object()
            .bucket(&b)
            .key("data/a.parquet")
            .send()
            .await,
        403,
        "AccessDenied",
    );
    // And never more than its parent: listing `other` is not the user's to do.
    assert_err(
        key.list_objects_v2().bucket(&other).send().await,
        403,
        "AccessDenied",
    );

    // Disabling the user stops it and its keys on the next request.
    let (st, _) = admin(&s, "POST", "iam/users/reader/disable", "").await;
    assert_eq!(st, 200);
    assert_err(
        reader
            .get_object()
            .bucket(&b)
            .key("data/a.parquet")
            .send()
            .await,
        403,
        "InvalidAccessKeyId",
    );
    assert_err(
        key.list_objects_v2().bucket(&b).send().await,
        403,
        "InvalidAccessKeyId",
    );
    let (st, _) = admin(&s, "POST", "iam/users/reader/enable", "").await;
    assert_eq!(st, 200);
    reader.list_objects_v2().bucket(&b).send().await.unwrap();

    // The policy cannot go while attached; detached, it can.
    let (st, _) = admin(&s, "DELETE", "iam/policies/b-reader", "").await;
    assert_eq!(st, 409);
    let (st, _) = admin(
        &s,
        "POST",
        "iam/detach",
        r#"{"policies":["b-reader"],"user":"reader"}"#,
    )
    .await;
    assert_eq!(st, 200);
    assert_err(
        reader.list_objects_v2().bucket(&b).send().await,
        403,
        "AccessDenied",
    );
    let (st, _) = admin(&s, "DELETE", "iam/policies/b-reader", "").await;
    assert_eq!(st, 200);

    // Secrets are sealed on disk and survive a restart.
    let mut s = s;
    s.restart().await;
    let db = std::fs::read(s.data_dir.join("meta.redb")).unwrap();
    for secret in [b"reader-secret-1".as_slice(), sk.as_bytes()] {
        assert!(
            !db.windows(secret.len()).any(|w| w == secret),
            "a secret is stored in plain text"
        );
    }
    let (st, _) = admin(&s, "PUT", "iam/policies/b-reader", &reader_policy(&b)).await;
    assert_eq!(st, 200);
    let (st, _) = admin(
        &s,
        "POST",
        "iam/attach",
        r#"{"policies":["b-reader"],"user":"reader"}"#,
    )
    .await;
    assert_eq!(st, 200);
    let reader = s.client_with("reader", "reader-secret-1");
    reader.list_objects_v2().bucket(&b).send().await.unwrap();

    // Removing the user removes its keys.
    let (st, _) = admin(&s, "DELETE", "iam/users/reader", "").await;
    assert_eq!(st, 200);
    assert_err(
        reader.list_objects_v2().bucket(&b).send().await,
        403,
        "InvalidAccessKeyId",
    );
    let (st, v) = admin(&s, "GET", "iam/access-keys", "").await;
    assert_eq!(st, 200);
    assert_eq!(v["access_keys"].as_array().unwrap().len(), 0, "{v}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn groups_give_their_members_their_policies() {
    let s = TestServer::start().await;
    let b = s.bucket().await;
    s.put(&b, "k", "v").await;
    for (path, body) in [
        ("iam/users/ana", r#"{"secret_key":"ana-secret-99"}"#),
        ("iam/policies/b-reader", reader_policy(&b).as_str()),
        ("iam/groups/analysts", r#"{"members":["ana"]}"#),
    ] {
        let (st, v) = admin(&s, "PUT", path, body).await;
        assert_eq!(st, 200, "{path}: {v}");
    }
    let (st, v) = admin(
        &s,
        "PUT",
        "iam/groups/analysts",
        r#"{"members":["nobody"]}"#,
    )
    .await;
    assert_eq!(st, 404, "{v}");
    let (st, _) = admin(
        &s,
        "POST",
        "iam/attach",
        r#"{"policies":["b-reader"],"group":"analysts"}"#,
    )
    .await;
    assert_eq!(st, 200);
    let ana = s.client_with("ana", "ana-secret-99");
    ana.get_object().bucket(&b).key("k").send().await.unwrap();
    // A disabled group grants nothing.
    let (st, _) = admin(&s, "POST", "iam/groups/analysts/disable", "").await;
    assert_eq!(st, 200);
    assert_err(
        ana.get_object().bucket(&b).key("k").send().await,
        403,
        "AccessDenied",
    );
    let (st, _) = admin(&s, "POST", "iam/groups/analysts/enable", "").await;
    assert_eq!(st, 200);
    ana.get_object().bucket(&b).key("k").send().await.unwrap();
    // A group with members cannot be removed.
    let (st, _) = admin(&s, "DELETE", "iam/groups/analysts", "").await;
    assert_eq!(st, 409);
    let (st, _) = admin(
        &s,
        "POST",
        "iam/groups/analysts/remove-members",
        r#"{"members":["ana"]}"#,
    )
    .await;
    assert_eq!(st, 200);
    assert_err(
        ana.get_object().bucket(&b).key("k").send().await,
        403,
        "AccessDenied",
    );
    let (st, _) = admin(&s, "DELETE", "iam/groups/analysts", "").await;
    assert_eq!(st, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bucket_policies_open_and_close_a_bucket() {
    let s = TestServer::start().await;
    let b = s.bucket().await;
    s.put(&b, "public/report.csv", "a,b").await;
    s.put(&b, "private/salaries.csv", "x").await;
    let anonymous_get = |key: &str| s.raw_object("GET", &b, key).anonymous().send();

    // No policy: anonymous requests are refused, and there is no policy to read.
    anonymous_get("public/report.csv")
        .await
        .assert_error(403, "AccessDenied");
    assert_err(
        s.client().get_bucket_policy().bucket(&b).send().await,
        404,
        "NoSuchBucketPolicy",
    );

    // Bad documents are refused and nothing is stored.
    // Not JSON; no principal; another bucket; an unknown action.
    for doc in [
        "not json",
        r#"{"Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}]}"#,
        r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::another-bucket/*"}]}"#,
        r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:Nope","Resource":"*"}]}"#,
    ] {
        let doc = doc.replace("arn:aws:s3:::b/", &format!("arn:aws:s3:::{b}/"));
        assert_err(
            s.client()
                .put_bucket_policy()
                .bucket(&b)
                .policy(doc)
                .send()
                .await,
            400,
            "MalformedPolicy",
        );
    }
    assert_err(
        s.client().get_bucket_policy().bucket(&b).send().await,
        404,
        "NoSuchBucketPolicy",
    );

    let policy = serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "PublicReports",
            "Effect": "Allow",
            "Principal": "*",
            "Action": "s3:GetObject",
            "Resource": format!("arn:aws:s3:::{b}/public/*")
        }]
    })
    .to_string();
    s.client()
        .put_bucket_policy()
        .bucket(&b)
        .policy(&policy)
        .send()
        .await
        .unwrap();
    let stored = s
        .client()
        .get_bucket_policy()
        .bucket(&b)
        .send()
        .await
        .unwrap();
    assert_eq!(stored.policy(), Some(policy.as_str()));
    let status = s
        .client()
        .get_bucket_policy_status()
        .bucket(&b)
        .send()
        .await
        .unwrap();
    assert_eq!(
        status.policy_status().and_then(|p| p.is_public()),
        Some(true)
    );

    let r = anonymous_get("public/report.csv").await;
    assert_eq!((r.status, r.text().as_str()), (200, "a,b"));
    anonymous_get("private/salaries.csv")
        .await
        .assert_error(403, "AccessDenied");
    // Anonymous writes stay refused.
    s.raw_object("PUT", &b, "public/evil")
        .anonymous()
        .body("x")
        .send()
        .await
        .assert_error(403, "AccessDenied");

    // A Deny in the bucket policy beats a user's Allow.
    admin(
        &s,
        "PUT",
        "iam/users/writer",
        r#"{"secret_key":"writer-secret-1"}"#,
    )
    .await;
    admin(
        &s,
        "POST",
        "iam/attach",
        r#"{"policies":["readwrite"],"user":"writer"}"#,
    )
    .await;
    let writer = s.client_with("writer", "writer-secret-1");
    writer
        .put_object()
        .bucket(&b)
        .key("private/ok")
        .body(b"1".to_vec().into())
        .send()
        .await
        .unwrap();
    let deny = serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
             "Resource": format!("arn:aws:s3:::{b}/public/*")},
            {"Effect": "Deny", "Principal": {"AWS": ["*"]}, "Action": "s3:DeleteObject",
             "Resource": format!("arn:aws:s3:::{b}/*")}
        ]
    })
    .to_string();
    s.client()
        .put_bucket_policy()
        .bucket(&b)
        .policy(&deny)
        .send()
        .await
        .unwrap();
    assert_err(
        writer
            .delete_object()
            .bucket(&b)
            .key("private/ok")
            .send()
            .await,
        403,
        "AccessDenied",
    );
    // As on AWS, an explicit Deny binds the owning account's root user too...
    assert_err(
        s.client()
            .delete_object()
            .bucket(&b)
            .key("private/ok")
            .send()
            .await,
        403,
        "AccessDenied",
    );
    // ...but never keeps it from removing the policy.
    s.client()
        .delete_bucket_policy()
        .bucket(&b)
        .send()
        .await
        .unwrap();
    s.client()
        .delete_object()
        .bucket(&b)
        .key("private/ok")
        .send()
        .await
        .unwrap();

    // Deleted: closed again, for everyone but root.
    anonymous_get("public/report.csv")
        .await
        .assert_error(403, "AccessDenied");
    // A bucket deleted and created again starts without a policy.
    s.client()
        .put_bucket_policy()
        .bucket(&b)
        .policy(&policy)
        .send()
        .await
        .unwrap();
    for k in ["public/report.csv", "private/salaries.csv"] {
        s.client()
            .delete_object()
            .bucket(&b)
            .key(k)
            .send()
            .await
            .unwrap();
    }
    s.client().delete_bucket().bucket(&b).send().await.unwrap();
    s.client().create_bucket().bucket(&b).send().await.unwrap();
    s.put(&b, "public/report.csv", "a,b").await;
    anonymous_get("public/report.csv")
        .await
        .assert_error(403, "AccessDenied");
}

/// `lakegate admin ...` against the running gateway: (exit success, stdout).
fn cli(s: &TestServer, args: &[&str]) -> (bool, String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_lakegate"))
        .arg("admin")
        .args(args)
        .args(["--endpoint", &s.s3_url])
        .env("LAKEGATE_ROOT_USER", ROOT_USER)
        .env("LAKEGATE_ROOT_PASSWORD", ROOT_PASSWORD)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_command_line_manages_identities() {
    let s = TestServer::start().await;
    let b = s.bucket().await;
    s.put(&b, "k", "v").await;
    let policy = s.root.join("b-reader.json");
    std::fs::write(&policy, reader_policy(&b)).unwrap();

    let (ok, out, err) = cli(&s, &["user", "add", "spark-etl", "spark-secret-1"]);
    assert!(ok, "{out}{err}");
    assert!(out.contains("added spark-etl  enabled"), "{out}");
    let (ok, _, err) = cli(&s, &["user", "add", "x-y", "short"]);
    assert!(!ok && err.contains("refused (400)"), "{err}");
    let (ok, _, err) = cli(
        &s,
        &["policy", "create", "b-reader", policy.to_str().unwrap()],
    );
    assert!(ok, "{err}");
    let (ok, _, err) = cli(&s, &["policy", "attach", "b-reader", "--user", "spark-etl"]);
    assert!(ok, "{err}");
    let (ok, out, _) = cli(&s, &["policy", "ls"]);
    assert!(
        ok && out.lines().any(|l| l == "b-reader") && out.contains("readwrite"),
        "{out}"
    );
    let (ok, out, _) = cli(&s, &["user", "ls", "--json"]);
    assert!(ok);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["users"][0]["policies"][0], "b-reader", "{v}");
    s.client_with("spark-etl", "spark-secret-1")
        .get_object()
        .bucket(&b)
        .key("k")
        .send()
        .await
        .unwrap();

    let (ok, out, err) = cli(&s, &["accesskey", "create", "spark-etl", "--json"]);
    assert!(ok, "{err}");
    let key: serde_json::Value = serde_json::from_str(&out).unwrap();
    let (ak, sk) = (
        key["access_key"].as_str().unwrap().to_string(),
        key["secret_key"].as_str().unwrap().to_string(),
    );
    let keyed = s.client_with(&ak, &sk);
    keyed.get_object().bucket(&b).key("k").send().await.unwrap();
    let (ok, _, err) = cli(&s, &["accesskey", "edit", &ak, "--status", "disabled"]);
    assert!(ok, "{err}");
    assert_err(
        keyed.get_object().bucket(&b).key("k").send().await,
        403,
        "InvalidAccessKeyId",
    );
    let (ok, out, _) = cli(&s, &["accesskey", "ls", "--user", "spark-etl"]);
    assert!(ok && out.contains(&ak) && out.contains("disabled"), "{out}");

    let (ok, _, err) = cli(&s, &["group", "add", "etl", "spark-etl"]);
    assert!(ok, "{err}");
    let (ok, out, _) = cli(&s, &["group", "info", "etl"]);
    assert!(ok && out.contains("members: spark-etl"), "{out}");
    let (ok, _, err) = cli(&s, &["group", "rm", "etl"]);
    assert!(!ok && err.contains("refused (409)"), "{err}");
    let (ok, _, _) = cli(&s, &["group", "rm", "etl", "spark-etl"]);
    assert!(ok);
    let (ok, _, _) = cli(&s, &["group", "rm", "etl"]);
    assert!(ok);
    let (ok, _, _) = cli(&s, &["user", "disable", "spark-etl"]);
    assert!(ok);
    let (ok, out, _) = cli(&s, &["user", "info", "spark-etl"]);
    assert!(ok && out.contains("disabled"), "{out}");
    let (ok, _, _) = cli(&s, &["user", "rm", "spark-etl"]);
    assert!(ok);
    let (ok, out, _) = cli(&s, &["accesskey", "ls"]);
    assert!(ok && out.contains("no access_keys"), "{out}");
}
