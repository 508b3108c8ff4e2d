//! Object key handling: special characters round-trip exactly, length limit, no path escape.

use std::path::Path;

use crate::common::*;

const WEIRD_KEYS: &[&str] = &[
    "plus+sign",
    "a b c",
    "100%",
    "%2F-literal-percent-2F",
    "ünïcödé/日本語/emoji🦀",
    "a//b",
    "trailing/",
    "/leading-slash",
    "q?x=1&y=2",
    "hash#frag",
    "semi;colon,comma=eq",
    "tilde~star*paren()",
    "quote\"apos'",
    "lt<gt>amp&",
    "back\\slash",
    "dots.../..../x",
    "space at end ",
    " space at start",
    "[brackets]{braces}",
    "$dollar@at!bang",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn weird_keys_round_trip() {
    let s = TestServer::start().await;
    let b = s.bucket().await;
    let c = s.client();
    for (i, key) in WEIRD_KEYS.iter().enumerate() {
        let data = format!("body of key #{i}");
        c.put_object()
            .bucket(&b)
            .key(*key)
            .body(body(data.clone()))
            .send()
            .await
            .unwrap_or_else(|e| panic!("put {key:?}: {}", fmt_err(&e)));
        let got = c
            .get_object()
            .bucket(&b)
            .key(*key)
            .send()
            .await
            .unwrap_or_else(|e| panic!("get {key:?}: {}", fmt_err(&e)));
        assert_eq!(read_body(got).await, data.as_bytes(), "{key:?}");
        c.head_object()
            .bucket(&b)
            .key(*key)
            .send()
            .await
            .unwrap_or_else(|e| panic!("head {key:?}: {}", fmt_err(&e)));
    }
    // Listing returns every key exactly once, byte-for-byte.
    let mut listed = Vec::new();
    let mut token = None;
    loop {
        let out = c
            .list_objects_v2()
            .bucket(&b)
            .set_continuation_token(token)
            .max_keys(7)
            .send()
            .await
            .unwrap();
        listed.extend(out.contents().iter().map(|o| o.key().unwrap().to_string()));
        token = out.next_continuation_token().map(String::from);
        if token.is_none() {
            break;
        }
    }
    let mut want: Vec<String> = WEIRD_KEYS.iter().map(|k| k.to_string()).collect();
    want.sort();
    assert_eq!(listed, want);

    // `a//b` and `a/b` are different keys.
    assert_err(
        c.get_object().bucket(&b).key("a/b").send().await,
        404,
        "NoSuchKey",
    );
    // `trailing/` and `trailing` are different keys.
    assert_err(
        c.get_object().bucket(&b).key("trailing").send().await,
        404,
        "NoSuchKey",
    );
    // Copy and delete with weird keys.
    for key in WEIRD_KEYS {
        c.copy_object()
            .bucket(&b)
            .key(format!("copy/{key}"))
            .copy_source(format!("{b}/{}", uri_encode(key, false)))
            .send()
            .await
            .unwrap_or_else(|e| panic!("copy {key:?}: {}", fmt_err(&e)));
        c.delete_object()
            .bucket(&b)
            .key(*key)
            .send()
            .await
            .unwrap_or_else(|e| panic!("delete {key:?}: {}", fmt_err(&e)));
        assert_status(c.head_object().bucket(&b).key(*key).send().await, 404);
    }
    let out = c.list_objects_v2().bucket(&b).send().await.unwrap();
    assert_eq!(out.key_count(), Some(WEIRD_KEYS.len() as i32));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plus_in_raw_path_is_literal_plus() {
    let s = TestServer::start().await;
    let b = s.bucket().await;
    s.put(&b, "a+b", "plus").await;
    s.put(&b, "a b", "space").await;
    // `+` in a path is a literal plus (not a space), `%2B` is a plus, `%20` is a space.
    let r = s.raw("GET", &format!("/{b}/a+b")).send().await;
    r.assert_ok();
    assert_eq!(r.body, b"plus");
    let r = s.raw("GET", &format!("/{b}/a%2Bb")).send().await;
    r.assert_ok();
    assert_eq!(r.body, b"plus");
    let r = s.raw("GET", &format!("/{b}/a%20b")).send().await;
    r.assert_ok();
    assert_eq!(r.body, b"space");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_length_limit() {
    let s = TestServer::start().await;
    let b = s.bucket().await;
    let c = s.client();
    let ok = "k".repeat(1024);
    c.put_object()
        .bucket(&b)
        .key(&ok)
        .body(body("max"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{}", fmt_err(&e)));
    assert_eq!(s.get(&b, &ok).await, b"max");
    // 1024 bytes of UTF-8 made of 2-byte characters: also fine.
    let ok_utf8 = "é".repeat(512);
    c.put_object()
        .bucket(&b)
        .key(&ok_utf8)
        .body(body("u"))
        .send()
        .await
        .unwrap();

    let too_long = "k".repeat(1025);
    assert_err(
        c.put_object()
            .bucket(&b)
            .key(&too_long)
            .body(body("x"))
            .send()
            .await,
        400,
        "KeyTooLongError",
    );
    // The limit is in bytes: 513 two-byte characters = 1026 bytes.
    let too_long_utf8 = "é".repeat(513);
    assert_err(
        c.put_object()
            .bucket(&b)
            .key(&too_long_utf8)
            .body(body("x"))
            .send()
            .await,
        400,
        "KeyTooLongError",
    );
    let up = c
        .create_multipart_upload()
        .bucket(&b)
        .key(&too_long)
        .send()
        .await;
    assert_err(up, 400, "KeyTooLongError");
}

fn find_named(dir: &Path, marker: &str, depth: usize, hits: &mut Vec<String>) {
    if depth == 0 {
        return;
    }
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.contains(marker) {
            hits.push(e.path().display().to_string());
        }
        if e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
            find_named(&e.path(), marker, depth - 1, hits);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dot_dot_keys_do_not_escape_the_data_dir() {
    let s = TestServer::start().await;
    let b = s.bucket().await;
    let c = s.client();
    let marker = format!("lgescape{}", std::process::id());
    let keys = vec![
        format!("../../etc/{marker}-1"),
        format!("../{marker}-2"),
        format!("../../../../../../../../tmp/{marker}-3"),
        format!("a/../../{marker}-4"),
        format!("./{marker}-5"),
        format!("..\\..\\{marker}-6"),
        "..".to_string(),
        ".".to_string(),
        "../".to_string(),
    ];
    // A `.` or `..` path segment is refused outright (HTTP stacks normalise such paths, so the
    // key could not be addressed reliably); every other key round-trips verbatim.
    let has_dot_segment = |k: &str| k.split('/').any(|seg| seg == "." || seg == "..");
    let accepted: Vec<String> = keys
        .iter()
        .filter(|k| !has_dot_segment(k))
        .cloned()
        .collect();
    assert!(!accepted.is_empty());
    for (i, key) in keys.iter().enumerate() {
        let put = c
            .put_object()
            .bucket(&b)
            .key(key)
            .body(body(format!("escape attempt {i}")))
            .send()
            .await;
        if has_dot_segment(key) {
            assert_err(put, 400, "InvalidArgument");
        } else {
            put.unwrap_or_else(|e| panic!("put {key:?}: {}", fmt_err(&e)));
        }
    }
    for (i, key) in keys.iter().enumerate().filter(|(_, k)| !has_dot_segment(k)) {
        let out = c
            .get_object()
            .bucket(&b)
            .key(key)
            .send()
            .await
            .unwrap_or_else(|e| panic!("get {key:?}: {}", fmt_err(&e)));
        assert_eq!(
            read_body(out).await,
            format!("escape attempt {i}").as_bytes()
        );
    }
    // Listing shows exactly the accepted keys, verbatim.
    let out = c.list_objects_v2().bucket(&b).send().await.unwrap();
    let mut listed: Vec<String> = out
        .contents()
        .iter()
        .map(|o| o.key().unwrap().to_string())
        .collect();
    listed.sort();
    let mut want = accepted.clone();
    want.sort();
    assert_eq!(listed, want);
    // Distinct from their normalized forms.
    assert_err(
        c.get_object()
            .bucket(&b)
            .key(format!("etc/{marker}-1"))
            .send()
            .await,
        404,
        "NoSuchKey",
    );

    // Nothing named with the marker exists outside the data directory.
    let mut hits = Vec::new();
    let mut dir = s.data_dir.parent().map(Path::to_path_buf);
    for _ in 0..2 {
        let Some(d) = dir else { break };
        let mut h = Vec::new();
        find_named(&d, &marker, 3, &mut h);
        hits.extend(
            h.into_iter()
                .filter(|p| !Path::new(p).starts_with(&s.data_dir)),
        );
        dir = d.parent().map(Path::to_path_buf);
    }
    for p in ["/etc", "/tmp"] {
        let mut h = Vec::new();
        find_named(Path::new(p), &marker, 1, &mut h);
        hits.extend(h);
    }
    hits.sort();
    hits.dedup();
    assert!(hits.is_empty(), "files escaped the data dir: {hits:?}");
    // The test root holds only the data dir, the generated master key beside it, and the log.
    let mut entries: Vec<String> = std::fs::read_dir(&s.root)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    entries.sort();
    assert_eq!(entries, vec!["data", "data.kms-key", "server.log"]);

    // Delete works by exact name too.
    for key in &accepted {
        c.delete_object().bucket(&b).key(key).send().await.unwrap();
    }
    let out = c.list_objects_v2().bucket(&b).send().await.unwrap();
    assert_eq!(out.key_count(), Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dot_dot_in_raw_path_targets_the_literal_key() {
    let s = TestServer::start().await;
    let b = s.bucket().await;
    let other = s.bucket().await;
    s.put(&other, "victim", "do not touch").await;
    // A path with `..` segments must not be resolved into another bucket.
    let r = s
        .raw("PUT", &format!("/{b}/../{other}/victim"))
        .body("overwritten?")
        .send_tcp()
        .await;
    if (200..300).contains(&r.status) {
        // Stored under the literal key in `b`.
        assert_eq!(
            s.get(&b, &format!("../{other}/victim")).await,
            b"overwritten?"
        );
    }
    assert_eq!(s.get(&other, "victim").await, b"do not touch");
}
