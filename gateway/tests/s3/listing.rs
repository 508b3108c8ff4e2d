//! ListObjects v1 and v2: prefix, delimiter, max-keys, continuation-token, start-after, marker,
//! fetch-owner, encoding-type=url, CommonPrefixes, pagination over 2500 keys.

use std::collections::BTreeSet;

use aws_sdk_s3::types::EncodingType;
use futures::StreamExt;

use crate::common::*;

async fn put_many(s: &TestServer, b: &str, keys: &[String]) {
    let c = s.client().clone();
    let b = b.to_string();
    let results: Vec<()> = futures::stream::iter(keys.iter().cloned())
        .map(|k| {
            let c = c.clone();
            let b = b.clone();
            async move {
                c.put_object()
                    .bucket(&b)
                    .key(&k)
                    .body(body(k.clone().into_bytes()))
                    .send()
                    .await
                    .unwrap_or_else(|e| panic!("put {k}: {}", fmt_err(&e)));
            }
        })
        .buffer_unordered(32)
        .collect()
        .await;
    assert_eq!(results.len(), keys.len());
}

fn keys_2500() -> Vec<String> {
    let mut keys = Vec::new();
    for i in 0..2500 {
        let k = match i % 5 {
            0 => format!("top-{i:05}"),
            1 => format!("dir-a/file-{i:05}"),
            2 => format!("dir-b/sub/{i:05}"),
            3 => format!("dir-c/{i:05}/leaf"),
            _ => format!("z/{i:05}"),
        };
        keys.push(k);
    }
    keys
}

async fn list_v2_all(
    s: &TestServer,
    b: &str,
    prefix: Option<&str>,
    delimiter: Option<&str>,
    max_keys: Option<i32>,
) -> (Vec<String>, Vec<String>, usize) {
    let mut keys = Vec::new();
    let mut prefixes = Vec::new();
    let mut token: Option<String> = None;
    let mut pages = 0;
    loop {
        let out = s
            .client()
            .list_objects_v2()
            .bucket(b)
            .set_prefix(prefix.map(String::from))
            .set_delimiter(delimiter.map(String::from))
            .set_max_keys(max_keys)
            .set_continuation_token(token.clone())
            .send()
            .await
            .unwrap_or_else(|e| panic!("{}", fmt_err(&e)));
        pages += 1;
        let n = out.contents().len() + out.common_prefixes().len();
        assert_eq!(
            out.key_count(),
            Some(n as i32),
            "KeyCount counts keys and prefixes"
        );
        if let Some(m) = max_keys {
            assert!(n <= m as usize, "page of {n} > max-keys {m}");
        } else {
            assert!(n <= 1000, "default max-keys is 1000, got {n}");
        }
        keys.extend(out.contents().iter().map(|o| o.key().unwrap().to_string()));
        prefixes.extend(
            out.common_prefixes()
                .iter()
                .map(|p| p.prefix().unwrap().to_string()),
        );
        assert_eq!(
            out.continuation_token().unwrap_or(""),
            token.as_deref().unwrap_or("")
        );
        if out.is_truncated() == Some(true) {
            let next = out
                .next_continuation_token()
                .expect("truncated page has NextContinuationToken")
                .to_string();
            token = Some(next);
        } else {
            assert!(out.next_continuation_token().is_none());
            break;
        }
        assert!(pages < 10_000, "pagination does not terminate");
    }
    (keys, prefixes, pages)
}

