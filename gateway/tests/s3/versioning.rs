//! Versioning: Put/GetBucketVersioning, version ids, delete markers, `null` versions,
//! ListObjectVersions pagination, Get/Head/Delete/Copy with versionId.

use aws_sdk_s3::types::{BucketVersioningStatus, VersioningConfiguration};

use crate::common::*;

async fn set_versioning(s: &TestServer, b: &str, status: BucketVersioningStatus) {
    s.client()
        .put_bucket_versioning()
        .bucket(b)
        .versioning_configuration(VersioningConfiguration::builder().status(status).build())
        .send()
        .await
        .unwrap_or_else(|e| panic!("{}", fmt_err(&e)));
}

async fn put_v(s: &TestServer, b: &str, key: &str, data: &str) -> String {
    s.client()
        .put_object()
        .bucket(b)
        .key(key)
        .body(body(data.to_string()))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{}", fmt_err(&e)))
        .version_id()
        .expect("versioned PUT returns x-amz-version-id")
        .to_string()
}

async fn get_v(s: &TestServer, b: &str, key: &str, v: &str) -> Vec<u8> {
    let out = s
        .client()
        .get_object()
        .bucket(b)
        .key(key)
        .version_id(v)
        .send()
        .await
        .unwrap_or_else(|e| panic!("get {key}@{v}: {}", fmt_err(&e)));
    if v == "null" {
        // A never-versioned bucket may omit x-amz-version-id for the null version.
        assert!(
            matches!(out.version_id(), None | Some("null")),
            "{:?}",
            out.version_id()
        );
    } else {
        assert_eq!(out.version_id(), Some(v));
    }
    read_body(out).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn versioning_status_transitions() {
    let s = TestServer::start().await;
    let b = s.bucket().await;
    let c = s.client();
    let out = c.get_bucket_versioning().bucket(&b).send().await.unwrap();
    assert_eq!(out.status(), None, "new bucket: versioning never enabled");
    set_versioning(&s, &b, BucketVersioningStatus::Enabled).await;
    let out = c.get_bucket_versioning().bucket(&b).send().await.unwrap();
    assert_eq!(out.status(), Some(&BucketVersioningStatus::Enabled));
    set_versioning(&s, &b, BucketVersioningStatus::Suspended).await;
    let out = c.get_bucket_versioning().bucket(&b).send().await.unwrap();
    assert_eq!(out.status(), Some(&BucketVersioningStatus::Suspended));
    // Invalid status value.
    let r = s
        .raw("PUT", &format!("/{b}"))
        .query("versioning", "")
        .body(
            "<VersioningConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">\
             <Status>Sometimes</Status></VersioningConfiguration>",
        )
        .send()
        .await;
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(
        matches!(
            r.code().as_deref(),
            Some("MalformedXML") | Some("IllegalVersioningConfigurationException")
        ),
        "{}",
        r.text()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn versions_and_get_by_version_id() {
    let s = TestServer::start().await;
    let b = s.versioned_bucket().await;
    let c = s.client();
    let v1 = put_v(&s, &b, "doc", "one").await;
    let v2 = put_v(&s, &b, "doc", "two").await;
    let v3 = put_v(&s, &b, "doc", "three").await;
    assert!(v1 != v2 && v2 != v3 && v1 != v3);
    assert!(v1 != "null");
    assert_eq!(s.get(&b, "doc").await, b"three");
    assert_eq!(get_v(&s, &b, "doc", &v1).await, b"one");
    assert_eq!(get_v(&s, &b, "doc", &v2).await, b"two");
    let head = c
        .head_object()
        .bucket(&b)
        .key("doc")
        .version_id(&v2)
        .send()
        .await
        .unwrap();
    assert_eq!(head.content_length(), Some(3));
    assert_eq!(head.version_id(), Some(v2.as_str()));
    let head = c.head_object().bucket(&b).key("doc").send().await.unwrap();
    assert_eq!(head.version_id(), Some(v3.as_str()));

    let out = c.list_object_versions().bucket(&b).send().await.unwrap();
    let versions: Vec<(String, bool)> = out
        .versions()
        .iter()
        .map(|v| (v.version_id().unwrap().to_string(), v.is_latest().unwrap()))
        .collect();
    // Newest first.
    assert_eq!(
        versions,
        vec![(v3.clone(), true), (v2.clone(), false), (v1.clone(), false)]
    );
    assert!(out.delete_markers().is_empty());
    for v in out.versions() {
        assert_eq!(v.key(), Some("doc"));
        assert!(v.e_tag().is_some() && v.size().is_some() && v.last_modified().is_some());
    }

    // Delete a specific version: permanently removed, others stay.
    let del = c
        .delete_object()
        .bucket(&b)
        .key("doc")
        .version_id(&v2)
        .send()
        .await
        .unwrap();
    assert_eq!(del.version_id(), Some(v2.as_str()));
    assert_ne!(del.delete_marker(), Some(true));
    assert_err(
        c.get_object()
            .bucket(&b)
            .key("doc")
            .version_id(&v2)
            .send()
            .await,
        404,
        "NoSuchVersion",
    );
    assert_eq!(get_v(&s, &b, "doc", &v1).await, b"one");
    // Deleting the latest version makes the previous one current.
    c.delete_object()
        .bucket(&b)
        .key("doc")
        .version_id(&v3)
        .send()
        .await
        .unwrap();
    assert_eq!(s.get(&b, "doc").await, b"one");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_markers() {
    let s = TestServer::start().await;
    let b = s.versioned_bucket().await;
    let c = s.client();
    let v1 = put_v(&s, &b, "k", "data").await;
    let del = c.delete_object().bucket(&b).key("k").send().await.unwrap();
    assert_eq!(del.delete_marker(), Some(true));
    let marker = del
        .version_id()
        .expect("delete marker version id")
        .to_string();
    assert_ne!(marker, v1);

    // GET of the key: 404 NoSuchKey with x-amz-delete-marker: true.
    let e = c.get_object().bucket(&b).key("k").send().await.unwrap_err();
    assert_eq!(e.raw_response().unwrap().status().as_u16(), 404);
    assert_eq!(
        aws_sdk_s3::error::ProvideErrorMetadata::code(&e),
        Some("NoSuchKey")
    );
    assert_eq!(
        err_header(&e, "x-amz-delete-marker").as_deref(),
        Some("true")
    );
    let e = c
        .head_object()
        .bucket(&b)
        .key("k")
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.raw_response().unwrap().status().as_u16(), 404);
    assert_eq!(
        err_header(&e, "x-amz-delete-marker").as_deref(),
        Some("true")
    );

    // GET/HEAD with the marker's version id: 405 MethodNotAllowed.
    let e = c
        .get_object()
        .bucket(&b)
        .key("k")
        .version_id(&marker)
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.raw_response().unwrap().status().as_u16(), 405);
    assert_eq!(
        aws_sdk_s3::error::ProvideErrorMetadata::code(&e),
        Some("MethodNotAllowed")
    );
    assert_eq!(
        err_header(&e, "x-amz-delete-marker").as_deref(),
        Some("true")
    );
    assert_status(
        c.head_object()
            .bucket(&b)
            .key("k")
            .version_id(&marker)
            .send()
            .await,
        405,
    );

    // The old version is still readable; listings hide the key.
    assert_eq!(get_v(&s, &b, "k", &v1).await, b"data");
    let list = c.list_objects_v2().bucket(&b).send().await.unwrap();
    assert_eq!(list.key_count(), Some(0));
    let out = c.list_object_versions().bucket(&b).send().await.unwrap();
    let dms: Vec<(String, bool)> = out
        .delete_markers()
        .iter()
        .map(|d| (d.version_id().unwrap().to_string(), d.is_latest().unwrap()))
        .collect();
    assert_eq!(dms, vec![(marker.clone(), true)]);
    assert_eq!(out.versions().len(), 1);
    assert_eq!(out.versions()[0].is_latest(), Some(false));

    // A second plain delete stacks another marker.
    let del2 = c.delete_object().bucket(&b).key("k").send().await.unwrap();
    assert_eq!(del2.delete_marker(), Some(true));
    let marker2 = del2.version_id().unwrap().to_string();
    assert_ne!(marker2, marker);

    // Removing the markers by version id restores the object.
    for m in [&marker2, &marker] {
        let out = c
            .delete_object()
            .bucket(&b)
            .key("k")
            .version_id(m)
            .send()
            .await
            .unwrap();
        assert_eq!(
            out.delete_marker(),
            Some(true),
            "deleting a marker reports DeleteMarker"
        );
    }
    assert_eq!(s.get(&b, "k").await, b"data");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unversioned_and_suspended_null_versions() {
    let s = TestServer::start().await;
    let b = s.bucket().await;
    let c = s.client();
    // Unversioned: no version id header; listed as "null".
    let out = c
        .put_object()
        .bucket(&b)
        .key("k")
        .body(body("pre"))
        .send()
        .await
        .unwrap();
    assert!(
        out.version_id().is_none() || out.version_id() == Some("null"),
        "unversioned PUT version id {:?}",
        out.version_id()
    );
    let out = c.list_object_versions().bucket(&b).send().await.unwrap();
    assert_eq!(out.versions().len(), 1);
    assert_eq!(out.versions()[0].version_id(), Some("null"));
    assert_eq!(get_v(&s, &b, "k", "null").await, b"pre");

    // Enable: the pre-existing object keeps version "null".
    set_versioning(&s, &b, BucketVersioningStatus::Enabled).await;
    let v1 = put_v(&s, &b, "k", "enabled-1").await;
    assert_ne!(v1, "null");
    assert_eq!(get_v(&s, &b, "k", "null").await, b"pre");

    // Suspend: new writes get "null" and replace the null version.
    set_versioning(&s, &b, BucketVersioningStatus::Suspended).await;
    let out = c
        .put_object()
        .bucket(&b)
        .key("k")
        .body(body("suspended-1"))
        .send()
        .await
        .unwrap();
    // The write made the null version; like AWS (PutObject, "versioning suspended"), the answer
    // carries no x-amz-version-id for it.
    assert_eq!(out.version_id(), None);
    c.put_object()
        .bucket(&b)
        .key("k")
        .body(body("suspended-2"))
        .send()
        .await
        .unwrap();
    assert_eq!(s.get(&b, "k").await, b"suspended-2");
    assert_eq!(get_v(&s, &b, "k", "null").await, b"suspended-2");
    assert_eq!(get_v(&s, &b, "k", &v1).await, b"enabled-1");
    let out = c.list_object_versions().bucket(&b).send().await.unwrap();
    let ids: Vec<&str> = out
        .versions()
        .iter()
        .filter_map(|v| v.version_id())
        .collect();
    assert_eq!(
        ids,
        vec!["null", v1.as_str()],
        "one null version, newest first"
    );
    assert_eq!(out.versions()[0].is_latest(), Some(true));

    // Suspended plain delete: a null delete marker replaces the null version.
    let del = c.delete_object().bucket(&b).key("k").send().await.unwrap();
    assert_eq!(del.delete_marker(), Some(true));
    assert_eq!(del.version_id(), Some("null"));
    let out = c.list_object_versions().bucket(&b).send().await.unwrap();
    let ids: Vec<&str> = out
        .versions()
        .iter()
        .filter_map(|v| v.version_id())
        .collect();
    assert_eq!(ids, vec![v1.as_str()]);
    let dms: Vec<&str> = out
        .delete_markers()
        .iter()
        .filter_map(|d| d.version_id())
        .collect();
    assert_eq!(dms, vec!["null"]);
    assert_err(
        c.get_object().bucket(&b).key("k").send().await,
        404,
        "NoSuchKey",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_object_versions_pagination() {
    let s = TestServer::start().await;
    let b = s.versioned_bucket().await;
    let c = s.client();
    // 4 keys x 3 versions, plus a delete marker on two of them.
    let mut all = Vec::new();
    for k in ["a", "b/1", "b/2", "c"] {
        for i in 0..3 {
            let v = put_v(&s, &b, k, &format!("{k}{i}")).await;
            all.push((k.to_string(), v));
        }
    }
    for k in ["a", "c"] {
        let d = c.delete_object().bucket(&b).key(k).send().await.unwrap();
        all.push((k.to_string(), d.version_id().unwrap().to_string()));
    }
    assert_eq!(all.len(), 14);

    let full = c.list_object_versions().bucket(&b).send().await.unwrap();
    let mut full_entries: Vec<(String, String)> = Vec::new();
    for v in full.versions() {
        full_entries.push((v.key().unwrap().into(), v.version_id().unwrap().into()));
    }
    for d in full.delete_markers() {
        full_entries.push((d.key().unwrap().into(), d.version_id().unwrap().into()));
    }
    assert_eq!(full_entries.len(), 14);

    for page in [1, 2, 3, 5] {
        let mut seen: Vec<(String, String)> = Vec::new();
        let mut key_marker: Option<String> = None;
        let mut vid_marker: Option<String> = None;
        let mut pages = 0;
        loop {
            let out = c
                .list_object_versions()
                .bucket(&b)
                .max_keys(page)
                .set_key_marker(key_marker.clone())
                .set_version_id_marker(vid_marker.clone())
                .send()
                .await
                .unwrap_or_else(|e| panic!("{}", fmt_err(&e)));
            pages += 1;
            let n = out.versions().len() + out.delete_markers().len();
            assert!(n <= page as usize, "page {page}: got {n}");
            for v in out.versions() {
                seen.push((v.key().unwrap().into(), v.version_id().unwrap().into()));
            }
            for d in out.delete_markers() {
                seen.push((d.key().unwrap().into(), d.version_id().unwrap().into()));
            }
            if out.is_truncated() != Some(true) {
                break;
            }
            key_marker = out.next_key_marker().map(String::from);
            vid_marker = out.next_version_id_marker().map(String::from);
            assert!(key_marker.is_some(), "truncated without NextKeyMarker");
            assert!(pages < 100);
        }
        let mut sorted_seen = seen.clone();
        sorted_seen.sort();
        sorted_seen.dedup();
        assert_eq!(
            sorted_seen.len(),
            seen.len(),
            "page {page}: duplicates {seen:?}"
        );
        let mut want = all.clone();
        want.sort();
        assert_eq!(sorted_seen, want, "page {page}: gaps");
    }

    // Prefix + delimiter.
    let out = c
        .list_object_versions()
        .bucket(&b)
        .delimiter("/")
        .send()
        .await
        .unwrap();
    let prefixes: Vec<&str> = out
        .common_prefixes()
        .iter()
        .filter_map(|p| p.prefix())
        .collect();
    assert_eq!(prefixes, vec!["b/"]);
    let out = c
        .list_object_versions()
        .bucket(&b)
        .prefix("b/")
        .send()
        .await
        .unwrap();
    assert_eq!(out.versions().len(), 6);
    // key-marker alone skips all versions of that key.
    let out = c
        .list_object_versions()
        .bucket(&b)
        .key_marker("b/2")
        .send()
        .await
        .unwrap();
    let keys: std::collections::BTreeSet<&str> = out
        .versions()
        .iter()
        .filter_map(|v| v.key())
        .chain(out.delete_markers().iter().filter_map(|d| d.key()))
        .collect();
    assert_eq!(keys.into_iter().collect::<Vec<_>>(), vec!["c"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copy_from_a_version() {
    let s = TestServer::start().await;
    let b = s.versioned_bucket().await;
    let c = s.client();
    let v1 = put_v(&s, &b, "src", "old").await;
    put_v(&s, &b, "src", "new").await;
    let out = c
        .copy_object()
        .bucket(&b)
        .key("restored")
        .copy_source(format!("{b}/src?versionId={v1}"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{}", fmt_err(&e)));
    assert_eq!(out.copy_source_version_id(), Some(v1.as_str()));
    assert!(out.version_id().is_some());
    assert_eq!(s.get(&b, "restored").await, b"old");
    // Copy from a delete marker version is not allowed.
    let d = c
        .delete_object()
        .bucket(&b)
        .key("src")
        .send()
        .await
        .unwrap();
    let marker = d.version_id().unwrap();
    let (st, _code) = expect_err(
        c.copy_object()
            .bucket(&b)
            .key("x")
            .copy_source(format!("{b}/src?versionId={marker}"))
            .send()
            .await,
    );
    assert!(st == 400 || st == 405, "copy from delete marker: {st}");
    // Copy of a key whose latest is a delete marker: NoSuchKey.
    assert_err(
        c.copy_object()
            .bucket(&b)
            .key("x")
            .copy_source(format!("{b}/src"))
            .send()
            .await,
        404,
        "NoSuchKey",
    );
    // Nonexistent version id.
    let (st, code) = expect_err(
        c.get_object()
            .bucket(&b)
            .key("src")
            .version_id("00000000-0000-0000-0000-000000000000")
            .send()
            .await,
    );
    assert!(
        (st == 404 && code == "NoSuchVersion") || (st == 400 && code == "InvalidArgument"),
        "{st} {code}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn versioned_delete_objects() {
    let s = TestServer::start().await;
    let b = s.versioned_bucket().await;
    let c = s.client();
    let v1 = put_v(&s, &b, "x", "1").await;
    put_v(&s, &b, "x", "2").await;
    put_v(&s, &b, "y", "1").await;
    use aws_sdk_s3::types::{Delete, ObjectIdentifier};
    let out = c
        .delete_objects()
        .bucket(&b)
        .delete(
            Delete::builder()
                .objects(
                    ObjectIdentifier::builder()
                        .key("x")
                        .version_id(&v1)
                        .build()
                        .unwrap(),
                )
                .objects(ObjectIdentifier::builder().key("y").build().unwrap())
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    assert!(out.errors().is_empty(), "{:?}", out.errors());
    let x = out.deleted().iter().find(|d| d.key() == Some("x")).unwrap();
    assert_eq!(x.version_id(), Some(v1.as_str()));
    let y = out.deleted().iter().find(|d| d.key() == Some("y")).unwrap();
    assert_eq!(y.delete_marker(), Some(true));
    assert!(y.delete_marker_version_id().is_some());
    assert_err(
        c.get_object()
            .bucket(&b)
            .key("x")
            .version_id(&v1)
            .send()
            .await,
        404,
        "NoSuchVersion",
    );
    assert_eq!(s.get(&b, "x").await, b"2");
    assert_err(
        c.get_object().bucket(&b).key("y").send().await,
        404,
        "NoSuchKey",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restore_old_version_by_copying_onto_itself() {
    // The documented way to restore a previous version: copy it onto the same key. With a
    // source versionId this is not a "copy to itself without changes" (no REPLACE needed).
    let s = TestServer::start().await;
    let b = s.versioned_bucket().await;
    let c = s.client();
    let v1 = put_v(&s, &b, "src", "old").await;
    put_v(&s, &b, "src", "new").await;
    // Restore in place (promote an old version).
    c.copy_object()
        .bucket(&b)
        .key("src")
        .copy_source(format!("{b}/src?versionId={v1}"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{}", fmt_err(&e)));
    assert_eq!(s.get(&b, "src").await, b"old");
    let out = c
        .list_object_versions()
        .bucket(&b)
        .prefix("src")
        .send()
        .await
        .unwrap();
    assert_eq!(out.versions().len(), 3);
}
