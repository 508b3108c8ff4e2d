//! Backup test helpers: a server with a backup binding and a target, admin calls, snapshots
//! of a bucket's current view, manifests.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart, Tag, Tagging};
use serde_json::Value;

use crate::common::{TestServer, unique_bucket};
use crate::harness::{self, PolicyDir};

pub const MIB: usize = 1024 * 1024;

/// A temporary backup target directory (removed on drop unless the test failed).
pub struct TargetDir {
    pub dir: PathBuf,
}

impl TargetDir {
    pub fn new() -> TargetDir {
        let dir = std::env::temp_dir().join(unique_bucket("lakegate-backup-target"));
        std::fs::create_dir_all(&dir).unwrap();
        TargetDir { dir }
    }

    /// `<target>/<bucket>/<rel>`.
    pub fn path(&self, bucket: &str, rel: &str) -> PathBuf {
        self.dir.join(bucket).join(rel)
    }

    /// The generations with a manifest.
    pub fn generations(&self, bucket: &str) -> Vec<u64> {
        let dir = self.path(bucket, ".lakegate/generations");
        let mut out: Vec<u64> = std::fs::read_dir(&dir)
            .map(|rd| {
                rd.filter_map(|e| {
                    let name = e.ok()?.file_name().to_string_lossy().into_owned();
                    name.strip_suffix(".jsonl")?.parse().ok()
                })
                .collect()
            })
            .unwrap_or_default();
        out.sort_unstable();
        out
    }

    /// The manifest file of a generation.
    pub fn manifest_file(&self, bucket: &str, generation: u64) -> PathBuf {
        self.path(
            bucket,
            &format!(".lakegate/generations/{generation:020}.jsonl"),
        )
    }

    /// A manifest: the header and the entries by path (the trailer line is checked for shape
    /// and left out).
    pub fn manifest(&self, bucket: &str, generation: u64) -> (Value, BTreeMap<String, Value>) {
        let file = self.manifest_file(bucket, generation);
        let text = std::fs::read_to_string(&file)
            .unwrap_or_else(|e| panic!("read {}: {e}", file.display()));
        let mut lines: Vec<&str> = text.lines().collect();
        let trailer: Value = serde_json::from_str(lines.pop().unwrap()).unwrap();
        assert!(
            trailer["lakegate_mac"]
                .as_str()
                .is_some_and(|m| m.starts_with("hmac-sha256:")),
            "manifest trailer: {trailer}"
        );
        let mut lines = lines.into_iter();
        let header: Value = serde_json::from_str(lines.next().unwrap()).unwrap();
        let entries = lines
            .map(|l| {
                let v: Value = serde_json::from_str(l).unwrap();
                (v["path"].as_str().unwrap().to_string(), v)
            })
            .collect();
        (header, entries)
    }

    /// Files under `<bucket>/<rel>` (relative to it), sorted.
    pub fn files(&self, bucket: &str, rel: &str) -> Vec<String> {
        let root = self.path(bucket, rel);
        let mut out = Vec::new();
        fn walk(dir: &Path, root: &Path, out: &mut Vec<String>) {
            let Ok(rd) = std::fs::read_dir(dir) else {
                return;
            };
            for e in rd.flatten() {
                let p = e.path();
                if p.is_dir() {
                    walk(&p, root, out);
                } else {
                    out.push(p.strip_prefix(root).unwrap().display().to_string());
                }
            }
        }
        walk(&root, &root, &mut out);
        out.sort();
        out
    }
}