async fn list_v1_all(
    s: &TestServer,
    b: &str,
    prefix: Option<&str>,
    delimiter: Option<&str>,
    max_keys: Option<i32>,
) -> (Vec<String>, Vec<String>) {
    let mut keys: Vec<String> = Vec::new();
    let mut prefixes: Vec<String> = Vec::new();
    let mut marker: Option<String> = None;
    let mut pages = 0;
    loop {
        let out = s
            .client()
            .list_objects()
            .bucket(b)
            .set_prefix(prefix.map(String::from))
            .set_delimiter(delimiter.map(String::from))
            .set_max_keys(max_keys)
            .set_marker(marker.clone())
            .send()
            .await
            .unwrap_or_else(|e| panic!("{}", fmt_err(&e)));
        pages += 1;
        assert_eq!(out.marker().unwrap_or(""), marker.as_deref().unwrap_or(""));
        let page_keys: Vec<String> = out
            .contents()
            .iter()
            .map(|o| o.key().unwrap().to_string())
            .collect();
        let page_prefixes: Vec<String> = out
            .common_prefixes()
            .iter()
            .map(|p| p.prefix().unwrap().to_string())
            .collect();
        if let Some(m) = max_keys {
            assert!(page_keys.len() + page_prefixes.len() <= m as usize);
        }
        keys.extend(page_keys.iter().cloned());
        prefixes.extend(page_prefixes.iter().cloned());
        if out.is_truncated() == Some(true) {
            // NextMarker is returned when a delimiter is given; otherwise use the last key.
            let next = match out.next_marker() {
                Some(m) => m.to_string(),
                None => {
                    assert!(
                        delimiter.is_none(),
                        "v1 with delimiter must send NextMarker"
                    );
                    page_keys
                        .last()
                        .expect("truncated page with no keys")
                        .clone()
                }
            };
            marker = Some(next);
        } else {
            break;
        }
        assert!(pages < 10_000, "pagination does not terminate");
    }
    (keys, prefixes)
}

