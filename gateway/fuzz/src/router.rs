//! Routing (`s3::router`): the query string, the virtual-host bucket from `Host`, the bucket and
//! key from the path, the operation, and the bucket-name and key rules.
//!
//! Checked beyond "no panic":
//! - the router's query decoding is the authenticator's (`auth::decode_query_component`), one
//!   pair per non-empty `&` segment;
//! - a virtual-host bucket is a label prefix of the host, followed by `.` and a configured domain;
//! - path-style bucket and key put back together give the decoded path;
//! - an accepted bucket name and key obey the documented rules;
//! - a continuation token the router accepts names a key, and a token made for a key gives it
//!   back; list parameters (`max-keys`, `encoding-type`, `partNumber`) parse without panicking.

use http::{HeaderMap, HeaderValue, Method};
use lakegate::auth::decode_query_component;
use lakegate::s3::get::part_number;
use lakegate::s3::list::{decode_token, encode_token, parse_encoding_type, parse_max_keys};
use lakegate::s3::router::{Query, resolve, split_path, vhost_bucket};
use lakegate::store::{check_bucket_name, check_object_key as check_key};
use percent_encoding::percent_decode_str;

/// Input, as text lines: the method; the request target (`path?query`); the `Host` header (none
/// when the line is missing); the configured virtual-host domains, comma-separated; anything on
/// a fifth line adds an `x-amz-copy-source` header.
#[derive(Debug)]
struct Input {
    method: Method,
    path: String,
    query: Option<String>,
    host: Option<String>,
    domains: Vec<String>,
    copy_source: bool,
}

impl Input {
    fn parse(text: &str) -> Option<Self> {
        let mut lines = text.split('\n');
        let method = Method::from_bytes(lines.next()?.as_bytes()).ok()?;
        let target = lines.next().unwrap_or("/");
        let (path, query) = match target.split_once('?') {
            Some((p, q)) => (p.to_string(), Some(q.to_string())),
            None => (target.to_string(), None),
        };
        let host = lines.next().map(str::to_string);
        let domains = lines
            .next()
            .map(|d| d.split(',').map(str::to_string).collect())
            .unwrap_or_default();
        let copy_source = lines.next().is_some();
        Some(Input {
            method,
            path,
            query,
            host,
            domains,
            copy_source,
        })
    }
}

fn check(input: Input) {
    let method = &input.method;

    // Query.
    let query = match Query::parse(input.query.as_deref()) {
        Ok(q) => {
            let segments: Vec<&str> = input
                .query
                .as_deref()
                .unwrap_or("")
                .split('&')
                .filter(|s| !s.is_empty())
                .collect();
            assert_eq!(q.pairs().len(), segments.len());
            for ((k, v), seg) in q.pairs().iter().zip(&segments) {
                let (rk, rv) = seg.split_once('=').unwrap_or((seg, ""));
                assert_eq!(k.as_bytes(), decode_query_component(rk).as_slice());
                assert_eq!(v.as_bytes(), decode_query_component(rv).as_slice());
            }
            q
        }
        Err(_) => Query::default(),
    };

    // List and part parameters.
    let _ = parse_max_keys(&query, false);
    let _ = parse_max_keys(&query, true);
    let _ = parse_encoding_type(&query);
    if let Ok(Some(n)) = part_number(&query) {
        assert!((1..=10_000).contains(&n));
    }
    for name in ["continuation-token", "marker", "key-marker"] {
        if let Some(t) = query.get(name) {
            if let Ok(key) = decode_token(t) {
                assert!(!key.is_empty() && !key.contains('\0'));
            }
            if !t.is_empty() && !t.contains('\0') && t.len() <= 4096 {
                assert_eq!(decode_token(&encode_token(t)).ok().as_deref(), Some(t));
            }
        }
    }

    // Virtual host.
    let vhost = vhost_bucket(input.host.as_deref(), &input.domains);
    if let Some(b) = vhost {
        let host = input.host.as_deref().unwrap_or_default();
        assert!(!b.is_empty());
        assert!(host.starts_with(b));
        let rest = &host[b.len()..];
        assert!(
            rest.starts_with('.'),
            "vhost bucket not followed by '.': {host:?}"
        );
        let rest = &rest[1..];
        assert!(
            input.domains.iter().any(|d| rest == d
                || rest
                    .strip_prefix(d.as_str())
                    .is_some_and(|port| port.starts_with(':'))),
            "vhost bucket {b:?} of {host:?} is not followed by a configured domain"
        );
    }

    // Path.
    let split = split_path(&input.path, vhost);
    if let Ok((bucket, key)) = &split {
        let decoded = percent_decode_str(&input.path)
            .decode_utf8()
            .expect("split_path accepted a path that is not UTF-8 once decoded");
        let decoded = decoded.strip_prefix('/').unwrap_or(&decoded);
        match vhost {
            Some(b) => {
                assert_eq!(bucket.as_deref(), Some(b));
                assert_eq!(key.as_deref().unwrap_or(""), decoded);
            }
            None => {
                let mut joined = bucket.clone().unwrap_or_default();
                if let Some(k) = key {
                    joined.push('/');
                    joined.push_str(k);
                } else if decoded.ends_with('/') {
                    joined.push('/');
                }
                assert_eq!(joined, decoded);
                assert!(bucket.as_deref().is_none_or(|b| !b.contains('/')));
            }
        }
        if let Some(b) = bucket
            && check_bucket_name(b).is_ok()
        {
            assert!((3..=63).contains(&b.len()));
            assert!(
                b.bytes().all(|c| c.is_ascii_lowercase()
                    || c.is_ascii_digit()
                    || c == b'.'
                    || c == b'-')
            );
            assert!(b.parse::<std::net::Ipv4Addr>().is_err());
        }
        if let Some(k) = key
            && check_key(k).is_ok()
        {
            assert!(k.len() <= 1024);
            assert!(!k.contains('\0'));
            assert!(!k.split('/').any(|seg| seg == "." || seg == ".."));
        }
    }

    // Operation.
    let (has_bucket, has_key) = match &split {
        Ok((b, k)) => (b.is_some(), k.is_some()),
        Err(_) => (
            vhost.is_some(),
            !input.path.trim_start_matches('/').is_empty(),
        ),
    };
    let mut headers = HeaderMap::new();
    if input.copy_source {
        headers.insert("x-amz-copy-source", HeaderValue::from_static("/b/k"));
    }
    if let Ok(op) = resolve(method, has_bucket, has_key, &query, &headers) {
        assert!(!op.name().is_empty());
        if !has_bucket {
            assert_eq!(op.name(), "ListBuckets");
        }
    }
}

/// Runs one input (what libFuzzer hands the `router` binary).
pub fn run(data: &[u8]) {
    if let Some(input) = std::str::from_utf8(data).ok().and_then(Input::parse) {
        check(input);
    }
}