impl Drop for TargetDir {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("backup target kept: {}", self.dir.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// The local key of a server's data directory (what authenticates its manifests).
pub fn local_key(srv: &TestServer) -> lakegate::local_key::LocalKey {
    lakegate::local_key::LocalKey::load_or_create(&srv.data_dir).unwrap()
}

/// Writes manifest `generation` of `bucket` with `body` (header and entry lines, each ending in
/// `\n`) and a valid trailer under `key`: what a gateway with that key would accept.
pub fn write_signed_manifest(
    target: &TargetDir,
    key: &lakegate::local_key::LocalKey,
    bucket: &str,
    generation: u64,
    body: &str,
) {
    let trailer =
        lakegate::backup::manifest::manifest_trailer(key, bucket, generation, body.as_bytes());
    let mut bytes = body.as_bytes().to_vec();
    bytes.extend_from_slice(&trailer);
    std::fs::write(target.manifest_file(bucket, generation), bytes).unwrap();
}

/// The text of a backup binding for `bucket` with the builtin plugin.
pub fn binding_text(bucket: &str, propagate_deletes: bool, backup: &str) -> String {
    format!(
        "bucket = \"{bucket}\"\nkind = \"backup\"\nplugin = \"builtin:backup\"\n\n[config]\npropagate_deletes = {propagate_deletes}\n\n[backup]\n{backup}\n\n[limits]\ntime_budget_ms = 2000\n"
    )
}

/// Writes a backup binding and waits until it is active.
pub async fn bind(
    srv: &TestServer,
    policies: &PolicyDir,
    bucket: &str,
    propagate: bool,
    backup: &str,
) {
    let file = format!("{bucket}-backup.toml");
    policies.write(&file, binding_text(bucket, propagate, backup));
    harness::wait_for(srv, &file, "active", |s| s["state"] == "active").await;
}

/// Starts a server on `policies` with `target` as its backup target.
pub async fn start(policies: &PolicyDir, target: &TargetDir) -> TestServer {
    TestServer::start_with_env(&[
        ("LAKEGATE_POLICIES", policies.dir.to_str().unwrap()),
        ("LAKEGATE_BACKUP_TARGET", target.dir.to_str().unwrap()),
        ("LAKEGATE_LOG", "info,lakegate::backup=debug"),
    ])
    .await
}

/// An admin API call; returns the status and the JSON answer.
pub async fn admin(
    srv: &TestServer,
    method: &str,
    path: &str,
    query: &[(&str, &str)],
) -> (u16, Value) {
    let mut r = srv.raw(method, &format!("/lakegate/admin/v1/{path}"));
    for (k, v) in query {
        r = r.query(k, v);
    }
    let resp = r.send().await;
    let v = serde_json::from_slice(&resp.body).unwrap_or_else(|_| Value::String(resp.text()));
    (resp.status, v)
}

/// Runs a full backup and waits; returns the finished job.
pub async fn run(srv: &TestServer, bucket: &str) -> Value {
    let (status, v) = admin(
        srv,
        "POST",
        &format!("backup/{bucket}/run"),
        &[("wait", "true")],
    )
    .await;
    assert!(status == 200 || status == 500, "run {bucket}: {status} {v}");
    v["job"].clone()
}

/// Runs a full backup that must succeed; returns its report.
pub async fn run_ok(srv: &TestServer, bucket: &str) -> Value {
    let job = run(srv, bucket).await;
    assert_eq!(job["state"], "succeeded", "backup of {bucket}: {job:#}");
    job["report"].clone()
}

/// Restores and waits; returns the finished job.
pub async fn restore(srv: &TestServer, bucket: &str, to: Option<&str>, at: Option<u64>) -> Value {
    let at = at.map(|a| a.to_string());
    let mut q = vec![("wait", "true")];
    if let Some(to) = to {
        q.push(("to", to));
    }
    if let Some(at) = &at {
        q.push(("at", at.as_str()));
    }
    let (status, v) = admin(srv, "POST", &format!("backup/{bucket}/restore"), &q).await;
    assert!(
        status == 200 || status == 500,
        "restore {bucket}: {status} {v}"
    );
    v["job"].clone()
}

/// One object as a client sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    pub bytes: Vec<u8>,
    pub content_type: Option<String>,
    pub cache_control: Option<String>,
    pub metadata: BTreeMap<String, String>,
    pub tags: BTreeMap<String, String>,
}

/// The current view of a bucket: key → object.
pub async fn snapshot(srv: &TestServer, bucket: &str) -> BTreeMap<String, Seen> {
    let c = srv.client();
    let mut out = BTreeMap::new();
    let mut token = None;
    loop {
        let page = c
            .list_objects_v2()
            .bucket(bucket)
            .set_continuation_token(token.clone())
            .send()
            .await
            .unwrap();
        for o in page.contents() {
            let key = o.key().unwrap().to_string();
            let got = c
                .get_object()
                .bucket(bucket)
                .key(&key)
                .send()
                .await
                .unwrap();
            let content_type = got.content_type().map(str::to_string);
            let cache_control = got.cache_control().map(str::to_string);
            let metadata: BTreeMap<String, String> = got
                .metadata()
                .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                .unwrap_or_default();
            let bytes = got.body.collect().await.unwrap().into_bytes().to_vec();
            let tags = c
                .get_object_tagging()
                .bucket(bucket)
                .key(&key)
                .send()
                .await
                .unwrap()
                .tag_set()
                .iter()
                .map(|t| (t.key().to_string(), t.value().to_string()))
                .collect();
            out.insert(
                key,
                Seen {
                    bytes,
                    content_type,
                    cache_control,
                    metadata,
                    tags,
                },
            );
        }
        match page.next_continuation_token() {
            Some(t) => token = Some(t.to_string()),
            None => break,
        }
    }
    out
}

/// PUT with content type, cache control, user metadata and tags.
pub async fn put_full(
    srv: &TestServer,
    bucket: &str,
    key: &str,
    body: &[u8],
    content_type: &str,
    meta: &[(&str, &str)],
    tags: &[(&str, &str)],
) {
    let mut req = srv
        .client()
        .put_object()
        .bucket(bucket)
        .key(key)
        .body(ByteStream::from(body.to_vec()))
        .content_type(content_type)
        .cache_control("max-age=60");
    for (k, v) in meta {
        req = req.metadata(*k, *v);
    }
    if !tags.is_empty() {
        let tagging = tags
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("&");
        req = req.tagging(tagging);
    }
    req.send()
        .await
        .unwrap_or_else(|e| panic!("put {bucket}/{key}: {e:?}"));
}

/// A multipart upload of `parts` (each but the last at least 5 MiB).
pub async fn put_multipart(srv: &TestServer, bucket: &str, key: &str, parts: &[Vec<u8>]) {
    let c = srv.client();
    let up = c
        .create_multipart_upload()
        .bucket(bucket)
        .key(key)
        .content_type("application/x-parquet")
        .send()
        .await
        .unwrap();
    let id = up.upload_id().unwrap();
    let mut done = Vec::new();
    for (i, p) in parts.iter().enumerate() {
        let n = i as i32 + 1;
        let r = c
            .upload_part()
            .bucket(bucket)
            .key(key)
            .upload_id(id)
            .part_number(n)
            .body(ByteStream::from(p.clone()))
            .send()
            .await
            .unwrap();
        done.push(
            CompletedPart::builder()
                .part_number(n)
                .e_tag(r.e_tag().unwrap())
                .build(),
        );
    }
    c.complete_multipart_upload()
        .bucket(bucket)
        .key(key)
        .upload_id(id)
        .multipart_upload(
            CompletedMultipartUpload::builder()
                .set_parts(Some(done))
                .build(),
        )
        .send()
        .await
        .unwrap();
}

pub async fn set_tags(srv: &TestServer, bucket: &str, key: &str, tags: &[(&str, &str)]) {
    let set: Vec<Tag> = tags
        .iter()
        .map(|(k, v)| Tag::builder().key(*k).value(*v).build().unwrap())
        .collect();
    srv.client()
        .put_object_tagging()
        .bucket(bucket)
        .key(key)
        .tagging(Tagging::builder().set_tag_set(Some(set)).build().unwrap())
        .send()
        .await
        .unwrap();
}

pub async fn delete(srv: &TestServer, bucket: &str, key: &str) {
    srv.client()
        .delete_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .unwrap();
}

/// Polls `pred` for up to `secs` seconds.
pub async fn eventually(what: &str, secs: u64, mut pred: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !pred() {
        if Instant::now() > deadline {
            panic!("timed out after {secs} s waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