fn assert_sorted_unique(v: &[String], what: &str) {
    for w in v.windows(2) {
        assert!(
            w[0] < w[1],
            "{what}: not strictly ascending: {:?} then {:?}",
            w[0],
            w[1]
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pagination_2500_keys_v1_and_v2() {
    let s = TestServer::start().await;
    let b = s.bucket().await;
    let keys = keys_2500();
    put_many(&s, &b, &keys).await;
    let mut expected = keys.clone();
    expected.sort();

    // v2, default page size: 3 pages.
    let (got, prefixes, pages) = list_v2_all(&s, &b, None, None, None).await;
    assert!(prefixes.is_empty());
    assert_sorted_unique(&got, "v2 default");
    assert_eq!(got.len(), 2500);
    assert_eq!(got, expected);
    assert_eq!(pages, 3);

    // v2, odd page size.
    let (got, _, pages) = list_v2_all(&s, &b, None, None, Some(333)).await;
    assert_eq!(got, expected);
    assert_eq!(pages, 8);

    // v1, marker pagination.
    let (got, _) = list_v1_all(&s, &b, None, None, Some(777)).await;
    assert_sorted_unique(&got, "v1");
    assert_eq!(got, expected);

    // v1 default page size.
    let (got, _) = list_v1_all(&s, &b, None, None, None).await;
    assert_eq!(got, expected);

    // Delimiter over the whole set, small pages mixing prefixes and keys.
    let top: Vec<String> = expected
        .iter()
        .filter(|k| !k.contains('/'))
        .cloned()
        .collect();
    let want_prefixes = vec!["dir-a/", "dir-b/", "dir-c/", "z/"];
    for page in [Some(1), Some(7), Some(100), None] {
        let (got, prefixes, _) = list_v2_all(&s, &b, None, Some("/"), page).await;
        assert_eq!(got, top, "v2 delimiter keys, page {page:?}");
        assert_eq!(prefixes, want_prefixes, "v2 CommonPrefixes, page {page:?}");
        let (got, prefixes) = list_v1_all(&s, &b, None, Some("/"), page).await;
        assert_eq!(got, top, "v1 delimiter keys, page {page:?}");
        assert_eq!(prefixes, want_prefixes, "v1 CommonPrefixes, page {page:?}");
    }

    // Prefix + delimiter one level down: 500 prefixes dir-c/NNNNN/.
    let (got, prefixes, _) = list_v2_all(&s, &b, Some("dir-c/"), Some("/"), Some(150)).await;
    assert!(got.is_empty());
    assert_eq!(prefixes.len(), 500);
    assert_sorted_unique(&prefixes, "dir-c prefixes");
    assert!(
        prefixes.iter().all(|p| p.starts_with("dir-c/")
            && p.ends_with('/')
            && p.len() == "dir-c/00003/".len())
    );

    // Prefix only.
    let (got, _, _) = list_v2_all(&s, &b, Some("dir-b/sub/"), None, Some(200)).await;
    let want: Vec<String> = expected
        .iter()
        .filter(|k| k.starts_with("dir-b/sub/"))
        .cloned()
        .collect();
    assert_eq!(want.len(), 500);
    assert_eq!(got, want);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delimiter_and_prefix() {
    let s = TestServer::start().await;
    let b = s.bucket().await;
    let keys: Vec<String> = [
        "a/b/c",
        "a/b/d",
        "a/e",
        "a/f/g",
        "a/f/h/i",
        "a",
        "ab",
        "b/x",
        "photos/2024/jan.jpg",
        "photos/2024/feb.jpg",
        "photos/2025/mar.jpg",
        "photos/index.html",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    put_many(&s, &b, &keys).await;

    let (k, p, _) = list_v2_all(&s, &b, Some("a/"), Some("/"), None).await;
    assert_eq!(k, vec!["a/e"]);
    assert_eq!(p, vec!["a/b/", "a/f/"]);

    let (k, p, _) = list_v2_all(&s, &b, None, Some("/"), None).await;
    assert_eq!(k, vec!["a", "ab"]);
    assert_eq!(p, vec!["a/", "b/", "photos/"]);

    let (k, p, _) = list_v2_all(&s, &b, Some("a"), Some("/"), None).await;
    assert_eq!(k, vec!["a", "ab"]);
    assert_eq!(p, vec!["a/"]);

    let (k, p, _) = list_v2_all(&s, &b, Some("photos/"), Some("/"), None).await;
    assert_eq!(k, vec!["photos/index.html"]);
    assert_eq!(p, vec!["photos/2024/", "photos/2025/"]);

    // Non-slash delimiter.
    let (k, p, _) = list_v2_all(&s, &b, Some("photos/"), Some("."), None).await;
    assert!(k.is_empty());
    assert_eq!(
        p,
        vec![
            "photos/2024/feb.",
            "photos/2024/jan.",
            "photos/2025/mar.",
            "photos/index."
        ]
    );

    // Prefix matching nothing.
    let (k, p, _) = list_v2_all(&s, &b, Some("nothing/"), Some("/"), None).await;
    assert!(k.is_empty() && p.is_empty());

    // Prefix that is itself a key, no delimiter.
    let (k, _, _) = list_v2_all(&s, &b, Some("a/f"), None, None).await;
    assert_eq!(k, vec!["a/f/g", "a/f/h/i"]);

    // v1 agrees.
    let (k, p) = list_v1_all(&s, &b, Some("a/"), Some("/"), Some(1)).await;
    assert_eq!(k, vec!["a/e"]);
    assert_eq!(p, vec!["a/b/", "a/f/"]);

    // Objects in listing carry size, etag, last-modified, storage class.
    let out = s
        .client()
        .list_objects_v2()
        .bucket(&b)
        .prefix("a/e")
        .send()
        .await
        .unwrap();
    let o = &out.contents()[0];
    assert_eq!(o.size(), Some(3));
    assert_eq!(o.e_tag(), Some(quoted_md5(b"a/e").as_str()));
    assert!(o.last_modified().is_some());
    assert_eq!(o.storage_class().map(|c| c.as_str()), Some("STANDARD"));
    assert_eq!(out.prefix(), Some("a/e"));
    assert_eq!(out.name(), Some(b.as_str()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_after_marker_max_keys_zero_fetch_owner() {
    let s = TestServer::start().await;
    let b = s.bucket().await;
    let keys: Vec<String> = (0..10).map(|i| format!("k{i}")).collect();
    put_many(&s, &b, &keys).await;
    let c = s.client();

    let out = c
        .list_objects_v2()
        .bucket(&b)
        .start_after("k4")
        .send()
        .await
        .unwrap();
    let got: Vec<&str> = out.contents().iter().filter_map(|o| o.key()).collect();
    assert_eq!(got, vec!["k5", "k6", "k7", "k8", "k9"]);
    assert_eq!(out.start_after(), Some("k4"));

    // start-after a key that does not exist.
    let out = c
        .list_objects_v2()
        .bucket(&b)
        .start_after("k45")
        .send()
        .await
        .unwrap();
    let got: Vec<&str> = out.contents().iter().filter_map(|o| o.key()).collect();
    assert_eq!(got, vec!["k5", "k6", "k7", "k8", "k9"]);

    let out = c
        .list_objects()
        .bucket(&b)
        .marker("k7")
        .send()
        .await
        .unwrap();
    let got: Vec<&str> = out.contents().iter().filter_map(|o| o.key()).collect();
    assert_eq!(got, vec!["k8", "k9"]);

    let out = c
        .list_objects_v2()
        .bucket(&b)
        .max_keys(0)
        .send()
        .await
        .unwrap();
    assert!(out.contents().is_empty());
    assert_eq!(out.key_count(), Some(0));

    let out = c
        .list_objects_v2()
        .bucket(&b)
        .max_keys(3)
        .send()
        .await
        .unwrap();
    assert_eq!(out.contents().len(), 3);
    assert_eq!(out.is_truncated(), Some(true));
    assert_eq!(out.max_keys(), Some(3));

    // fetch-owner: v2 omits Owner unless asked.
    let out = c.list_objects_v2().bucket(&b).send().await.unwrap();
    assert!(
        out.contents()[0].owner().is_none(),
        "v2 without fetch-owner has no Owner"
    );
    let out = c
        .list_objects_v2()
        .bucket(&b)
        .fetch_owner(true)
        .send()
        .await
        .unwrap();
    let owner = out.contents()[0]
        .owner()
        .expect("fetch-owner=true returns Owner");
    assert!(owner.id().is_some());
    // v1 always returns Owner.
    let out = c.list_objects().bucket(&b).send().await.unwrap();
    assert!(out.contents()[0].owner().is_some(), "v1 returns Owner");

    // An empty bucket.
    let e = s.bucket().await;
    let out = c.list_objects_v2().bucket(&e).send().await.unwrap();
    assert!(out.contents().is_empty());
    assert_eq!(out.key_count(), Some(0));
    assert_eq!(out.is_truncated(), Some(false));
}

/// Decodes an `encoding-type=url` value (AWS encodes spaces as `+`, a literal `+` as `%2B`).
fn url_decode_key(s: &str) -> String {
    uri_decode(&s.replace('+', " "))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn encoding_type_url_with_weird_keys() {
    let s = TestServer::start().await;
    let b = s.bucket().await;
    let weird: Vec<String> = [
        "space dir/a b",
        "plus+dir/c+d",
        "pct%dir/100%",
        "ünï/cödé",
        "amp&lt<gt>/\"quote'",
        "日本/語",
        "emoji/🦀",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    put_many(&s, &b, &weird).await;
    let mut expected = weird.clone();
    expected.sort();

    let out = s
        .client()
        .list_objects_v2()
        .bucket(&b)
        .encoding_type(EncodingType::Url)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{}", fmt_err(&e)));
    assert_eq!(out.encoding_type(), Some(&EncodingType::Url));
    let raw_keys: Vec<String> = out
        .contents()
        .iter()
        .map(|o| o.key().unwrap().to_string())
        .collect();
    for k in &raw_keys {
        assert!(
            !k.contains(' ') && !k.contains('<'),
            "key not url-encoded: {k:?}"
        );
    }
    let decoded: Vec<String> = raw_keys.iter().map(|k| url_decode_key(k)).collect();
    assert_eq!(decoded, expected);

    // Delimiter: prefixes are encoded too.
    let out = s
        .client()
        .list_objects_v2()
        .bucket(&b)
        .delimiter("/")
        .encoding_type(EncodingType::Url)
        .send()
        .await
        .unwrap();
    let mut prefixes: Vec<String> = out
        .common_prefixes()
        .iter()
        .map(|p| url_decode_key(p.prefix().unwrap()))
        .collect();
    prefixes.sort();
    let mut want: Vec<String> = expected
        .iter()
        .map(|k| format!("{}/", k.split('/').next().unwrap()))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    want.sort();
    assert_eq!(prefixes, want);

    // v1 also.
    let out = s
        .client()
        .list_objects()
        .bucket(&b)
        .encoding_type(EncodingType::Url)
        .send()
        .await
        .unwrap();
    let decoded: Vec<String> = out
        .contents()
        .iter()
        .map(|o| url_decode_key(o.key().unwrap()))
        .collect();
    assert_eq!(decoded, expected);

    // Without encoding-type the keys come back verbatim (XML-escaped on the wire).
    for k in expected.iter() {
        let out = s
            .client()
            .list_objects_v2()
            .bucket(&b)
            .prefix(k)
            .send()
            .await
            .unwrap_or_else(|e| panic!("plain listing of {k:?}: {}", fmt_err(&e)));
        let plain: Vec<&str> = out.contents().iter().filter_map(|o| o.key()).collect();
        assert_eq!(plain, vec![k.as_str()], "plain listing of {k:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn continuation_token_is_opaque_and_stable() {
    let s = TestServer::start().await;
    let b = s.bucket().await;
    let keys: Vec<String> = (0..20).map(|i| format!("key-{i:02}")).collect();
    put_many(&s, &b, &keys).await;
    let c = s.client();
    let p1 = c
        .list_objects_v2()
        .bucket(&b)
        .max_keys(5)
        .send()
        .await
        .unwrap();
    let token = p1.next_continuation_token().unwrap().to_string();
    // A key added before the cursor does not appear; keys after it do.
    s.put(&b, "key-00a", "x").await;
    s.put(&b, "key-99", "x").await;
    let (rest, _) = {
        let mut all = Vec::new();
        let mut tok = Some(token.clone());
        while let Some(t) = tok {
            let out = c
                .list_objects_v2()
                .bucket(&b)
                .max_keys(5)
                .continuation_token(t)
                .send()
                .await
                .unwrap();
            all.extend(out.contents().iter().map(|o| o.key().unwrap().to_string()));
            tok = out.next_continuation_token().map(String::from);
        }
        (all, ())
    };
    let mut want: Vec<String> = keys[5..].to_vec();
    want.push("key-99".into());
    assert_eq!(rest, want);
    // The same token twice gives the same page.
    let a = c
        .list_objects_v2()
        .bucket(&b)
        .max_keys(5)
        .continuation_token(&token)
        .send()
        .await
        .unwrap();
    let b2 = c
        .list_objects_v2()
        .bucket(&b)
        .max_keys(5)
        .continuation_token(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(a.contents(), b2.contents());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn control_character_keys_with_encoding_type_url() {
    // Keys may hold the control characters XML 1.0 can carry (tab, LF, CR, DEL);
    // `encoding-type=url` lists them unambiguously. NUL and the other C0 controls cannot be
    // represented in an XML listing at all, so lakegate refuses them with InvalidArgument.
    let s = TestServer::start().await;
    let b = s.bucket().await;
    for bad in ["ctl\u{1}char/x", "nul\u{0}key", "esc\u{1b}key"] {
        assert_err(
            s.client()
                .put_object()
                .bucket(&b)
                .key(bad)
                .body(body("x"))
                .send()
                .await,
            400,
            "InvalidArgument",
        );
    }
    let keys: Vec<String> = ["tab\there", "nl\nkey", "cr\rkey", "del\u{7f}"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    put_many(&s, &b, &keys).await;
    for k in &keys {
        assert_eq!(s.get(&b, k).await, k.as_bytes());
    }
    let out = s
        .client()
        .list_objects_v2()
        .bucket(&b)
        .encoding_type(EncodingType::Url)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{}", fmt_err(&e)));
    let mut decoded: Vec<String> = out
        .contents()
        .iter()
        .map(|o| url_decode_key(o.key().unwrap()))
        .collect();
    decoded.sort();
    let mut want = keys.clone();
    want.sort();
    assert_eq!(decoded, want);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_listing_arguments() {
    let s = TestServer::start().await;
    let b = s.bucket().await;
    s.put(&b, "k", "v").await;
    let r = s
        .raw("GET", &format!("/{b}"))
        .query("list-type", "2")
        .query("max-keys", "-1")
        .send()
        .await;
    r.assert_error(400, "InvalidArgument");
    let r = s
        .raw("GET", &format!("/{b}"))
        .query("list-type", "2")
        .query("continuation-token", "definitely-not-a-token")
        .send()
        .await;
    r.assert_error(400, "InvalidArgument");
    let r = s
        .raw("GET", &format!("/{b}"))
        .query("list-type", "2")
        .query("encoding-type", "base64")
        .send()
        .await;
    r.assert_error(400, "InvalidArgument");
    // max-keys above 1000 is capped, not an error.
    let r = s
        .raw("GET", &format!("/{b}"))
        .query("list-type", "2")
        .query("max-keys", "5000")
        .send()
        .await;
    r.assert_ok();
    assert_eq!(xml_values(&r.text(), "Key"), vec!["k"]);
}
